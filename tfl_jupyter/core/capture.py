"""Capture everything the converter prints, so it lands in the result instead of the cell.

TensorFlow's converter writes from C++ straight to file descriptors 1 and 2, from Python
through ``print`` and the ``absl``/``tensorflow`` loggers, and raises Python warnings. A
notebook forwards all of these into the cell output. This module redirects each of them
into one buffer for the length of a ``with`` block, and always restores them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import threading
import warnings

_LOGGER_NAMES = ("tensorflow", "absl", "keras", "h5py")
# fd redirection is process-wide; two captures at once would restore each other's fds.
_FD_LOCK = threading.RLock()


class CapturedOutput:
    """The text captured by :func:`capture_output`, filled in when the block exits."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def capture_output(enabled: bool = True, streams: bool = True):
    """Redirect fds 1 and 2, ``sys.stdout``/``sys.stderr``, TF loggers and warnings.

    Parameters
    ----------
    enabled : bool
        With ``False`` nothing is redirected (useful for debugging the converter).
    streams : bool
        With ``False``, ``sys.stdout``/``sys.stderr`` and warnings are left alone: for work
        in a background thread that may outlive its caller, where redirecting them would
        swallow what the user's next cell prints.

    Yields
    ------
    CapturedOutput
        Its ``text`` holds everything printed inside the block once the block exits.
    """
    captured = CapturedOutput()
    if not enabled:
        yield captured
        return
    stdout_buffer, stderr_buffer = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(stderr_buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in _LOGGER_NAMES]
    # The loggers' own handlers (TensorFlow's prints to the real stdout) are set aside, not
    # just joined by ours, or the converter would still print into the cell.
    saved = [(logger, list(logger.handlers), logger.propagate) for logger in loggers]
    with _FD_LOCK, tempfile.TemporaryFile(mode="w+b") as fd_sink, (
        warnings.catch_warnings(record=True) if streams else contextlib.nullcontext([])
    ) as caught:
        if streams:
            warnings.simplefilter("always")
        _flush_standard_streams()
        saved_fds = _redirect_fds(fd_sink.fileno())
        for logger in loggers:
            logger.handlers = [handler]
            logger.propagate = False
        try:
            if streams:
                with contextlib.redirect_stdout(stdout_buffer), contextlib.redirect_stderr(stderr_buffer):
                    yield captured
            else:
                yield captured
        finally:
            for logger, handlers, propagate in saved:
                added = [h for h in logger.handlers if h is not handler and h not in handlers]
                _point_back(added, {id(stdout_buffer): sys.stdout, id(stderr_buffer): sys.stderr})
                logger.handlers = handlers + added
                logger.propagate = propagate
            _flush_standard_streams()
            _restore_fds(saved_fds)
            fd_sink.seek(0)
            native_text = fd_sink.read().decode("utf-8", errors="replace")
            warning_text = "".join(
                f"{w.category.__name__}: {w.message}\n" for w in caught
            )
            captured.text = stdout_buffer.getvalue() + stderr_buffer.getvalue() + warning_text + native_text


def run_captured(log_parts: list, function, *args, enabled: bool = True, streams: bool = True):
    """Return ``function(*args)``, appending what it printed to ``log_parts``, even if it raises.

    Parameters
    ----------
    log_parts : list of str
        Receives the captured text.
    enabled, streams : bool
        As for :func:`capture_output`.
    """
    captured = None
    try:
        with capture_output(enabled, streams) as captured:
            return function(*args)
    finally:
        if captured is not None:
            log_parts.append(captured.text)


def _point_back(handlers: list, streams: dict) -> None:
    """Handlers created inside the block (TensorFlow makes its own on import) would keep
    writing into our buffers for the rest of the session: give them the real streams."""
    for added in handlers:
        stream = getattr(added, "stream", None)
        if id(stream) in streams:
            added.setStream(streams[id(stream)])


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _redirect_fds(target_fd: int) -> list[tuple[int, int]]:
    saved = []
    for fd in (1, 2):
        try:
            saved.append((fd, os.dup(fd)))
            os.dup2(target_fd, fd)
        except OSError:  # no such fd (e.g. a pythonw-like host): nothing to capture
            continue
    return saved


def _restore_fds(saved: list[tuple[int, int]]) -> None:
    for fd, copy in saved:
        os.dup2(copy, fd)
        os.close(copy)
