"""Will the TFLite GPU delegate take this operator? Our port of the upstream rules.

Sources (TensorFlow master, read for this port):

* ``tensorflow/lite/delegates/gpu/common/model_builder.cc``: which operators have a
  parser at all (``NewOperationParser``), the highest op version each parser accepts
  (``CheckMaxSupportedOpVersion``), and the tensor check every node must pass
  (``GetOpsToReplace`` / ``IsAllAllowedTensors``: no tensor of rank 5 or more, and
  non-constant tensors only float32/float16, plus int8/uint8 because the default
  delegate options enable quantized models).
* ``tensorflow/lite/tools/versioning/gpu_compatibility.cc``: the per-op checks of
  inputs, outputs, shapes and options (ported below op by op). Broadcast rules are the
  delegate's runtime ones (``GpuCompatibilityFlags::kStandard``).

Not modelled: the delegate by default takes only the largest partition of supported
operators, so a supported operator cut off from it still runs on the CPU.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from .context import OpContext

# model_builder.cc: CheckMaxSupportedOpVersion per parser (None = no version check).
MAX_VERSION: Dict[str, Optional[int]] = {
    "AVERAGE_POOL_2D": 2, "MAX_POOL_2D": 2, "BATCH_MATMUL": None, "CAST": None,
    "CONCATENATION": 2, "CONV_2D": 6, "CUMSUM": 1, "DENSIFY": 1, "DEPTHWISE_CONV_2D": 6,
    "DEPTH_TO_SPACE": None, "DEQUANTIZE": 3, "FULLY_CONNECTED": 9, "HARD_SWISH": None,
    "LSTM": 4, "MEAN": None, "MIRROR_PAD": 2, "PAD": 2, "ONE_HOT": 1, "PACK": None,
    "PRELU": 1, "QUANTIZE": 2, "RELU": 2, "RELU6": 2, "LEAKY_RELU": 2,
    "RELU_N1_TO_1": None, "RESHAPE": 1, "RESIZE_BILINEAR": 3, "RESIZE_NEAREST_NEIGHBOR": 3,
    "SELECT_V2": 1, "SLICE": 2, "SOFTMAX": 2, "SPACE_TO_DEPTH": 2, "SPLIT": None,
    "SPLIT_V": None, "STRIDED_SLICE": 2, "REDUCE_MAX": None, "REDUCE_MIN": None,
    "REDUCE_PROD": None, "SUM": None, "TILE": None, "TRANSPOSE": 2, "TRANSPOSE_CONV": 3,
}
UNARY_ELEMENTWISE = ("ABS", "COS", "ELU", "EXP", "FLOOR", "LOG", "LOGISTIC", "NEG",
                     "RSQRT", "SIN", "SQRT", "SQUARE", "TANH")
BINARY_ELEMENTWISE = ("ADD", "DIV", "EQUAL", "FLOOR_DIV", "FLOOR_MOD", "GREATER",
                      "GREATER_EQUAL", "LESS", "LESS_EQUAL", "MAXIMUM", "MINIMUM", "MUL",
                      "NOT_EQUAL", "POW", "SQUARED_DIFFERENCE", "SUB")
LOGICAL = frozenset({"GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "EQUAL", "NOT_EQUAL"})
for _name in UNARY_ELEMENTWISE + BINARY_ELEMENTWISE:
    MAX_VERSION[_name] = 3 if _name == "MUL" else 2  # ElementwiseOperationParser

# In gpu_compatibility.cc (used by newer LiteRT GPU backends) but without a parser in
# the TFLite GPU delegate.
COMPATIBILITY_ONLY = frozenset({"ADD_N", "ATAN2", "CEIL", "DYNAMIC_UPDATE_SLICE",
                                "EMBEDDING_LOOKUP", "GATHER", "GELU", "LOGICAL_AND",
                                "PADV2", "SELECT", "SIGN", "STABLEHLO_CLAMP"})
CUSTOM_OPS = frozenset({"Convolution2DTransposeBias", "MaxPoolingWithArgmax2D",
                        "MaxUnpooling2D", "Resampler"})

_ACTIVATIONS_OK = frozenset({"", "NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH"})
_BASE_TYPES = ("float32", "float16", "int8", "uint8")


def _activation(ctx: OpContext) -> str:
    act = ctx.activation
    return "" if act in _ACTIVATIONS_OK else f"fused activation {act} is not supported"


def _io(ctx: OpContext, runtime_inputs: int, outputs: int, const_inputs: int = -1) -> str:
    runtime = len(ctx.runtime_inputs)
    if const_inputs >= 0 and len(ctx.const_inputs) != const_inputs:
        return (f"expects {const_inputs} constant input(s), the node has "
                f"{len(ctx.const_inputs)}")
    if runtime != runtime_inputs:
        return f"expects {runtime_inputs} runtime input(s), the node has {runtime}"
    if len(ctx.outputs) != outputs:
        return f"expects {outputs} output(s), the node has {len(ctx.outputs)}"
    return ""


def _conv_io(ctx: OpContext) -> str:
    runtime = len(ctx.runtime_inputs)
    if runtime > 2:
        return f"expects 1 or 2 runtime inputs, the node has {runtime}"
    if len(ctx.outputs) != 1:
        return f"expects 1 output, the node has {len(ctx.outputs)}"
    if runtime == 1 and len(ctx.inputs) < 2:
        return "the filter input is missing"
    return ""


def _positive(what: str, *values) -> str:
    return "" if all(v > 0 for v in values) else f"{what} must be positive, got {values}"


def _axes_const_int32(ctx: OpContext, index: int = 1) -> str:
    axes = ctx.input(index)
    if axes is None or not axes.is_constant:
        return f"{ctx.name} is only supported with constant axes"
    if axes.dtype != "int32":
        return f"axes must be int32, got {axes.dtype}"
    return ""


def _broadcastable(a, b) -> str:
    """CheckAddMulBroadcastCompatibility with the delegate's default (standard) flags."""
    if len(a) > 1 and len(b) > 1 and len(a) != len(b):
        longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
        ok = (
            (len(longer) == 4 and len(shorter) == 3 and longer[0] == 1)
            or (len(longer) == 4 and len(shorter) == 2 and longer[0] == 1
                and shorter[0] == 1 and shorter[1] == 1)
            or (len(longer) == 4 and len(shorter) == 2 and longer[0] == shorter[0]
                and longer[3] == shorter[1])
        )
        if not ok:
            return f"broadcasting {list(a)} with {list(b)} is not supported"
    return ""


