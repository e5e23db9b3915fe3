"""The work the panel runs in the background, and what its errors mean to the user.

These functions run in the panel's worker thread; they touch no widget.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ...core.errors import ConversionCancelled, ConversionError
from ...core.settings import SETTING_NAMES
from ...core.text import error_text
from .checks import Request
from .history import CANCELLED, FAILED

# No tqdm bars (progress=False below): they would land in whichever cell runs at the time.


def convert(request: Request, on_sample) -> Any:
    """Run ``tj.convert`` for ``request`` (through the worker process unless the form says otherwise)."""
    from ...core.convert import convert as tj_convert

    return tj_convert(request.source, on_sample=on_sample, **request.kwargs)


def measure(result, samples: int, on: Any = None, labels: Any = None) -> Tuple[Any, str]:
    """``result.compare(on, n=samples, labels=labels)``, or (None, why not)."""
    try:
        return result.compare(on, n=samples, labels=labels, progress=False), ""
    except ConversionCancelled:
        return None, "Measuring the error was cancelled."
    except Exception as exc:  # the user's model or samples: say so, keep the conversion
        return None, f"Could not measure the error: {error_text(exc, 600)}"


def layers(comparison) -> Tuple[Any, str]:
    """The per-layer table of ``comparison`` (QuantizationDebugger), or (None, why not)."""
    try:
        return comparison.compute_layers(progress=False), ""
    except ConversionCancelled:
        return None, "Computing the per-layer error was cancelled."
    except Exception as exc:
        return None, error_text(exc, 600)


def requantize(result, comparison, tensors: List[str]) -> Tuple[Any, Any]:
    """Quantize ``result`` again keeping ``tensors`` in float: (new result, its comparison or None).

    Raises
    ------
    ValueError
        Not possible for this model.
    """
    if comparison is not None:
        outcome = comparison.requantize(tensors, progress=False)
    else:
        outcome = result.requantize(denylist=tensors, progress=False)
    return outcome.result, outcome.comparison


def describe_failure(error: BaseException, elapsed: float) -> Tuple[str, str]:
    """(status, message) for an error raised by the work."""
    if isinstance(error, (ConversionCancelled, KeyboardInterrupt)):
        return CANCELLED, (f"Cancelled after {elapsed:.1f} s; the conversion worker was stopped (the next conversion "
                           "starts a fresh one). Earlier results are kept.")
    if isinstance(error, ConversionError):  # WorkerDied too
        return FAILED, error.summary
    if isinstance(error, (TimeoutError, ValueError, TypeError, RuntimeError, ImportError, OSError)):
        return FAILED, str(error)
    return FAILED, error_text(error, 600)


def request_settings(request: Request) -> Dict[str, Any]:
    """The settings of a request, shaped like ``ConversionSettings.as_dict()`` (for failed conversions)."""
    kwargs = request.kwargs
    settings = {key: kwargs.get(key) for key in SETTING_NAMES}
    settings["representative_dataset"] = kwargs.get("representative_dataset") is not None
    return settings


__all__ = ["convert", "measure", "layers", "requantize", "describe_failure", "request_settings"]
