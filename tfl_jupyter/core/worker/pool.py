"""The one pool of worker processes: every conversion, calibration and native call on a model.

Processes start on first use and stay warm. A job goes to an idle process, or waits for one;
every job has a deadline and can be cancelled. ``POOL`` is the pool the package uses.

A job names the *flavour* of process it needs (``process.FLAVOURS``): by default one with
TensorFlow; ``flavour="litert"`` one that never imports it, for LiteRT's GPU accelerator
(it crashes where TensorFlow is loaded). Each flavour has its own processes and its own
limit; deadlines, cancelling, crash reports and recycling are the same for both.
"""

from __future__ import annotations

import atexit
import os
import threading
from concurrent.futures import Future
from typing import Callable, Iterator, List, Optional

from ..errors import ConversionCancelled
from .process import FLAVOURS, LITERT, NO_DEADLINE, TENSORFLOW, Deadline, WorkerProcess

# Each process holds a TensorFlow runtime (~0.6 GB) and the model it converts.
MEMORY_PER_PROCESS = 2 * 1024**3
# Processes beyond the first give their memory back after this long without work.
IDLE_EXIT_S = 120
# "litert" processes (no TensorFlow, ~0.2 GB, started in under a second): at most this many,
# each giving its memory back after IDLE_EXIT_S without work.
LITERT_PROCESSES = 2


def default_size() -> int:
    """One process per core, as many as the available memory allows, at least one."""
    cores = os.cpu_count() or 1
    available = _available_memory()
    by_memory = available // MEMORY_PER_PROCESS if available else cores
    return max(1, min(cores, by_memory))


