"""Run the panel's work off the kernel's main thread, with elapsed time, sample counts and Cancel."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from ...core.worker.pool import POOL

TICK_S = 0.25


class Busy(RuntimeError):
    """The panel is already running something."""


class BackgroundTask:
    """One piece of work at a time, in a daemon thread.

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
