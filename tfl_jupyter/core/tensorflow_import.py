"""Import TensorFlow on first use, quietly, or say how to install it."""

from __future__ import annotations

import sys

from .capture import capture_output

_INSTALL_HINT = "pip install 'tfl_jupyter[cpu]' (or tensorflow / tensorflow-cpu >= 2.18)"


def import_tensorflow():
    """Return the ``tensorflow`` module, importing it without spilling its start-up logs.

    Raises
    ------
    ImportError
        TensorFlow is missing; the message says what to install.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        with capture_output():  # oneDNN / CPU-feature / absl start-up chatter from C++
            import tensorflow as tf
    except ImportError as exc:
        raise ImportError(f"TensorFlow is not installed in this environment: {_INSTALL_HINT}. ({exc})") from None
    return tf
