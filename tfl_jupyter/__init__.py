"""tfl_jupyter: convert TensorFlow models to TensorFlow Lite from a notebook.

``import tfl_jupyter as tj`` and ``%load_ext tfl_jupyter`` are fast: TensorFlow, pandas and
the converter are imported on first use only.

>>> import tfl_jupyter as tj
>>> result = tj.convert(model, quantize="int8", representative_dataset=samples)
>>> result.ops                      # one row per operator: builtin/flex/custom, XNNPACK, GPU
>>> result.save("model.tflite")
"""

from importlib.metadata import PackageNotFoundError, version as _distribution_version

from ._lazy import lazy_attributes
from .core.errors import ConversionError

try:
    __version__ = _distribution_version("tfl_jupyter")  # written once, in pyproject.toml
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"
__all__ = [
    "convert",
    "inspect",
    "sweep",
    "ConversionError",
    "ConversionResult",
    "WorkerDied",
    "ConversionCancelled",
    "demo_model",
    "demo_samples",
    "panel",
]

_LAZY = {
    "convert": ("tfl_jupyter.core.convert", "convert"),
    "inspect": ("tfl_jupyter.core.inspection", "inspect"),
    "sweep": ("tfl_jupyter.core.sweep", "sweep"),
    "ConversionResult": ("tfl_jupyter.core.result", "ConversionResult"),
    "WorkerDied": ("tfl_jupyter.core.errors", "WorkerDied"),
    "ConversionCancelled": ("tfl_jupyter.core.errors", "ConversionCancelled"),
    "demo_model": ("tfl_jupyter.demo", "demo_model"),
    "demo_samples": ("tfl_jupyter.demo", "demo_samples"),
    "panel": ("tfl_jupyter.widgets.panel", "panel"),
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


def load_ipython_extension(ipython):
    """Register ``%tflite_convert`` / ``%%tflite_convert`` (``%load_ext tfl_jupyter``)."""
    from .magics import TFLiteMagics

    ipython.register_magics(TFLiteMagics)