def _check_add(ctx):
    if len(ctx.inputs) != 2:
        return "ADD needs exactly two inputs"
    a, b = ctx.inputs
    return _broadcastable(a.shape, b.shape) if a is not None and b is not None else ""


def _check_mul(ctx):
    if len(ctx.inputs) != 2:
        return "MUL needs exactly two inputs"
    a, b = ctx.inputs
    if a is not None and b is not None:
        if len(a.shape) == len(b.shape):
            first_smaller = any(x < y for x, y in zip(a.shape, b.shape))
            second_smaller = any(y < x for x, y in zip(a.shape, b.shape))
            if first_smaller and second_smaller:
                return ("MUL needs one input at least as large as the other in every "
                        "dimension")
        else:
            reason = _broadcastable(a.shape, b.shape)
            if reason:
                return reason
    return _activation(ctx)


def _check_binary(ctx):
    runtime, const = len(ctx.runtime_inputs), len(ctx.const_inputs)
    if not ((runtime == 2 and const == 0) or (runtime == 1 and const == 1)) \
            or len(ctx.outputs) != 1:
        return "needs 1 or 2 runtime operands and one output"
    if ctx.name in LOGICAL:
        return _logical_feeds_cast(ctx)
    return _activation(ctx) if ctx.name in ("DIV", "SUB") else ""


