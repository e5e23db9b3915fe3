"""A process that uses the conversion panel, then exits; and :func:`run`, which starts one and judges its exit.

Shared by ``bench/exit_clean.py`` and ``tests/test_exit_clean.py``. As a script::

    python tests/exit_child.py finished     # convert, measure on the Compare tab, exit
    python tests/exit_child.py converting   # exit while the panel exports the Keras model here
    python tests/exit_child.py timed-out    # exit after a conversion timed out during the export

Nothing is mocked: real TensorFlow, the real panel driven through its buttons, the real worker
processes. The child prints one line on stdout saying where it exited, and exits by falling off
the end, as a script or a kernel does. The "converting" exit is the hard one: the panel's thread
is inside TensorFlow's native code (in this process, not in a worker) when Python shuts down.
"timed-out" leaves the export running in a thread of the worker pool's client (core/worker),
which the panel does not own: it is not in :data:`MODES`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
MODES = ("finished", "converting")  # what the bench alternates by default and the test runs
ALL_MODES = MODES + ("timed-out",)
# What native code prints when it dies at exit (glibc, libstdc++, CPython's faulthandler).
NATIVE = re.compile(r"terminate called|Aborted|Segmentation|core dumped|Fatal Python error")
WAIT_S = 240.0


@dataclass
class Exit:
    """How one child process ended."""

    mode: str
    status: int
    seconds: float
    where: str  # the child's own line: where it exited
    native: List[str] = field(default_factory=list)  # stderr lines from native code
    stderr: str = ""

    @property
    def clean(self) -> bool:
        """Exit status 0 and nothing from native code on stderr."""
        return self.status == 0 and not self.native


def run(mode: str, timeout: float = 600.0) -> Exit:
    """Run this file as a child process in ``mode`` and return how it ended.

    Parameters
    ----------
    mode : {"finished", "converting", "timed-out"}
    timeout : float
        Seconds before the child is killed (``subprocess.TimeoutExpired``).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), mode], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)
    lines = done.stdout.strip().splitlines()
    return Exit(mode=mode, status=done.returncode, seconds=time.monotonic() - started,
                where=lines[-1] if lines else "", stderr=done.stderr,
                native=[line for line in done.stderr.splitlines() if NATIVE.search(line)])


def in_keras_export(thread_id: int) -> bool:
    """Whether thread ``thread_id`` is inside Keras' SavedModel export."""
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if f"keras{os.sep}src{os.sep}export" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def main(mode: str) -> None:
    import tfl_jupyter as tj
    from tfl_jupyter.demo import demo_model, demo_samples

    # fds 1 and 2 point to a capture file while a conversion runs here: keep the real stdout.
    stdout = os.dup(1)

    def say(text: str) -> None:
        os.write(stdout, (text + "\n").encode())

    model, calib = demo_model(), demo_samples(16)
    panel = tj.panel(model, namespace={"model": model, "calib": calib}, quantize="int8",
                     representative_dataset=calib, measure_samples=8, timeout=0.2 if mode == "timed-out" else None)
    panel.actions.convert.click()
    if mode == "timed-out":
        entry = panel.wait(WAIT_S)
        exporting = any(in_keras_export(thread.ident) for thread in threading.enumerate())
        say(f"exited after a {entry.status} conversion, " + ("with" if exporting else "without") + " an export running")
        return
    if mode == "finished":
        entry = panel.wait(WAIT_S)
        if entry is None or entry.status != "ok":
            say(f"the conversion did not succeed: {entry and entry.message}")
            sys.exit(3)
        panel.tabs.compare.run.click()
        panel.wait(WAIT_S)
        say("exited after convert and compare")
        return
    deadline = time.monotonic() + WAIT_S
    thread_id = panel.task._thread.ident
    while not in_keras_export(thread_id):
        if not panel.busy or time.monotonic() > deadline:
            say("exited without seeing the Keras export")
            return
        time.sleep(0.005)
    say("exited during the Keras export")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ALL_MODES:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(ALL_MODES)}}}")
    main(sys.argv[1])
