"""One worker process seen from the kernel: start it, run one job on it, diagnose its death.

The pool (:mod:`.pool`) owns several of these and hands each job to an idle one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pipe
from typing import Callable, Iterator, Optional

from ..errors import ConversionCancelled, WorkerDied

#: What a worker imports at start (its *flavour*, the third argument of ``python -m
#: tfl_jupyter.core.worker``). TENSORFLOW: TensorFlow, for conversions, calibration and
#: every "call". LITERT: never TensorFlow (importing it there raises ImportError), only
#: numpy and ``ai_edge_litert``, for LiteRT's GPU accelerator, which crashes in a process
#: where TensorFlow is loaded; it starts in a fraction of a second and answers "call" only.
TENSORFLOW = "tensorflow"
LITERT = "litert"
FLAVOURS = (TENSORFLOW, LITERT)

# A process is replaced once it holds this much more memory than when it started: the
# converter leaks about 30 MB per MobileNetV2-sized conversion.
RECYCLE_GROWTH_BYTES = 1536 * 1024 * 1024


class Deadline:
    """The moment a call must end by (``timeout`` seconds after it started), or none."""

    def __init__(self, timeout: Optional[float]):
        self.timeout = timeout
        self._end = time.monotonic() + timeout if timeout is not None else None

    def remaining(self) -> Optional[float]:
        """Seconds left (never negative), or None without a timeout."""
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    def passed(self) -> bool:
        """Whether the time is up."""
        return self._end is not None and time.monotonic() >= self._end

    def error(self, what: str = "the conversion") -> TimeoutError:
        """The TimeoutError to raise once the time is up."""
        return TimeoutError(
            f"{what} took longer than timeout={self.timeout:g} s and was stopped; "
            "raise the timeout (or pass timeout=None) for big models"
        )


NO_DEADLINE = Deadline(None)


class WorkerProcess:
    """``python -m tfl_jupyter.core.worker``, connected by a pipe; started on first use.

    Parameters
    ----------
    idle_exit_s : float
        The process exits by itself after this long without work (0: never), giving its
        memory back; the next job starts a fresh one.
    flavour : str
        What the process imports at start (see :data:`FLAVOURS`): TensorFlow, or
        ``"litert"``, a process that never imports TensorFlow (LiteRT's GPU accelerator
        crashes in a process that has).
    """

    def __init__(self, idle_exit_s: float = 0, flavour: str = TENSORFLOW):
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown worker flavour {flavour!r}: use one of {', '.join(FLAVOURS)}")
        self.idle_exit_s = idle_exit_s
        self.flavour = flavour
        self._process: Optional[subprocess.Popen] = None
        self._connection = None
        self._output_file = None
        self._ready_rss = 0
        self._last_used = time.monotonic()

    @property
    def pid(self) -> Optional[int]:
        """The process id while the process runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the process unless it runs already (it imports its flavour's runtime while the caller goes on)."""
        if self.pid is not None and self.idle_exit_s and time.monotonic() - self._last_used > self.idle_exit_s - 10:
            self.stop()  # about to exit by itself: a job sent now could arrive as it goes
        if self.pid is not None:
            return
        self._discard()
        ours, theirs = Pipe(duplex=True)
        self._output_file = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tfl_jupyter.core.worker", str(theirs.fileno()), str(self.idle_exit_s),
             self.flavour],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=self._output_file,
            stderr=self._output_file,
            start_new_session=True,  # a kernel interrupt is ours to handle, not the worker's
            env=_worker_environment(self.flavour),
        )
        theirs.close()
        self._connection = ours
        self._ready_rss = 0
        self._last_used = time.monotonic()

    def exchange(
        self,
        request: tuple,
        samples: Optional[Callable[[], Iterator]],
        deadline: Deadline,
        on_sample: Optional[Callable[[int], None]],
        cancel: threading.Event,
        while_waiting: Optional[Callable[[], None]] = None,
    ):
        """Send ``request``, serve the samples it asks for, and return its answer.

        ``while_waiting`` is called once the process has what it needs to work on for a
        while: after the request, or after the first sample when it calibrates.

        Raises
        ------
        WorkerDied
            The process died; a fresh one starts on the next job.
        TimeoutError
            The deadline passed; the process was stopped.
        ConversionCancelled
            ``cancel`` was set or the caller was interrupted; the process was stopped.
        """
        self.start()
        try:
            return self._serve(request, samples, deadline, on_sample, cancel, while_waiting)
        except KeyboardInterrupt:  # native code cannot be interrupted: stop the process instead
            self.stop(force=True)
            raise ConversionCancelled(
                "interrupted; the worker process was stopped (the next conversion starts a fresh one)"
            ) from None

    def stop(self, force: bool = False) -> None:
        """Stop the process: politely, or at once with ``force``."""
        process, connection = self._process, self._connection
        if process is None:
            return
        if process.poll() is None:
            if not force:
                try:
                    connection.send(("exit",))
                    process.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._discard()

    def _serve(self, request, samples, deadline, on_sample, cancel, while_waiting=None):
        sample_iterator = None
        user_error = None
        self._send(request)
        if samples is None and while_waiting is not None:
            while_waiting()
            while_waiting = None
        while True:
            message = self._receive(deadline, cancel)
            kind = message[0]
            if kind == "ready":
                self._ready_rss = message[1]
            elif kind == "next_sample":
                try:
                    if sample_iterator is None:
                        sample_iterator = iter(samples())
                    self._send(("sample", _to_numpy(next(sample_iterator))))
                except StopIteration:
                    self._send(("end_of_samples",))
                except Exception as exc:  # the user's generator failed: stop calibration, re-raise it here
                    user_error = exc
                    self._send(("sample_error", f"{type(exc).__name__}: {exc}"))
                if while_waiting is not None:
                    while_waiting()
                    while_waiting = None
            elif kind == "progress":
                if on_sample is not None:
                    on_sample(message[1])
            else:  # "done" or "error"
                self._last_used = time.monotonic()
                if self._ready_rss and message[2] - self._ready_rss > RECYCLE_GROWTH_BYTES:
                    self.stop()
                if kind == "done":
                    return message[1]
                raise user_error or message[1]

    def _receive(self, deadline: Deadline, cancel: threading.Event):
        while True:
            if cancel.is_set():
                raise KeyboardInterrupt
            try:
                if self._connection.poll(0.05):
                    return self._connection.recv()
            except (EOFError, OSError):
                raise self._death() from None
            if self._process.poll() is not None:
                raise self._death()
            if deadline.passed():
                self.stop(force=True)
                raise deadline.error()

    def _send(self, message) -> None:
        try:
            self._connection.send(message)
        except (OSError, EOFError):
            raise self._death() from None

    def _death(self) -> WorkerDied:
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail = self._output_tail()
        self._discard()
        if code is not None and code < 0:
            cause = f"killed by {signal.Signals(-code).name}"
            if -code == signal.SIGKILL:
                cause += ", often the system running out of memory"
        else:
            cause = f"exit code {code}"
        if self.flavour == TENSORFLOW:
            summary = (
                f"the conversion worker died ({cause}); your kernel and its variables are fine, and the next "
                "conversion starts a fresh worker. To see the converter's own error, try in_process=True."
            )
        else:
            summary = (
                f"the LiteRT worker died ({cause}) running the model natively; your kernel and its variables "
                "are fine, and the next check starts a fresh worker. What it printed is in the error's log."
            )
        return WorkerDied(summary, (), tail)

    def _output_tail(self, limit: int = 16000) -> str:  # faulthandler lists ~200 extension modules
        try:
            self._output_file.seek(0, os.SEEK_END)
            size = self._output_file.tell()
            self._output_file.seek(max(0, size - limit))
            return self._output_file.read().decode("utf-8", errors="replace")
        except (AttributeError, OSError, ValueError):
            return ""

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._output_file is not None:
            self._output_file.close()
        self._process = self._connection = self._output_file = None


