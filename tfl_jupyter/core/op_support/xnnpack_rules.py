"""Will the XNNPACK delegate (the default CPU accelerator) take this operator?

Port of the operator list and limits in ``tensorflow/lite/delegates/xnnpack/README.md``
("Limitations and supported operators"), corrected where the runtime does more than the
README says. Each correction was observed with ai-edge-litert 2.3 by reading which nodes
its DELEGATE partitions replaced (tests/test_op_support.py keeps checking this):

* float BATCH_MATMUL, GELU, EXP, LOG, RSQRT, SUM and REDUCE_MAX, and int8 SUM and
  REDUCE_MAX, are delegated although the README does not list them;
* CONCATENATION takes more than four inputs, MEAN reduces over any static axes;
* dynamic-range (hybrid: float activations, int8 constant weights) CONV_2D,
  FULLY_CONNECTED and TRANSPOSE_CONV are delegated, the README says they are not.

And three facts the README leaves out:

* Signed int8 operators (``qs8``) are on in the prebuilt TFLite/LiteRT runtimes
  (verified here: an int8 model gets XNNPACK partitions in ai-edge-litert 2.3);
  unsigned ``qu8`` is an opt-in build flag, so uint8 operators are reported as CPU.
* A DEQUANTIZE of a constant float16 tensor is folded by the delegate into static
  float32 weights (xnnpack_delegate.cc), so float16-weight models stay delegated.
* Tensors of rank above 6 (XNN_MAX_TENSOR_DIMS) are never delegated.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict

if TYPE_CHECKING:  # annotations only: targets.py, which the magic's help reads, stays light
    from .context import OpContext
    from .targets import OpFacts, Verdict

MAX_RANK = 6
_ACTIVATIONS_OK = frozenset({"", "NONE", "RELU", "RELU_N1_TO_1", "RELU6"})

FLOAT_OPS = frozenset({
    "ABS", "ADD", "AVERAGE_POOL_2D", "CEIL", "CONCATENATION", "CONV_2D", "DEPTH_TO_SPACE",
    "DEPTHWISE_CONV_2D", "DIV", "ELU", "FULLY_CONNECTED", "FLOOR", "HARD_SWISH",
    "LEAKY_RELU", "LOGISTIC", "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM", "MUL", "NEG",
    "PAD", "PRELU", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "ROUND",
    "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQRT", "SQUARE", "SQUARED_DIFFERENCE",
    "STRIDED_SLICE", "SUB", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
    # observed, not in the README:
    "BATCH_MATMUL", "GELU", "EXP", "LOG", "RSQRT", "SUM", "REDUCE_MAX",
})
QUANTIZED_OPS = frozenset({
    "ADD", "CONCATENATION", "CONV_2D", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE",
    "ELU", "FULLY_CONNECTED", "LEAKY_RELU", "LOGISTIC", "MAX_POOL_2D", "MEAN", "MUL", "PAD",
    "QUANTIZE", "RESHAPE", "RESIZE_BILINEAR", "SLICE", "SPACE_TO_DEPTH", "SPLIT", "SUB",
    "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
    "SUM", "REDUCE_MAX",  # observed, not in the README
})
HYBRID_OPS = frozenset({"CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})  # observed
_WITH_ACTIVATION = frozenset({"ADD", "AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D",
                              "DIV", "FULLY_CONNECTED", "MAX_POOL_2D", "MUL", "SUB"})


def _static(ctx: OpContext, indices, what: str) -> str:
    for i in indices:
        t = ctx.input(i)
        if t is not None and not ctx.is_static(t):
            return f"the {what} must be static (a constant)"
    return ""


def _check_conv(ctx):
    if ctx.input(2) is None:
        return "bias is mandatory"
    return _static(ctx, (1, 2), "filter and bias")


def _check_fully_connected(ctx):
    return _static(ctx, (1, 2), "filter and bias")


def _check_pool(ctx):
    o = ctx.options
    if o["filter_h"] == 1 and o["filter_w"] == 1 and (o["stride_h"] != 1 or o["stride_w"] != 1):
        return "1x1 pooling with non-unit stride is not supported"
    return ""


def _check_split(ctx):
    n = len(ctx.outputs)
    return "" if 2 <= n <= 4 else f"only 2 to 4 outputs are supported, the node has {n}"


def _check_block(ctx):
    return "" if ctx.options["block_size"] > 1 else "block size must be greater than 1"


def _check_reduction(ctx):
    # The README limits MEAN to 4-D tensors and spatial axes; the runtime takes any
    # static axes and keep_dims=False (observed, see the module docstring).
    return _static(ctx, (1,), "axes")


def _check_pad(ctx):
    pads = ctx.input(1)
    if not ctx.is_static(pads):
        return "the paddings must be static"
    values = ctx.graph.int_values(pads)
    if values is not None and any(v < 0 for v in values):
        return "negative paddings are not supported"
    return ""


def _check_prelu(ctx):
    slope = ctx.input(1)
    if not ctx.is_static(slope):
        return "the slope must be static"
    if len(slope.shape) > 1 and any(d != 1 for d in slope.shape[:-1]):
        return "the slope must be 1-D or have all non-channel dimensions equal to 1"
    return ""


def _check_reshape(ctx):
    shape = ctx.input(1)
    return "" if shape is None or ctx.is_static(shape) else "the new shape must be static"


def _check_resize(ctx):
    x = ctx.input(0)
    if x is None or len(x.shape) != 4 or len(ctx.outputs[0].shape) != 4:
        return "input and output must be 4-D"
    return _static(ctx, (1,), "output size")


def _check_slice(ctx):
    return _static(ctx, (1, 2), "begin and size")


def _check_strided_slice(ctx):
    reason = _static(ctx, (1, 2, 3), "begin, end and strides")
    if reason:
        return reason
    strides = ctx.graph.int_values(ctx.input(3)) if ctx.input(3) is not None else None
    if strides is None or any(s != 1 for s in strides):
        return "strides must all be 1"
    o = ctx.options
    for mask in ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask"):
        if o[mask]:
            return f"{mask} must be 0"
    return ""


def _check_softmax(ctx):
    beta = ctx.options["beta"]
    return "" if beta == 1.0 else f"only beta = 1.0 is supported, got {beta:g}"


def _check_transpose(ctx):
    return _static(ctx, (1,), "permutation")


def _check_transpose_conv(ctx):
    return _static(ctx, (0, 1, 3), "output size, filter and bias")


def _check_binary_inputs(ctx):
    if ctx.name == "ADD" and len(ctx.inputs) != 2:
        return "only addition with two inputs is supported"
    return ""


_CHECKS: Dict[str, Callable[[OpContext], str]] = {
    "CONV_2D": _check_conv, "DEPTHWISE_CONV_2D": _check_conv,
    "FULLY_CONNECTED": _check_fully_connected, "AVERAGE_POOL_2D": _check_pool,
    "MAX_POOL_2D": _check_pool, "SPLIT": _check_split,
    "DEPTH_TO_SPACE": _check_block, "SPACE_TO_DEPTH": _check_block,
    "MEAN": _check_reduction, "SUM": _check_reduction, "REDUCE_MAX": _check_reduction,
    "PAD": _check_pad, "PRELU": _check_prelu, "RESHAPE": _check_reshape,
    "RESIZE_BILINEAR": _check_resize, "SLICE": _check_slice,
    "STRIDED_SLICE": _check_strided_slice, "SOFTMAX": _check_softmax,
    "TRANSPOSE": _check_transpose, "TRANSPOSE_CONV": _check_transpose_conv,
    "ADD": _check_binary_inputs,
}
# What the ops table must know to group operators (see op_support/grouping.py): checks
# that read dimensions beyond the rank, constant input values, or scales.
EXACT_SHAPES = frozenset({"PRELU"})
VALUE_DEPENDENT = frozenset({"PAD", "STRIDED_SLICE"})
CONTEXT_DEPENDENT = frozenset({"QUANTIZE", "LEAKY_RELU"})

# Inputs that hold shapes, axes, paddings... rather than data (their dtype is free).
_PARAMETER_INPUTS = {"MEAN": (1,), "SUM": (1,), "REDUCE_MAX": (1,), "PAD": (1,), "RESHAPE": (1,), "RESIZE_BILINEAR": (1,),
                     "SLICE": (1, 2), "STRIDED_SLICE": (1, 2, 3), "TRANSPOSE": (1,),
                     "TRANSPOSE_CONV": (0,), "SPLIT": (0,)}
_BIAS_INPUT = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2,
               "TRANSPOSE_CONV": 3}


def _data_tensors(ctx: OpContext):
    skip = set(_PARAMETER_INPUTS.get(ctx.name, ()))
    bias = _BIAS_INPUT.get(ctx.name)
    for i, t in enumerate(ctx.inputs):
        if t is not None and i not in skip and i != bias:
            yield t
    for t in ctx.outputs:
        if t is not None:
            yield t


def _float_types(ctx: OpContext) -> str:
    bias = ctx.input(_BIAS_INPUT[ctx.name]) if ctx.name in _BIAS_INPUT else None
    for t in _data_tensors(ctx):
        if t.dtype != "float32" and not (t.dtype == "float16" and ctx.is_static(t)):
            if t.is_constant and t.num_scales and t.dtype in ("int8", "int4"):
                if ctx.name in HYBRID_OPS:
                    continue
                return f"no dynamic-range (int8 weights, float activations) {ctx.name} kernel"
            return f"tensor {t.index} is {t.dtype}, this op needs float32"
    if bias is not None and bias.dtype != "float32":
        return f"bias is {bias.dtype}, this op needs float32"
    return ""


def _quantized_types(ctx: OpContext) -> str:
    name = ctx.name
    bias = ctx.input(_BIAS_INPUT[name]) if name in _BIAS_INPUT else None
    if name == "QUANTIZE":
        x, y = ctx.input(0), ctx.outputs[0]
        if y.dtype != "int8" or y.num_scales != 1:
            return "the output must be per-tensor int8"
        if x is not None and x.dtype not in ("float32", "int8"):
            return f"input is {x.dtype}, needs float32 or int8"
        if x is not None and x.dtype == "int8" and x.num_scales and y.num_scales and y.scale[0]:
            ratio = x.scale[0] / y.scale[0]
            if not 2 ** -8 <= ratio <= 2 ** 7:
                return "input/output scale ratio outside [2**-8, 2**7]"
        return ""
    if name == "DEQUANTIZE":
        x, y = ctx.input(0), ctx.outputs[0]
        if x is None or x.dtype != "int8" or x.num_scales != 1 or y.dtype != "float32":
            return "needs a per-tensor int8 input and a float32 output"
        return ""
    for t in _data_tensors(ctx):
        if t.dtype != "int8":
            return f"tensor {t.index} is {t.dtype}, quantized ops need int8 (signed)"
        if not t.num_scales:
            return f"tensor {t.index} is int8 without quantization parameters"
    if bias is not None and bias.dtype != "int32":
        return f"bias is {bias.dtype}, needs int32"
    if name == "LEAKY_RELU":
        x, y = ctx.input(0), ctx.outputs[0]
        if x is not None and x.num_scales and y.num_scales and y.scale[0]:
            ratio = x.scale[0] / y.scale[0]
            if not 1 / 256 <= ratio <= 128:
                return "input/output scale ratio outside [1/256, 128]"
            slope = ctx.options["alpha"] * ratio
            if not (-127.99609375 <= slope <= -1 / 256 or 1 / 256 <= slope <= 128):
                return "negative slope times scale ratio outside the supported range"
    return ""


def xnnpack_verdict(ctx: OpContext, facts: OpFacts) -> Verdict:
    """Decide whether the XNNPACK delegate will take one operator.

    Parameters
    ----------
    ctx : OpContext
    facts : OpFacts
        Its ``quant_scheme`` is the op's scheme from :func:`quantization_scheme`.

    Returns
    -------
    (supported, reason) : (bool, str)
    """
    quant_scheme = facts.quant_scheme
    kind = ctx.kind
    if kind != "builtin":
        return False, f"{kind} ops never run on XNNPACK"
    name = ctx.name
    for t in ctx.inputs + ctx.outputs:
        if t is not None and len(t.shape) > MAX_RANK:
            return False, f"tensor {t.index} has rank {len(t.shape)} (max {MAX_RANK})"
    if name == "DEQUANTIZE":
        x = ctx.input(0)
        if x is not None and x.dtype == "float16" and x.is_constant:
            return True, ""
    integer = quant_scheme in ("int8", "uint8", "int16x8", "quantize", "dequantize")
    if integer:
        if quant_scheme == "uint8":
            return False, "uint8 (qu8) kernels are an opt-in XNNPACK build flag"
        if quant_scheme == "int16x8":
            return False, "XNNPACK has no int16x8 kernels"
        if name not in QUANTIZED_OPS:
            return False, f"{name} is not in XNNPACK's quantized operator list"
        reason = _quantized_types(ctx)
    else:
        if name not in FLOAT_OPS:
            return False, f"{name} is not in XNNPACK's operator list"
        reason = _float_types(ctx)
    if not reason and name in _WITH_ACTIVATION and ctx.activation not in _ACTIVATIONS_OK:
        reason = f"fused {ctx.activation} activation is not supported"
    if not reason:
        check = _CHECKS.get(name)
        reason = check(ctx) if check else ""
    return (not reason), reason
