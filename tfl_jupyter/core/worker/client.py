"""The kernel's side of the worker: start it, hand it jobs, stream samples, survive its death."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pipe
from typing import Callable, Iterator, Optional

from ..errors import ConversionError
from .protocol import ConversionJob

# The worker is replaced once it holds this much more memory than when it started:
# the converter leaks about 30 MB per MobileNetV2-sized conversion.
RECYCLE_GROWTH_BYTES = 1536 * 1024 * 1024
# Tests set this to "abort", "segfault", "exit" or "hang" to make the next job die that way.
FAULT_INJECTION: Optional[str] = None


class WorkerDied(ConversionError):
    """The worker process died (crash, abort, out of memory) during a conversion."""


class ConversionCancelled(KeyboardInterrupt):
    """The conversion was interrupted or cancelled; the worker was stopped."""


class ConversionWorker:
    """One warm worker process, started on first use and reused."""

    def __init__(self):
        self._process: Optional[subprocess.Popen] = None
        self._connection = None
        self._output_file = None
        self._ready_rss = 0
        self._busy = threading.Lock()
        self._cancelled = threading.Event()

    @property
    def pid(self) -> Optional[int]:
        """The worker's process id while it runs."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> None:
        """Start the worker unless it runs already (it imports TensorFlow while we go on)."""
        if self.pid is not None:
            return
        self._discard()
        ours, theirs = Pipe(duplex=True)
        self._output_file = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tfl_jupyter.core.worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=self._output_file,
            stderr=self._output_file,
            start_new_session=True,  # a kernel interrupt is ours to handle, not the worker's
            env=_worker_environment(),
        )
        theirs.close()
        self._connection = ours
        self._ready_rss = 0

    def run(
        self,
        job: ConversionJob,
        samples: Optional[Callable[[], Iterator]] = None,
        *,
        timeout: Optional[float] = None,
        on_sample: Optional[Callable[[int], None]] = None,
    ):
        """Run ``job`` and return the worker's ConverterOutput.

        Raises
        ------
        WorkerDied
            The worker process died; a fresh one starts on the next call.
        TimeoutError
            ``timeout`` seconds passed; the worker was stopped.
        ConversionCancelled
            Interrupted (kernel interrupt or :meth:`cancel`); the worker was stopped.
        """
        with self._exclusive():
            return self._exchange(("convert", job), samples, timeout, on_sample)

    def call(self, function, *args, timeout: Optional[float] = None, **kwargs):
        """Run a module-level ``function(*args, **kwargs)`` in the worker and return its result.

        For work that runs native code on untrusted input (the interpreter on a ``.tflite``
        file): a crash raises :class:`WorkerDied` here instead of killing the kernel.
        """
        target = f"{function.__module__}:{function.__qualname__}"
        with self._exclusive():
            return self._exchange(("call", target, args, kwargs), None, timeout, None)

    def cancel(self) -> None:
        """Stop a running conversion from another thread (the panel's Cancel)."""
        self._cancelled.set()

    def stop(self, force: bool = False) -> None:
        """Stop the worker: politely, or at once with ``force``."""
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

    @contextlib.contextmanager
    def _exclusive(self):
        """One job at a time; an interrupt stops the worker, since native code cannot be interrupted."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("the worker is busy with another conversion: wait for it, or cancel it")
        try:
            self._cancelled.clear()
            self.start()
            yield
        except KeyboardInterrupt:
            self.stop(force=True)
            raise ConversionCancelled(
                "conversion interrupted; the worker was stopped (the next conversion starts a fresh one)"
            ) from None
        finally:
            self._busy.release()

    def _exchange(self, request, samples, timeout, on_sample):
        deadline = time.monotonic() + timeout if timeout else None
        sample_iterator = None
        user_error = None
        self._send(request)
        while True:
            message = self._receive(deadline, timeout)
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
            elif kind == "progress":
                if on_sample is not None:
                    on_sample(message[1])
            elif kind in ("done", "error"):
                self._recycle_if_grown(message[2])
                if kind == "done":
                    return message[1]
                raise user_error or message[1]

    def _receive(self, deadline, timeout):
        while True:
            if self._cancelled.is_set():
                raise KeyboardInterrupt
            try:
                if self._connection.poll(0.05):
                    return self._connection.recv()
            except (EOFError, OSError):
                raise self._death() from None
            if self._process.poll() is not None:
                raise self._death()
            if deadline is not None and time.monotonic() > deadline:
                self.stop(force=True)
                raise TimeoutError(
                    f"the conversion took longer than timeout={timeout:g} s and was stopped; "
                    "raise the timeout (or pass timeout=None) for big models"
                )

    def _send(self, message) -> None:
        try:
            self._connection.send(message)
        except (OSError, EOFError):
            raise self._death() from None

    def _death(self) -> WorkerDied:
        process = self._process
        try:
            code = process.wait(timeout=5)
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
        summary = (
            f"the conversion worker died ({cause}); your kernel and its variables are fine, and the next "
            "conversion starts a fresh worker. To see the converter's own error, try in_process=True."
        )
        return WorkerDied(summary, (), tail)

    def _output_tail(self, limit: int = 4000) -> str:
        if self._output_file is None:
            return ""
        try:
            self._output_file.seek(0, os.SEEK_END)
            size = self._output_file.tell()
            self._output_file.seek(max(0, size - limit))
            return self._output_file.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def _recycle_if_grown(self, rss: int) -> None:
        if self._ready_rss and rss - self._ready_rss > RECYCLE_GROWTH_BYTES:
            self.stop()

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._output_file is not None:
            self._output_file.close()
        self._process = self._connection = self._output_file = None


def _worker_environment() -> dict:
    """This process's environment, with tfl_jupyter importable even when it is not installed."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, environment.get("PYTHONPATH")) if p)
    return environment


def _to_numpy(sample):
    """Make a sample picklable: tensors become NumPy arrays, containers keep their shape."""
    if isinstance(sample, dict):
        return {key: _to_numpy(value) for key, value in sample.items()}
    if isinstance(sample, (list, tuple)):
        return type(sample)(_to_numpy(value) for value in sample)
    if hasattr(sample, "numpy"):
        return sample.numpy()
    return sample


WORKER = ConversionWorker()