def _worker_environment(flavour: str = TENSORFLOW) -> dict:
    """This process's environment, with tfl_jupyter importable even when it is not installed
    (and, for a "litert" worker, the private XDG_RUNTIME_DIR that Dawn wants)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, environment.get("PYTHONPATH")) if p)
    if flavour == LITERT:
        environment["XDG_RUNTIME_DIR"] = _runtime_folder()
    return environment


_RUNTIME_FOLDER: list = []


def _runtime_folder() -> str:
    """XDG_RUNTIME_DIR if it is a private folder of ours, else one made for this process's
    workers (0700, removed when this process exits)."""
    given = os.environ.get("XDG_RUNTIME_DIR")
    if given and _private_folder(given):
        return given
    if not _RUNTIME_FOLDER:
        folder = tempfile.mkdtemp(prefix="tfl_jupyter_runtime_")
        atexit.register(shutil.rmtree, folder, True)
        _RUNTIME_FOLDER.append(folder)
    return _RUNTIME_FOLDER[0]


def _private_folder(path: str) -> bool:
    try:
        status = os.stat(path)
    except OSError:
        return False
    return os.path.isdir(path) and status.st_uid == os.getuid() and status.st_mode & 0o077 == 0


def _to_numpy(sample):
    """Make a sample picklable: tensors become NumPy arrays, containers keep their shape."""
    if isinstance(sample, dict):
        return {key: _to_numpy(value) for key, value in sample.items()}
    if isinstance(sample, (list, tuple)):
        return type(sample)(_to_numpy(value) for value in sample)
    if hasattr(sample, "numpy"):
        return sample.numpy()
    return sample
