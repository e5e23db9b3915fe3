"""What the kernel and the worker say to each other over their pipe (pickled tuples).

A worker is started as ``python -m tfl_jupyter.core.worker FD IDLE_EXIT_S FLAVOUR``; its
flavour (``process.FLAVOURS``) says what it imports: TensorFlow (every job of the converter),
or none of it (``"litert"``: LiteRT's GPU accelerator, which crashes in a process where
TensorFlow is loaded). A "litert" worker answers "call" only.

kernel -> worker: ("convert", ConversionJob) | ("call", "module:function", args, kwargs)
                  | ("sample", raw_sample) | ("end_of_samples",)
                  | ("sample_error", message) | ("exit",)
worker -> kernel: ("ready", rss_bytes) | ("next_sample",) | ("progress", samples_seen)
                  | ("done", ConverterOutput or return value, rss_bytes) | ("error", exception, rss_bytes)
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from ..settings import ConversionSettings
from .portable import PortableSource


@dataclass(frozen=True)
class ConversionJob:
    """One conversion for the worker. ``settings.representative_dataset`` is None: samples are
    streamed on request instead (``has_samples``). With ``calibrate_only`` the converter
    stops after calibration and returns the calibrated, not yet quantized model."""

    portable: PortableSource
    description: str
    settings: ConversionSettings
    has_samples: bool
    samples_from_tf_data: bool
    calibrate_only: bool = False


def portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ConversionError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        from ..errors import ConversionError
        from ..text import error_text

        return ConversionError(f"the converter failed: {error_text(exc)}")


def resident_bytes() -> int:
    """This process's resident memory, from /proc (0 where unavailable)."""
    try:
        with open("/proc/self/statm") as statm:
            import os

            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
