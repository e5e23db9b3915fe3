"""Check: processes that use the conversion panel exit cleanly (issue 11).

Run:
    .venv/bin/python bench/exit_clean.py --runs 20          # ~5 min
    .venv/bin/python bench/exit_clean.py --runs 40 --mode converting

Each run is a fresh process (``tests/exit_child.py``) that builds the demo model, opens
``tj.panel`` on it, presses Convert and exits, in turn:

- ``finished``: after the conversion and a measurement on the Compare tab;
- ``converting``: while the panel's thread is inside the Keras export (TensorFlow native
  code in the process itself), the exit that used to abort with ``terminate called
  without an active exception``.

``--mode timed-out`` (not in the default alternation) exits after a conversion with
``timeout=0.2`` failed while the model was still being exported: the export goes on in a
thread of ``core/worker/portable.py`` that nothing waits for at exit, and the process may
abort the same way.

A run passes with exit status 0 and no line from native code on stderr (``terminate
called``, ``Aborted``, ``Segmentation``, ``core dumped``, ``Fatal Python error``). The
script prints one line per run, then PASS or FAIL, and exits with status 1 on FAIL.
An abort inside a captured conversion prints nothing (its stderr goes to the capture
file), so the exit status counts as much as the lines.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from exit_child import ALL_MODES, MODES, Exit, run  # noqa: E402


def describe(status: int) -> str:
    """``0``, ``1``, or ``-6 (SIGABRT)`` for a signal."""
    if status < 0:
        try:
            return f"{status} ({signal.Signals(-status).name})"
        except ValueError:
            pass
    return str(status)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20, help="processes to run, one after the other (default 20)")
    p.add_argument("--mode", choices=("both",) + ALL_MODES, default="both",
                   help="where the processes exit; 'both' alternates finished and converting (default)")
    args = p.parse_args()

    modes = itertools.cycle(MODES if args.mode == "both" else (args.mode,))
    exits: list[Exit] = []
    for number in range(1, args.runs + 1):
        result = run(next(modes))
        exits.append(result)
        verdict = "ok" if result.clean else "FAIL"
        print(f"run {number:2d}  {result.mode:10s}  exit status {describe(result.status):12s}  "
              f"{result.seconds:5.1f} s  {verdict:4s}  {result.where}", flush=True)
        for line in result.native:
            print(f"        native: {line}")
        if not result.clean and not result.native:
            for line in result.stderr.strip().splitlines()[-5:]:
                print(f"        stderr: {line}")

    failed = [e for e in exits if not e.clean]
    for mode in sorted({e.mode for e in exits}):
        ran = [e for e in exits if e.mode == mode]
        print(f"{mode}: {sum(e.clean for e in ran)} of {len(ran)} clean")
    print("PASS" if not failed else f"FAIL: {len(failed)} of {len(exits)} runs did not exit cleanly")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
