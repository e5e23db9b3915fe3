"""Float vs converted: compare outputs, find the layers that lose accuracy, requantize, sweep the modes.

``compare(result, ...)`` backs ``ConversionResult.compare``; ``requantize`` backs
``ConversionResult.requantize``; ``sweep(source, ...)`` is ``tj.sweep``. Importing this
package is light: TensorFlow, pandas and matplotlib are imported when first used.
"""

from .report import Comparison
from .requantize import Requantized, requantize
from .run import compare
from .sweeps import sweep

__all__ = ["compare", "Comparison", "requantize", "Requantized", "sweep"]
