"""Which arithmetic an operator runs in: float, int8, int16x8, dynamic-range, ..."""
from __future__ import annotations

from typing import Tuple

from .context import OpContext

_FLOATS = frozenset({"float32", "float16", "bfloat16", "float64"})
_WEIGHT_TYPES = frozenset({"int8", "uint8", "int4", "int16", "uint4", "int2"})
NARROW_WEIGHT_TYPES = frozenset({"int4", "uint4", "int2"})


def quantization_scheme(ctx: OpContext) -> Tuple[bool, str, str]:
    """Classify the arithmetic of one operator.

    Parameters
    ----------
    ctx : OpContext

    Returns
    -------
    (quantized, scheme, weights) : (bool, str, str)
        ``quantized`` is True when the op computes in integer arithmetic.
        ``scheme`` is one of 'int8', 'uint8', 'int16x8', 'dynamic-range', 'quantize',
        'dequantize', 'float16 weights', or the float/other dtype the op runs in.
        ``weights`` describes quantized constant inputs: 'per-channel (axis N)',
        'per-tensor' or '', prefixed with the type below 8 bits ('int4 per-channel (axis 0)').
    """
    activations = [t for t in ctx.inputs + ctx.outputs
                   if t is not None and not t.is_constant]
    weights = [t for t in ctx.inputs
               if t is not None and t.is_constant and t.num_scales and t.dtype in _WEIGHT_TYPES]
    granularity = ""
    per_channel = [t for t in weights if t.num_scales > 1]
    if per_channel:
        granularity = f"per-channel (axis {per_channel[0].quantized_dimension})"
    elif weights:
        granularity = "per-tensor"
    narrow = sorted({t.dtype for t in weights} & NARROW_WEIGHT_TYPES)
    if narrow:
        granularity = f"{'/'.join(narrow)} {granularity}"  # int4 weights (the LiteRT Quantizer's recipes) say so

    name = ctx.name
    if name == "DEQUANTIZE":
        source = ctx.input(0)
        if source is not None and source.dtype == "float16":
            return False, "float16 weights", granularity
        return False, "dequantize", granularity
    if name == "QUANTIZE":
        return False, "quantize", granularity

    outputs = [t for t in ctx.outputs if t is not None]
    if outputs and not any(t.num_scales or t.dtype in _FLOATS for t in outputs):
        # Shape / index results (SHAPE, ARG_MAX, ...): no quantized arithmetic to report.
        return False, outputs[0].dtype, granularity
    act_types = {t.dtype for t in activations if t.num_scales}
    if "int16" in act_types:
        return True, "int16x8", granularity
    if "int8" in act_types:
        return True, "int8", granularity
    if "uint8" in act_types:
        return True, "uint8", granularity
    float_acts = [t.dtype for t in activations if t.dtype in _FLOATS]
    if weights and float_acts:
        # Hybrid kernels: float activations, integer weights quantized at conversion,
        # activations quantized on the fly (post-training dynamic-range quantization).
        return True, "dynamic-range", granularity
    if float_acts:
        return False, float_acts[0], granularity
    if activations:
        return False, activations[0].dtype, granularity
    return False, ctx.outputs[0].dtype if ctx.outputs and ctx.outputs[0] else "", granularity
