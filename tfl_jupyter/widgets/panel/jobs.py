"""The work the panel runs in the background, and what its errors mean to the user.

These functions run in the panel's worker thread; they touch no widget.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Tuple

from ...core.errors import ConversionError
from ...core.settings import SETTING_NAMES
from ...core.errors import ConversionCancelled, WorkerDied
from .checks import Request
from .history import CANCELLED, FAILED

_QUIET = {"progress": False}  # no tqdm bars: they would land in whichever cell runs at the time


def convert(request: Request, on_sample) -> Any:
    """Run ``tj.convert`` for ``request`` (through the worker process unless the form says otherwise)."""
    from ...core.convert import convert as tj_convert

    return tj_convert(request.source, on_sample=on_sample, **request.kwargs)


def measure(result, samples: int, on: Any = None, labels: Any = None) -> Tuple[Any, str]:
    """``result.compare(on, n=samples, labels=labels)``, or (None, why not)."""
    try:
        return _call(result.compare, samples=on, n=samples, labels=labels), ""
    except NotImplementedError as exc:
        return None, f"Comparison is not available in this installation ({exc})."
    except ConversionCancelled:
        return None, "Measuring the error was cancelled."
    except Exception as exc:  # the user's model or samples: say so, keep the conversion
        return None, f"Could not measure the error: {_short(exc)}"


def layers(comparison) -> Tuple[Any, str]:
    """The per-layer table of ``comparison`` (QuantizationDebugger), or (None, why not)."""
    try:
        compute = getattr(comparison, "compute_layers", None)
        return (_call(compute) if compute is not None else comparison.layers), ""
    except NotImplementedError as exc:
        return None, f"Per-layer error is not available in this installation ({exc})."
    except ConversionCancelled:
        return None, "Computing the per-layer error was cancelled."
    except Exception as exc:
        return None, _short(exc)


def requantize(result, comparison, tensors: List[str]) -> Tuple[Any, Any]:
    """Quantize ``result`` again keeping ``tensors`` in float: (new result, its comparison or None).

    Raises
    ------
    NotImplementedError, ValueError
        Not available, or not possible for this model.
    """
    if comparison is not None and hasattr(comparison, "requantize"):
        outcome = _call(comparison.requantize, tensors)
    else:
        outcome = _call(result.requantize, denylist=tensors)
    new_result = getattr(outcome, "result", outcome)
    return new_result, getattr(outcome, "comparison", None)


def describe_failure(error: BaseException, elapsed: float) -> Tuple[str, str]:
    """(status, message) for an error raised by the work."""
    if isinstance(error, (ConversionCancelled, KeyboardInterrupt)):
        return CANCELLED, (f"Cancelled after {elapsed:.1f} s; the conversion worker was stopped (the next conversion "
                           "starts a fresh one). Earlier results are kept.")
    if isinstance(error, WorkerDied):
        return FAILED, error.summary
    if isinstance(error, ConversionError):
        return FAILED, error.summary
    if isinstance(error, TimeoutError):
        return FAILED, str(error)
    if isinstance(error, (ValueError, TypeError, RuntimeError, ImportError, OSError)):
        return FAILED, str(error)
    return FAILED, _short(error)


def request_settings(request: Request) -> Dict[str, Any]:
    """The settings of a request, shaped like ``ConversionSettings.as_dict()`` (for failed conversions)."""
    kwargs = request.kwargs
    settings = {key: kwargs.get(key) for key in SETTING_NAMES}
    settings["representative_dataset"] = kwargs.get("representative_dataset") is not None
    return settings


def _call(function, *args, **kwargs):
    """Call with ``progress=False`` where the function takes it."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        parameters = {}
    extra = {k: v for k, v in _QUIET.items() if k in parameters}
    return function(*args, **kwargs, **extra)


def _short(exc: BaseException, limit: int = 600) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["convert", "measure", "layers", "requantize", "describe_failure", "request_settings"]