def _logical_feeds_cast(ctx):
    # ElementwiseOperationParser: a comparison is only taken when its bool result goes
    # straight into a single CAST to float.
    graph = ctx.graph
    out = ctx.op.outputs[0]
    consumers = graph.consumers.get(out, [])
    if len(consumers) != 1:
        return "a comparison is only supported when its only consumer is a CAST to float"
    nxt = graph.graph.operators[consumers[0]]
    dst = graph.tensors[nxt.outputs[0]].dtype if nxt.outputs else ""
    if nxt.op != "CAST" or dst not in ("float32", "float16"):
        return "a comparison is only supported when its only consumer is a CAST to float"
    return ""


def _check_unary(ctx):
    return _io(ctx, 1, 1, const_inputs=0)


def _check_pool(ctx):
    o = ctx.options
    return (_io(ctx, 1, 1) or _positive("kernel size", o["filter_h"], o["filter_w"])
            or _positive("strides", o["stride_h"], o["stride_w"]) or _activation(ctx))


def _check_conv(ctx):
    o = ctx.options
    return (_conv_io(ctx) or _positive("strides", o["stride_h"], o["stride_w"])
            or _positive("dilation", o["dilation_h"], o["dilation_w"]) or _activation(ctx))


def _element_count(shape: tuple) -> int:
    """gpu_compatibility.cc's NumElements."""
    count = 1
    for d in shape:
        count *= d
    return count


def _check_depthwise(ctx):
    o = ctx.options
    reason = (_conv_io(ctx) or _positive("strides", o["stride_h"], o["stride_w"])
              or _positive("dilation", o["dilation_h"], o["dilation_w"]) or _activation(ctx))
    if reason:
        return reason
    x, w, out = ctx.input(0), ctx.input(1), ctx.outputs[0]
    bias = ctx.input(2)
    if x is None or w is None:
        return "input or filter missing"
    for what, t in (("input", x), ("filter", w), ("output", out)):
        if len(t.shape) != 4:
            return f"{what} must be 4-D, got rank {len(t.shape)}"
    multiplier = o["depth_multiplier"]
    if x.shape[0] != out.shape[0]:
        return "input and output batch differ"
    if w.shape[3] != out.shape[3]:
        return "filter channels != output channels"
    if out.shape[3] != x.shape[3] * multiplier:
        return "output channels != input channels * depth_multiplier"
    if bias is not None and _element_count(bias.shape) != out.shape[3]:
        return "bias size != output channels"
    if multiplier != 1 and x.shape[3] != 1:
        return "depth_multiplier != 1 is only supported with 1 input channel"
    return ""


def _check_fully_connected(ctx):
    o = ctx.options
    if o["weights_format"] != 0:
        return f"weights format {o['weights_format']} (shuffled) is not supported"
    if len(ctx.runtime_inputs) > 2:
        return "more than 2 runtime inputs"
    x = ctx.input(0)
    if x is not None and x.is_constant:
        return "a constant first input is not supported"
    if o["keep_num_dims"] and x is not None and len(x.shape) != len(ctx.outputs[0].shape):
        return "keep_num_dims with input and output of different rank"
    return ""


def _check_softmax(ctx):
    beta = ctx.options["beta"]
    return "" if beta == 1 else f"softmax beta={beta:g} (only 1 is supported)"


def _check_block(ctx):
    size = ctx.options["block_size"]
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    if size == 1:
        return "block_size 1 is a no-op"
    return "" if size > 1 else "block_size must be > 1"


def _check_pad(ctx):
    if ctx.name == "MIRROR_PAD" and ctx.options["mode"] != 0:
        return "only REFLECT mirror padding is supported"
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    pads = ctx.input(1)
    if pads is None:
        return "paddings input missing"
    if len(pads.shape) != 2 or pads.shape[0] not in (3, 4) or pads.shape[1] != 2:
        return f"paddings must be 4x2 or 3x2, got {list(pads.shape)}"
    return ""


def _check_strided_slice(ctx):
    o = ctx.options
    for mask in ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask"):
        if o[mask]:
            return f"{mask} is not supported"
    return _slice_inputs(ctx, 4)


