"""Affine (de)quantization of a model's integer inputs and outputs with its own scale and zero point.

``real = scale * (q - zero_point)``. Quantizing rounds half away from zero, as TFLite's
QUANTIZE kernel does, and saturates to the integer type's range.
"""

from __future__ import annotations

import numpy as np


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """Float values -> integers of ``dtype`` (``round(x / scale) + zero_point``, saturated).

    Parameters
    ----------
    values : numpy.ndarray
        Real values.
    scale : float
        Quantization scale (> 0).
    zero_point : int
    dtype : numpy dtype
        ``int8``, ``uint8`` or ``int16``.

    Returns
    -------
    numpy.ndarray of ``dtype``
    """
    if not scale > 0:
        raise ValueError(f"cannot quantize with scale {scale}: the tensor has no usable quantization parameters")
    info = np.iinfo(dtype)
    scaled = np.asarray(values, dtype=np.float64) / scale
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded + zero_point, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Integers -> float32 real values (``scale * (q - zero_point)``)."""
    return ((np.asarray(values, dtype=np.float64) - zero_point) * scale).astype(np.float32)
