"""A sweep lane's child process: read (saved_model_dir, tj.convert options), convert, answer; repeat.

Messages are pickles on stdin/stdout. The real stdout is kept for them alone: fds 1 and 2 are
pointed at /dev/null first, so nothing TensorFlow prints from C++ can reach the notebook or
corrupt a message.
"""

from __future__ import annotations

import inspect
import os
import pickle
import select
import signal
import sys
import time


def main() -> None:
    from tfl_jupyter.core.compare.lanes import IDLE_EXIT_S

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel_out = os.fdopen(os.dup(1), "wb")
    channel_in = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    from tfl_jupyter.core.convert import convert
    from tfl_jupyter.core.tensorflow_import import import_tensorflow

    import_tensorflow()  # now, while the parent exports the model
    load_once = _one_load_per_conversion()
    in_process = {"in_process": True} if "in_process" in inspect.signature(convert).parameters else {}
    while True:
        # The parent sends the next job only after reading the answer, so a message is never left
        # waiting in channel_in's buffer while select() watches the pipe.
        ready, _, _ = select.select([channel_in], [], [], IDLE_EXIT_S)
        if not ready:
            return  # idle: give the memory back; the parent starts fresh lanes when needed
        try:
            path, options = pickle.load(channel_in)
        except EOFError:
            return
        load_once.clear()
        pickle.dump(_convert(convert, path, {**options, **in_process}), channel_out, protocol=pickle.HIGHEST_PROTOCOL)
        channel_out.flush()


def _one_load_per_conversion() -> dict:
    """Let one conversion load its SavedModel once, not twice; return the cache to clear between conversions.

    ``TFLiteConverter.from_saved_model`` loads the SavedModel (to find its signatures) and keeps
    it; ``convert()`` then loads the same directory again only to read its graph debug info,
    and drops it: a third of a MobileNetV2 conversion. Within one conversion the second load
    gets the first one's object. Nothing is shared between conversions. Without ``lite._load``
    (another TensorFlow) nothing changes.
    """
    import functools

    loaded: dict = {}
    try:
        from tensorflow.lite.python import lite
    except ImportError:
        return loaded
    original = getattr(lite, "_load", None)
    if original is None:
        return loaded

    @functools.wraps(original)
    def load(export_dir, *args, **kwargs):
        key = (str(export_dir), repr(args), repr(sorted(kwargs.items())))
        if key not in loaded:
            loaded[key] = original(export_dir, *args, **kwargs)
        return loaded[key]

    lite._load = load
    return loaded


def _convert(convert, path: str, options: dict) -> tuple:
    from tfl_jupyter.core.compare.lanes import error_text

    started = time.perf_counter()
    try:
        result = convert(path, **options)
    except Exception as exc:  # sent back as text: not every exception class unpickles
        return ("error", error_text(exc), time.perf_counter() - started)
    return ("ok", result.tflite_model, (result.entry_point, result.log, tuple(result.notes), result.calibration_samples),
            time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