def _check_slice(ctx):
    return _slice_inputs(ctx, 3)


def _slice_inputs(ctx, count: int) -> str:
    """SLICE / STRIDED_SLICE: at least ``count`` inputs, the first one 3-D or 4-D."""
    if len(ctx.inputs) < count:
        return f"needs {count} inputs"
    x = ctx.input(0)
    if x is None or len(x.shape) not in (3, 4):
        return "only 3-D or 4-D inputs are supported"
    return ""


def _check_resize_bilinear(ctx):
    o = ctx.options
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    if o["align_corners"] and o["half_pixel_centers"]:
        return "align_corners and half_pixel_centers together"
    return ""


def _check_cumsum(ctx):
    # Upstream does delegate CUMSUM (CumsumOperationParser) for float input with a
    # constant int32 axis; only other dtypes or a runtime axis keep it on the CPU.
    if len(ctx.inputs) != 2:
        return "needs 2 inputs"
    x, axis = ctx.inputs
    if x is None or x.dtype not in ("float32", "float16") or ctx.outputs[0].dtype != x.dtype:
        return f"input must be float, got {x.dtype if x is not None else 'none'}"
    if axis is None or axis.dtype != "int32" or not axis.is_constant:
        return "the axis must be a constant int32"
    return ""


def _check_cast(ctx):
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    src, dst = ctx.input(0).dtype, ctx.outputs[0].dtype
    floats = ("float32", "float16")
    if src == "bool" and dst in floats:
        producer = ctx.graph.producer.get(ctx.op.inputs[0])
        graph = ctx.graph
        if producer is None or graph.graph.operators[producer].op not in LOGICAL \
                or len(graph.consumers.get(ctx.op.inputs[0], [])) != 1:
            return "bool -> float CAST is only supported right after a comparison"
        return ""
    if src in floats and dst == "bool":
        return ""
    if src in ("float32", "int32") and dst in ("float32", "int32"):
        return ""
    return f"CAST {src} -> {dst} is not supported"


def _check_dequantize(ctx):
    if len(ctx.inputs) != 1 or len(ctx.outputs) != 1:
        return "needs 1 input and 1 output"
    x = ctx.input(0)
    return "int16 dequantization is not supported" if x is not None and x.dtype == "int16" else ""


def _check_mean(ctx):
    return _io(ctx, 1, 1, const_inputs=1) or _axes_const_int32(ctx)


def _check_reduce(ctx):
    return _io(ctx, 1, 1) or _axes_const_int32(ctx)


def _check_batch_matmul(ctx):
    if len(ctx.inputs) != 2 or len(ctx.outputs) != 1:
        return "needs 2 inputs and 1 output"
    runtime = len(ctx.runtime_inputs)
    second = ctx.input(1)
    if runtime == 1 and (second is None or not second.is_constant or len(second.shape) != 2):
        return "with one runtime input the second must be a constant 2-D tensor"
    return "" if runtime in (1, 2) else "needs at least one runtime input"


def _check_select_v2(ctx):
    if len(ctx.inputs) != 3 or len(ctx.outputs) != 1:
        return "needs 3 inputs and 1 output"
    cond, a, b = ctx.inputs
    floats = ("float32", "float16")
    if cond is None or a is None or b is None or cond.dtype not in floats + ("bool",) \
            or a.dtype not in floats or b.dtype not in floats:
        return "condition must be bool/float and both branches float"
    out = ctx.outputs[0].shape
    for what, t in (("if", a), ("else", b)):
        if t.shape and t.shape != out and (len(t.shape) > 1 or t.shape[0] > 1):
            return f"the {what} tensor must match the output shape or be a scalar"
        if t.is_constant and len(t.shape) == 2:
            return f"2-D {what} tensor only supported if constant"
    return ""


