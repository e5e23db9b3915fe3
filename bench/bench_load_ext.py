"""Benchmark: wall time of ``%load_ext tfl_jupyter`` in a fresh process (target <= 0.5 s).

Run:
    .venv/bin/python bench/bench_load_ext.py            # 5 fresh processes per case
    .venv/bin/python bench/bench_load_ext.py --strict   # exit 1 if the target is missed

Each round starts a new ``python -c`` that creates an IPython ``InteractiveShell`` and then
times ``shell.run_cell("%load_ext tfl_jupyter")`` alone; it also checks that the magic is
registered and that neither TensorFlow nor pandas was imported. For context, another fresh
process times ``import tensorflow`` (the "raw s" column; the ratio is load_ext / import).
One untimed run of each comes first to warm the disk cache. The median is reported.
"""

from __future__ import annotations

import json
import subprocess
import sys

from _common import Row, fmt, median, parser, report

TARGET_S = 0.5
HEAVY = ("tensorflow", "keras", "pandas", "ipywidgets", "matplotlib", "ai_edge_litert")

LOAD_EXT = f"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
started = time.perf_counter()
outcome = shell.run_cell("%load_ext tfl_jupyter")
seconds = time.perf_counter() - started
outcome.raise_error()
assert "tflite_convert" in shell.magics_manager.magics["line"], "%tflite_convert was not registered"
assert "tflite_convert" in shell.magics_manager.magics["cell"], "%%tflite_convert was not registered"
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"seconds": seconds, "heavy": heavy, "new_modules": len(set(sys.modules) - before)}}))
"""

IMPORT_TF = """
import json, os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
started = time.perf_counter()
import tensorflow
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"benchmark subprocess failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    args = parser(__doc__, rounds=5).parse_args()
    run(LOAD_EXT), run(IMPORT_TF)  # warm the disk cache
    loads, imports = [], []
    for round_index in range(args.rounds):
        loads.append(run(LOAD_EXT))
        imports.append(run(IMPORT_TF))
        print(f"  round {round_index + 1}: %load_ext {loads[-1]['seconds']:.3f} s "
              f"({loads[-1]['new_modules']} modules imported), import tensorflow {imports[-1]['seconds']:.2f} s", flush=True)
    heavy = sorted({m for load in loads for m in load["heavy"]})
    print(f"%load_ext: {', '.join(fmt(x['seconds']) for x in loads)} s; import tensorflow: "
          f"{', '.join(fmt(x['seconds'], 2) for x in imports)} s")
    print("heavy modules in sys.modules after %load_ext: " + (", ".join(heavy) if heavy else "none (tensorflow not imported)"))
    rows = [Row("%load_ext tfl_jupyter", median([x["seconds"] for x in imports]), median([x["seconds"] for x in loads]),
                f"<= {TARGET_S} s", TARGET_S, by_ratio=False)]
    checks = {"tensorflow not in sys.modules after %load_ext": "tensorflow" not in heavy}
    return report(rows, args.strict, raw_label="import tf s", checks=checks)


if __name__ == "__main__":
    raise SystemExit(main())
