"""Call a function once edits have paused, not on every keystroke."""

from __future__ import annotations

import threading
from typing import Callable, Optional


class Debouncer:
    """``trigger()`` schedules ``function()`` ``delay`` seconds later; a new trigger moves it back.

    Parameters
    ----------
    function : callable
        Called with no arguments, from a timer thread.
    delay : float
        Seconds of quiet before the call.
    """

    def __init__(self, function: Callable[[], None], delay: float = 0.3):
        self._function = function
        self._delay = delay
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def trigger(self) -> None:
        """Schedule a call, replacing one not made yet."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Make a pending call now (and wait for it), e.g. before Convert."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._function()

    def cancel(self) -> None:
        """Drop a pending call."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        self._function()
