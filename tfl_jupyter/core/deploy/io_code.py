"""Code that feeds an integer-I/O model: quantize float inputs, dequantize outputs.

The arithmetic is TFLite's own (``AffineQuantize`` / ``AffineDequantize`` in the reference
kernels): ``q = round(x / scale) + zero_point`` in float32, rounding half away from zero,
clamped to the type's range; ``x = (q - zero_point) * scale``.
"""
from __future__ import annotations

import re
from typing import List

import numpy as np

from ..tflite_reader import TensorInfo

_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
_C_TYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t"}
LANGUAGES = ("python", "c")


def _quantized(tensor: TensorInfo) -> bool:
    return tensor.dtype in _RANGES and tensor.num_scales == 1


def _identifiers(tensors: List[TensorInfo], role: str) -> List[str]:
    """A distinct C/Python identifier per tensor, from its name."""
    names = []
    for i, tensor in enumerate(tensors):
        base = re.sub(r"\W+", "_", tensor.name).strip("_") or str(i)
        name = f"{role}_{base}"
        names.append(name if name not in names else f"{name}_{i}")
    return names


def _float32_literal(value: float) -> str:
    """A decimal that reads back as the same float32 (9 significant digits do)."""
    return format(float(np.float32(value)), ".9g")


def io_code(inputs: List[TensorInfo], outputs: List[TensorInfo], lang: str = "python") -> str:
    """Quantize/dequantize functions for a model's integer inputs and outputs.

    Parameters
    ----------
    inputs, outputs : list of TensorInfo
        The main subgraph's input and output tensors.
    lang : {'python', 'c'}
        NumPy functions, or C ``static inline`` functions (``<math.h>``, ``<stdint.h>``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        An unknown language, or no integer input or output (the message says how to
        convert for int8 I/O).
    """
    language = str(lang).lower()
    if language not in LANGUAGES:
        raise ValueError(f"lang must be 'python' or 'c', got {lang!r}")
    if not any(_quantized(t) for t in list(inputs) + list(outputs)):
        raise ValueError("the model's inputs and outputs are not quantized, there is nothing "
                         "to convert: convert with quantize='int8-full' for int8 I/O")
    write = _python if language == "python" else _c
    parts = []
    for role, tensors in (("quantize_input", inputs), ("dequantize_output", outputs)):
        for tensor, name in zip(tensors, _identifiers(tensors, role)):
            parts.append(write(role, tensor, name))
    header = ("import numpy as np\n" if language == "python"
              else "#include <math.h>\n#include <stdint.h>\n")
    return header + "\n\n" + "\n\n".join(parts) + "\n"


def _describe(tensor: TensorInfo) -> str:
    return (f"{tensor.name!r}: {tensor.dtype}, scale {float(tensor.scale[0]):.6g}, "
            f"zero point {int(tensor.zero_point[0])}")


def _python(role: str, tensor: TensorInfo, name: str) -> str:
    if not _quantized(tensor):
        return f"# {role.split('_')[1]} {tensor.name!r} is {tensor.dtype}: use it as it is."
    scale, zero = _float32_literal(tensor.scale[0]), int(tensor.zero_point[0])
    if role == "quantize_input":
        low, high = _RANGES[tensor.dtype]
        return (f"def {name}(values):\n"
                f'    """float32 -> {_describe(tensor)}."""\n'
                f"    scaled = np.asarray(values, np.float32) / np.float32({scale})\n"
                f"    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))\n"
                f"    return np.clip(rounded + {zero}, {low}, {high}).astype(np.{tensor.dtype})")
    return (f"def {name}(values):\n"
            f'    """{_describe(tensor)} -> float32."""\n'
            f"    return ((np.asarray(values, np.int32) - {zero}) * np.float32({scale}))"
            f".astype(np.float32)")


def _c(role: str, tensor: TensorInfo, name: str) -> str:
    if not _quantized(tensor):
        return f"/* {role.split('_')[1]} \"{tensor.name}\" is {tensor.dtype}: use it as it is. */"
    scale, zero = _float32_literal(tensor.scale[0]) + "f", int(tensor.zero_point[0])
    ctype = _C_TYPES[tensor.dtype]
    comment = _describe(tensor).replace("'", '"').replace("*/", "* /")
    if role == "quantize_input":
        low, high = _RANGES[tensor.dtype]
        return (f"/* float -> {comment} */\n"
                f"static inline {ctype} {name}(float value) {{\n"
                f"  float q = roundf(value / {scale}) + {zero}.0f;\n"
                f"  q = q < {low}.0f ? {low}.0f : (q > {high}.0f ? {high}.0f : q);\n"
                f"  return ({ctype})q;\n}}")
    return (f"/* {comment} -> float */\n"
            f"static inline float {name}({ctype} value) {{\n"
            f"  return (float)((int32_t)value - ({zero})) * {scale};\n}}")
