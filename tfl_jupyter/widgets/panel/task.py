"""Run the panel's work off the kernel's main thread, with elapsed time, sample counts and Cancel.

Work still running when the interpreter exits is cancelled and waited for (:func:`stop_all`).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Any, Callable, Optional

from ...core.worker.pool import POOL

TICK_S = 0.25
# How long exit waits for running work. Work in a worker process stops at once; work in this
# process (exporting a Keras model, measuring the error) cannot be interrupted and runs to its
# end. (A Jupyter kernel gets SIGTERM 2.5 s after a shutdown request anyway, by default.)
EXIT_WAIT_S = 30.0

_TASKS: "weakref.WeakSet[BackgroundTask]" = weakref.WeakSet()


class Busy(RuntimeError):
    """The panel is already running something."""


class BackgroundTask:
    """One piece of work at a time, in a daemon thread (cancelled and waited for at exit).

    ``start(work, on_tick, on_done)`` runs ``work(task)`` in a thread; ``on_tick(task)``
    is called every :data:`TICK_S` seconds while it runs (for elapsed time and progress),
    and ``on_done(value, error)`` once at the end, from that thread.

    Cancel sets a flag that ``work`` can read (:attr:`cancelled`) and asks the conversion
    worker to stop; the request is repeated on every tick until the work ends, because a
    conversion only reaches the worker after its in-kernel preparation (a Keras model is
    exported first), and the worker forgets a cancel that came before its job.
    """

    def __init__(self):
        self._thread: Optional[threading.Thread] = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self.started = 0.0
        self.samples = 0
        self.total_samples: Optional[int] = None
        self.phase = ""
        _TASKS.add(self)

    @property
    def running(self) -> bool:
        """Whether work is running (or still winding down after Cancel)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed for the current work."""
        return self._cancel.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds since the current (or last) work started."""
        return time.monotonic() - self.started if self.started else 0.0

    def start(self, work: Callable[["BackgroundTask"], Any], *, phase: str = "",
              total_samples: Optional[int] = None,
              on_tick: Callable[["BackgroundTask"], None] = lambda task: None,
              on_done: Callable[[Any, Optional[BaseException]], None] = lambda value, error: None) -> None:
        """Start ``work`` in a thread.

        Raises
        ------
        Busy
            Work is running already.
        """
        with self._lock:
            if self.running:
                raise Busy("a conversion is already running in this panel: wait for it, or press Cancel")
            self._cancel.clear()
            self.started = time.monotonic()
            self.samples = 0
            self.total_samples = total_samples
            self.phase = phase
            self._thread = threading.Thread(target=self._run, args=(work, on_tick, on_done), daemon=True,
                                            name="tfl-jupyter-panel")
            self._thread.start()

    def sample(self, count: int) -> None:
        """``on_sample`` for ``tj.convert``: the calibration sample count so far."""
        self.samples = count

    def cancel(self) -> bool:
        """Ask the running work to stop; False when nothing runs."""
        if not self.running:
            return False
        self._cancel.set()
        POOL.cancel()
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the work to end; False if it still runs after ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _run(self, work, on_tick, on_done) -> None:
        stop_ticking = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(on_tick, stop_ticking), daemon=True)
        ticker.start()
        value, error = None, None
        try:
            value = work(self)
        except BaseException as exc:  # noqa: B036 - ConversionCancelled is a KeyboardInterrupt
            error = exc
        finally:
            stop_ticking.set()
            ticker.join()
        on_done(value, error)

    def _tick(self, on_tick, stop: threading.Event) -> None:
        while not stop.wait(TICK_S):
            if self._cancel.is_set():
                POOL.cancel()
            try:
                on_tick(self)
            except Exception:  # a display hiccup must not stop the ticker
                pass


def stop_all(timeout: float = EXIT_WAIT_S) -> bool:
    """Cancel all running work and wait for it to end; called once as the interpreter exits.

    The work threads are daemons, so Python does not wait for them. Before Python 3.14, a
    daemon thread that is inside native code (a Keras export, a TensorFlow call, the LiteRT
    interpreter) when Python finalizes is ended with ``pthread_exit`` as it takes the GIL back;
    unwinding through the C++ (pybind11) frames calls ``std::terminate``, and the process
    aborts with ``terminate called without an active exception``.

    Parameters
    ----------
    timeout : float
        Seconds to wait at most, for all the work together.

    Returns
    -------
    bool
        Whether every piece of work ended in time.
    """
    deadline = time.monotonic() + timeout
    running = [task for task in list(_TASKS) if task.cancel()]
    for task in running:
        task.wait(max(0.0, deadline - time.monotonic()))
    return not any(task.running for task in running)


# threading's exit hooks run as shutdown begins, before atexit's: the conversion worker (which
# an atexit hook stops) is still there to hear the cancel. The fallback is for Pythons without it.
getattr(threading, "_register_atexit", atexit.register)(stop_all)
