"""Convert one SavedModel in several modes: one after another, or two at a time in child processes.

A conversion runs mostly in one C++ thread that holds the GIL, so two conversions only
overlap in two processes. Each parallel lane is a child process
(``python -m tfl_jupyter.core.compare.lane_child``, not multiprocessing, so a user's script
is never re-imported) that imports TensorFlow while the caller exports the model, then
converts the modes it is sent with ``tj.convert(saved_model_dir, quantize=mode, ...)`` and
sends the bytes back. Results are rebuilt here around this process's settings and source.
After a sweep the lanes stay warm for the next one, for ``IDLE_EXIT_S`` seconds.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional

LANES = 2
# A lane child exits after this long without work (it holds a TensorFlow runtime, ~0.5-1 GB);
# lanes are replaced after this many conversions (the converter leaks ~30 MB per big model).
IDLE_EXIT_S = 120
RECYCLE_AFTER_JOBS = 24


@dataclass
class ModeOutcome:
    """One mode's conversion: a ConversionResult, or the error text."""

    mode: str
    result: Any = None
    error: Optional[str] = None
    seconds: float = 0.0


def convert_sequential(target, jobs: Dict[str, dict]) -> Iterator[ModeOutcome]:
    """Convert ``jobs`` ({mode: tj.convert keyword arguments}) one after another, the kernel's usual way."""
    from ..convert import convert

    for mode, options in jobs.items():
        started = time.perf_counter()
        try:
            outcome = ModeOutcome(mode, result=convert(target, **options))
        except (ValueError, TypeError, RuntimeError) as exc:  # ConversionError is a RuntimeError
            outcome = ModeOutcome(mode, error=error_text(exc))
        outcome.seconds = time.perf_counter() - started
        yield outcome


class ParallelLanes:
    """Child processes converting a SavedModel directory; they start importing TensorFlow at once.

    ``submit`` hands them the jobs and returns; ``outcomes`` yields each conversion as it
    finishes. Use as a context manager: leaving it, by an interrupt too, kills the children.
    """

    def __init__(self, lanes: int = LANES):
        self.children = [_start_child() for _ in range(lanes)]
        self._closed = False
        self._kept = False
        self._served = 0
        self._last_used = time.monotonic()
        self._jobs: Dict[str, dict] = {}
        self._threads: list = []
        self._finished: "queue.Queue[tuple]" = queue.Queue()

    def submit(self, path: str, jobs: Dict[str, dict]) -> None:
        """Start converting ``jobs`` ({mode: tj.convert keyword arguments}) of the SavedModel at ``path``."""
        self._jobs = dict(jobs)
        self._served += len(jobs)
        todo: "queue.Queue[str]" = queue.Queue()
        for mode in jobs:
            todo.put(mode)
        self._threads = [threading.Thread(target=_feed, args=(child, path, jobs, todo, self._finished), daemon=True)
                         for child in self.children]
        for thread in self._threads:
            thread.start()

    def outcomes(self, rebuild: Callable[[str, dict, tuple], Any]) -> Iterator[ModeOutcome]:
        """Yield each mode's outcome as it finishes; ``rebuild(mode, options, payload)`` makes the result."""
        done = set()
        while len(done) < len(self._jobs):
            try:  # a short timeout keeps a kernel interrupt responsive
                mode, payload = self._finished.get(timeout=0.1)
            except queue.Empty:
                if not any(t.is_alive() for t in self._threads) and self._finished.empty():
                    break
                continue
            done.add(mode)
            if payload[0] == "ok":
                yield ModeOutcome(mode, result=rebuild(mode, self._jobs[mode], payload), seconds=payload[3])
            else:
                yield ModeOutcome(mode, error=payload[1], seconds=payload[2])
        for mode in self._jobs:
            if mode not in done:
                yield ModeOutcome(mode, error="the conversion process died")
        self._last_used = time.monotonic()

    def usable(self) -> bool:
        """Whether these lanes can take another sweep: alive, not worn, not about to time out."""
        return (
            not self._closed
            and all(child.poll() is None for child in self.children)
            and self._served < RECYCLE_AFTER_JOBS
            and time.monotonic() - self._last_used < IDLE_EXIT_S - 15
        )

    def close(self) -> None:
        """Stop the children at once (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def __enter__(self) -> "ParallelLanes":
        return self

    def __exit__(self, *exc) -> None:
        if not self._kept:
            self.close()


def open_lanes() -> ParallelLanes:
    """The lanes the last sweep left warm, if still usable (TensorFlow imported), else new ones."""
    global _WARM
    with _WARM_LOCK:
        lanes, _WARM = _WARM, None
    if lanes is not None and lanes.usable():
        lanes._kept = False
        return lanes
    if lanes is not None:
        lanes.close()
    return ParallelLanes()


def keep_warm(lanes: ParallelLanes) -> None:
    """Keep ``lanes`` for the next sweep; their children exit by themselves after ``IDLE_EXIT_S`` idle."""
    global _WARM
    lanes._kept = True
    with _WARM_LOCK:
        previous, _WARM = _WARM, lanes
    if previous is not None and previous is not lanes:
        previous.close()


def _close_warm() -> None:
    if _WARM is not None:
        _WARM.close()


_WARM: Optional[ParallelLanes] = None
_WARM_LOCK = threading.Lock()
atexit.register(_close_warm)


def _start_child() -> subprocess.Popen:
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, environment.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "tfl_jupyter.core.compare.lane_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a kernel interrupt is the parent's to handle
        env=environment,
    )


def _feed(child: subprocess.Popen, path: str, jobs: Dict[str, dict], todo: "queue.Queue", finished: "queue.Queue") -> None:
    """One lane: send the next mode to the child, wait for its answer, repeat."""
    while True:
        try:
            mode = todo.get_nowait()
        except queue.Empty:
            return
        try:
            pickle.dump((path, jobs[mode]), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.flush()
            payload = pickle.load(child.stdout)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            finished.put((mode, ("error", "the conversion process died", 0.0)))
            return
        finished.put((mode, payload))


def error_text(exc: BaseException) -> str:
    """``"ConversionError: first line of the message"`` (at most 400 characters)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:400]


def saved_model_bytes(path: str) -> int:
    """Bytes of a SavedModel directory (its variables dominate): a proxy for conversion time."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                pass
    return total