def _check_one_hot(ctx):
    if len(ctx.inputs) != 4 and len(ctx.outputs) != 1:
        return "needs 4 inputs and 1 output"
    error = ("indices must be int32, on/off values constant float scalars, axis -1 or "
             "the last dimension")
    indices = ctx.input(0)
    if indices is None or indices.dtype != "int32" or len(ctx.inputs) < 4:
        return error
    dims = indices.shape
    axis = ctx.options["axis"]
    if axis != -1 and (not dims or axis != dims[-1]):
        return error
    for i in range(len(dims) - 1):
        if len(dims) > 3 and i == 0:
            continue
        if dims[i] != 1:
            return f"unsupported non-singleton dimension {i}"
    on, off = ctx.input(2), ctx.input(3)
    for t in (on, off):
        if t is None or t.dtype != "float32" or not t.is_constant or len(t.shape) > 1 \
                or (t.shape and t.shape[0] > 1):
            return error
    return ""


def _check_fully_connected_like_lstm(ctx):
    o = ctx.options
    if o["kernel_type"] == 0:  # FULL
        if len(ctx.inputs) not in (20, 24):
            return f"full LSTM expects 20 or 24 inputs, the node has {len(ctx.inputs)}"
        if len(ctx.outputs) != 1:
            return "full LSTM expects 1 output"
        if ctx.activation != "TANH":
            return f"only sigmoid/tanh activation is supported, got {ctx.activation}"
        return ""
    reason = _io(ctx, 3, 4, const_inputs=2)
    if reason:
        return reason
    if ctx.activation != "TANH":
        return "basic LSTM supports only TANH activation"
    if o["cell_clip"] or o["proj_clip"]:
        return "cell_clip / proj_clip are not supported"
    return ""


def _ok(ctx):
    return ""


_CHECKS: Dict[str, Callable[[OpContext], str]] = {
    "ADD": _check_add, "MUL": _check_mul, "AVERAGE_POOL_2D": _check_pool,
    "MAX_POOL_2D": _check_pool, "BATCH_MATMUL": _check_batch_matmul, "CAST": _check_cast,
    "CONCATENATION": _ok, "CONV_2D": _check_conv, "CUMSUM": _check_cumsum,
    "DENSIFY": lambda ctx: _io(ctx, 0, 1), "DEPTHWISE_CONV_2D": _check_depthwise,
    "DEPTH_TO_SPACE": _check_block, "SPACE_TO_DEPTH": _check_block,
    "DEQUANTIZE": _check_dequantize, "FULLY_CONNECTED": _check_fully_connected,
    "HARD_SWISH": lambda ctx: _io(ctx, 1, 1), "LSTM": _check_fully_connected_like_lstm,
    "MEAN": _check_mean, "ONE_HOT": _check_one_hot, "PACK": _ok,
    "PAD": _check_pad, "MIRROR_PAD": _check_pad, "PRELU": _ok,
    "QUANTIZE": lambda ctx: _io(ctx, 1, 1), "RELU": _ok, "RELU6": _ok, "LEAKY_RELU": _ok,
    "RELU_N1_TO_1": _ok, "RESHAPE": lambda ctx: _io(ctx, 1, 1),
    "RESIZE_BILINEAR": _check_resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": lambda ctx: _io(ctx, 1, 1), "SELECT_V2": _check_select_v2,
    "SLICE": _check_slice, "SOFTMAX": _check_softmax, "SPLIT": _ok, "SPLIT_V": _ok,
    "STRIDED_SLICE": _check_strided_slice, "REDUCE_MAX": _check_reduce,
    "REDUCE_MIN": _check_reduce, "REDUCE_PROD": _check_reduce, "SUM": _check_reduce,
    "TILE": lambda ctx: _io(ctx, 1, 1), "TRANSPOSE": lambda ctx: _io(ctx, 1, 1),
    "TRANSPOSE_CONV": lambda ctx: (_conv_io(ctx) or _positive(
        "strides", ctx.options["stride_h"], ctx.options["stride_w"])),
}
for _name in UNARY_ELEMENTWISE:
    _CHECKS[_name] = _check_unary
for _name in BINARY_ELEMENTWISE:
    _CHECKS.setdefault(_name, _check_binary)



