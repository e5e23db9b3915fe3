"""Float vs converted: compare outputs, find the layers that lose accuracy, requantize.

``compare(result, ...)`` backs ``ConversionResult.compare``; ``requantize`` backs
``ConversionResult.requantize``. Importing this package is light: TensorFlow, pandas and
matplotlib are imported when first used. ``tj.sweep`` is :mod:`tfl_jupyter.core.sweep`,
a layer above this one.
"""

from .measure import compare
from .report import Comparison
from .requantize import Requantized, requantize

__all__ = ["compare", "Comparison", "requantize", "Requantized"]