class WorkerPool:
    """Worker processes that run jobs for this process.

    Parameters
    ----------
    size : int, optional
        How many TensorFlow processes at most (default: :func:`default_size`); "litert"
        processes are limited to ``LITERT_PROCESSES`` besides.
    """

    def __init__(self, size: Optional[int] = None):
        self.size = size or default_size()
        self.limits = {TENSORFLOW: self.size, LITERT: min(LITERT_PROCESSES, self.size)}
        self._processes: List[WorkerProcess] = []
        self._idle: List[WorkerProcess] = []
        self._cancels: set = set()
        self._condition = threading.Condition()

    @property
    def available(self) -> bool:
        """Whether worker processes can run here (POSIX; elsewhere work runs in this process)."""
        return os.name == "posix"

    @property
    def pids(self) -> list:
        """Process ids of the running TensorFlow processes (the conversion workers)."""
        return [p.pid for p in self._processes if p.pid is not None and p.flavour == TENSORFLOW]

    def warm_up(self, count: int = 1, flavour: str = TENSORFLOW) -> None:
        """Start up to ``count`` processes now, so they import TensorFlow (or LiteRT) while the caller works."""
        _check_flavour(flavour)
        with self._condition:
            while self._count(flavour) < min(count, self.limits[flavour]):
                self._add_process(flavour)
            for process in [p for p in self._idle if p.flavour == flavour][:count]:
                process.start()

    def run(
        self,
        request: tuple,
        samples: Optional[Callable[[], Iterator]] = None,
        *,
        deadline: Deadline = NO_DEADLINE,
        on_sample: Optional[Callable[[int], None]] = None,
        cancel: Optional[threading.Event] = None,
        while_waiting: Optional[Callable[[], None]] = None,
        flavour: str = TENSORFLOW,
    ):
        """Run one job on an idle process (waiting for one) and return its answer.

        Parameters
        ----------
        request : tuple
            A message of :mod:`.protocol`: ``("convert", ConversionJob)`` or ``("call", ...)``.
        samples : callable, optional
            Returns a fresh iterator over the calibration samples the job asks for.
        deadline : Deadline
            When the whole call must end, waiting included.
        on_sample : callable, optional
            Called with the number of calibration samples fed so far.
        cancel : threading.Event, optional
            Set it to stop this job (:meth:`cancel` stops every job).
        while_waiting : callable, optional
            Work for this process while the job runs, called once the worker has what it
            needs (after the request, or after the first calibration sample).
        flavour : str
            The kind of process it needs: ``"tensorflow"`` (the default) or ``"litert"``,
            one that never imports TensorFlow ("call" jobs only).

        Raises
        ------
        WorkerDied, TimeoutError, ConversionCancelled
            See :meth:`WorkerProcess.exchange`.
        """
        _check_flavour(flavour)
        cancel = cancel or threading.Event()
        with self._condition:
            self._cancels.add(cancel)
        try:
            process = self._checkout(deadline, cancel, flavour)
            try:
                return process.exchange(request, samples, deadline, on_sample, cancel, while_waiting)
            finally:
                with self._condition:
                    self._idle.insert(0, process)  # the warmest first
                    self._condition.notify()
        finally:
            with self._condition:
                self._cancels.discard(cancel)

    def submit(self, request: tuple, samples=None, **options) -> Future:
        """:meth:`run` in a background thread; the Future holds its answer or exception."""
        future: Future = Future()

        def work():
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self.run(request, samples, **options))
                except BaseException as exc:  # handed to whoever waits on the future
                    future.set_exception(exc)

        threading.Thread(target=work, name="tfl_jupyter-pool-job", daemon=True).start()
        return future

    def call(self, function, *args, timeout: Optional[float] = None, flavour: str = TENSORFLOW, **kwargs):
        """Return ``function(*args, **kwargs)`` (a module-level function) run in a worker process.

        For native code on untrusted input (the interpreter on a ``.tflite`` file) and for
        TensorFlow's quantization tools: a crash raises :class:`WorkerDied` here instead of
        killing this process. With ``flavour="litert"`` it runs in a process that never
        imports TensorFlow. Where the pool is not available the call runs here (a "litert"
        call too: the caller must not have TensorFlow loaded then).
        """
        if not self.available:
            return function(*args, **kwargs)
        target = f"{function.__module__}:{function.__qualname__}"
        return self.run(("call", target, args, kwargs), deadline=Deadline(timeout), flavour=flavour)

    def cancel(self) -> None:
        """Stop every job running or waiting (the panel's Cancel); their processes are stopped."""
        with self._condition:
            for event in self._cancels:
                event.set()
            self._condition.notify_all()

    def stop(self) -> None:
        """Stop every process at once (idle ones restart on the next job)."""
        for process in list(self._processes):
            process.stop(force=True)

    def _checkout(self, deadline: Deadline, cancel: threading.Event, flavour: str = TENSORFLOW) -> WorkerProcess:
        with self._condition:
            while True:
                if cancel.is_set():
                    raise ConversionCancelled("cancelled before a worker process was free")
                if deadline.passed():
                    raise deadline.error("waiting for a free worker process")
                idle = [p for p in self._idle if p.flavour == flavour]
                if not idle and self._count(flavour) < self.limits[flavour]:
                    idle = [self._add_process(flavour)]
                if idle:
                    self._idle.remove(idle[0])
                    return idle[0]
                self._condition.wait(0.1)

    def _count(self, flavour: str) -> int:
        return sum(p.flavour == flavour for p in self._processes)

    def _add_process(self, flavour: str = TENSORFLOW) -> WorkerProcess:
        # the first TensorFlow process stays warm; the others, and every litert one, exit when idle
        keep = flavour == TENSORFLOW and not self._count(TENSORFLOW)
        process = WorkerProcess(idle_exit_s=0 if keep else IDLE_EXIT_S, flavour=flavour)
        self._processes.append(process)
        self._idle.append(process)
        return process


def _check_flavour(flavour: str) -> None:
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown worker flavour {flavour!r}: use one of {', '.join(FLAVOURS)}")


def _available_memory() -> Optional[int]:
    """MemAvailable from /proc/meminfo, in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


POOL = WorkerPool()
atexit.register(POOL.stop)