def _binary_shape_facts(inputs: tuple, outputs: tuple) -> tuple:
    """What _check_add / _check_mul read of the input shapes, beyond their ranks."""
    if len(inputs) != 2 or None in inputs:
        return ()
    a, b = inputs
    if len(a) == len(b):
        return (any(x < y for x, y in zip(a, b)), any(y < x for x, y in zip(a, b)))
    return (a, b) if len(a) > 1 and len(b) > 1 else ()


def _depthwise_shape_facts(inputs: tuple, outputs: tuple) -> tuple:
    """What _check_depthwise reads of the shapes, beyond their ranks."""
    x, w, bias = (tuple(inputs) + (None, None, None))[:3]
    out = outputs[0] if outputs else None
    if x is None or w is None or out is None or not len(x) == len(w) == len(out) == 4:
        return ()
    count = _element_count(bias) if bias is not None else None
    # out[3] == x[3] * depth_multiplier, for any multiplier, is decided by these:
    ratio = (out[3] % x[3] == 0, out[3] // x[3]) if x[3] else (out[3] == 0,)
    return (x[0] == out[0], w[3] == out[3], ratio, x[3] == 1, count == out[3])


# What the ops table must know to group operators (see op_support/grouping.py): checks
# above that read dimensions beyond the rank (all of them, or the facts returned by a
# function of the input and output shapes), and checks that look at neighbouring ops.
EXACT_SHAPES = frozenset({"PAD", "MIRROR_PAD", "SELECT_V2", "ONE_HOT"})
SHAPE_FACTS = {"ADD": _binary_shape_facts, "MUL": _binary_shape_facts,
               "DEPTHWISE_CONV_2D": _depthwise_shape_facts}
CONTEXT_DEPENDENT = LOGICAL | {"CAST"}


def _tensor_types(ctx: OpContext) -> str:
    """IsAllAllowedTensors of GetOpsToReplace."""
    name = ctx.name
    allowed_in = set(_BASE_TYPES)
    allowed_out = set(_BASE_TYPES)
    if name in LOGICAL:
        allowed_out.add("bool")
    if name == "CAST":
        allowed_in.update(("bool", "int32"))
        allowed_out.add("int32")
    if name == "ONE_HOT":
        allowed_in.add("int32")
    for what, tensors, allowed in (("input", ctx.inputs, allowed_in),
                                   ("output", ctx.outputs, allowed_out)):
        for t in tensors:
            if t is None:
                continue
            if len(t.shape) >= 5:
                return f"{what} tensor {t.index} has rank {len(t.shape)} (max 4)"
            if not t.is_constant and t.dtype not in allowed:
                return f"{what} tensor {t.index} is {t.dtype} (GPU takes float/int8 tensors)"
    return ""


def gpu_verdict(ctx: OpContext) -> Tuple[bool, str]:
    """Decide whether the GPU delegate will take one operator.

    Parameters
    ----------
    ctx : OpContext

    Returns
    -------
    (supported, reason) : (bool, str)
        ``reason`` says which rule failed ('' when supported).
    """
    kind = ctx.kind
    if kind == "flex":
        return False, "Flex (TensorFlow) ops never run on the GPU delegate"
    if kind == "custom":
        code = ctx.op.custom_code
        if code in CUSTOM_OPS:
            return True, ""
        return False, f"custom op {code!r} is not one the GPU delegate implements"
    name = ctx.name
    check = _CHECKS.get(name)
    if check is None:
        if name in COMPATIBILITY_ONLY:
            return False, (f"{name} has no parser in the TFLite GPU delegate (only newer "
                           "LiteRT GPU backends list it)")
        return False, f"{name} is not supported by the GPU delegate"
    max_version = MAX_VERSION.get(name)
    if max_version is not None and ctx.version > max_version:
        return False, f"version {ctx.version} > {max_version}, the newest the GPU delegate takes"
    reason = check(ctx) or _tensor_types(ctx)
    return (not reason), reason
