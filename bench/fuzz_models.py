"""The long fuzz run: many more mutated ``.tflite`` files than the test suite's short one.

Run:
    .venv/bin/python bench/fuzz_models.py                  # 20,000 mutants, seed 1
    .venv/bin/python bench/fuzz_models.py --count 2000 --seed 5

Each mutant goes through ``tj.inspect``, ``.ops`` and ``.op_summary`` in this process and,
if it still reads, through the LiteRT interpreter in the worker process. It prints how
each ended; an unclear error or a slow case is printed with the model, mutation and seed
that reproduce it, and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import conftest_ops as models  # noqa: E402  (tests/ holds the model builders and mutations)
from fuzzing import mutants  # noqa: E402


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--count", type=int, default=20_000)
    options.add_argument("--seed", type=int, default=1)
    args = options.parse_args()

    import tfl_jupyter as tj
    from tfl_jupyter.core.tflite_reader import InvalidModelError
    from tfl_jupyter.core.worker.pool import POOL
    from tfl_jupyter.core.compare.probes import run_on_generated_inputs

    originals = models.all_models()
    outcomes = collections.Counter()
    problems = []
    started = time.perf_counter()
    for mutant in mutants(originals, args.count, seed=args.seed):
        begun = time.perf_counter()
        try:
            report = tj.inspect(mutant.data)
            report.ops, report.op_summary
        except InvalidModelError:
            outcomes["inspect: clear error"] += 1
            continue
        except Exception as exc:
            problems.append(f"{mutant}: inspect raised {type(exc).__name__}: {exc}")
            continue
        if time.perf_counter() - begun > 2:
            problems.append(f"{mutant}: inspect took {time.perf_counter() - begun:.1f} s")
        outcomes["inspect: read"] += 1
        if mutant.model in ("flex_model", "custom_model"):
            continue
        try:
            POOL.call(run_on_generated_inputs, mutant.data, timeout=30)
            outcomes["interpreter: ran"] += 1
        except tj.WorkerDied:
            outcomes["interpreter: worker died (kernel fine)"] += 1
        except (InvalidModelError, ValueError, RuntimeError, TimeoutError):
            outcomes["interpreter: clear error"] += 1
        except Exception as exc:
            problems.append(f"{mutant}: interpreter raised {type(exc).__name__}: {exc}")
    for outcome, count in sorted(outcomes.items()):
        print(f"{count:7d}  {outcome}")
    print(f"{args.count} mutants in {time.perf_counter() - started:.0f} s; {len(problems)} problems")
    for problem in problems[:50]:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
