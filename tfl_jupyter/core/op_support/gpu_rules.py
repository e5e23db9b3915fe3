"""Will the classic TFLite GPU delegate take this operator? Our port of its own rules.

"Classic" is the delegate the ``Interpreter`` API applies (``TfLiteGpuDelegateV2``), not
LiteRT's ``CompiledModel`` GPU accelerator.

Upstream read for this port: google-ai-edge/LiteRT at commit
f67457790c9c2ab67347d6fe53270e8d3df20868 (2026-08-21; the three files below are identical
at tag v2.2.0, 145c7523f, and unchanged since 2026-06-22, so they are what the pip
``ai-edge-litert`` 2.3 delegate is built from):

* ``tflite/delegates/gpu/common/model_builder.cc`` (LiteRT's fork of TensorFlow's
  ``tensorflow/lite/delegates/gpu/common/model_builder.cc``): ``NewOperationParser``
  (which operators have a parser at all), each parser's ``IsSupported`` (the highest op
  version it accepts, ``CheckMaxSupportedOpVersion``, and the checks of the CAST and
  comparison parsers, which look at neighbouring nodes), and ``GetOpsToReplace``'s
  ``IsAllAllowedTensors`` (no tensor of rank 5 or more; non-constant tensors only
  float32/float16, plus int8/uint8 because the default delegate options allow quantized
  models, plus the per-op extra types listed in ``_EXTRA_TYPES``).
* ``tflite/tools/versioning/gpu_compatibility.cc``: ``CheckGpuDelegateCompatibility``,
  the per-op checks most parsers call, with ``GpuCompatibilityFlags::kStandard`` (the
  default the delegate uses).
* Expectations ported to tests/test_gpu_rules.py from ``gpu_compatibility_test.cc`` and
  ``tflite/delegates/gpu/common/model_builder_test.cc`` (``*OperationParserTest``).

"Constant" below is upstream's ``is_const`` (``kTfLiteMmapRo``); float32 tensors made by
a DEQUANTIZE of a constant float16 tensor count as constant, as the delegate's
``FP16GraphPartitionHelper`` rewires them (see ``context.GraphView.static``).

Not modelled: the delegate by default takes only the largest partition of supported
operators (op_support/partitions.py does that), and ``Parse``-time failures other than
BATCH_MATMUL's (a node that passes ``IsSupported`` but fails ``Parse`` makes the whole
delegate fail to apply, so the model runs on the CPU).
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple

if TYPE_CHECKING:  # annotations only: targets.py, which the magic's help reads, stays light
    from .context import OpContext
    from .targets import OpFacts, Verdict

UPSTREAM = "google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868"

# model_builder.cc, NewOperationParser: every builtin with a parser, and the highest
# version its IsSupported accepts (CheckMaxSupportedOpVersion; None = no version check).
MAX_VERSION: Dict[str, Optional[int]] = {
    "AVERAGE_POOL_2D": 2, "MAX_POOL_2D": 2, "BATCH_MATMUL": None, "CAST": None,
    "CONCATENATION": 2, "CONV_2D": 6, "CUMSUM": 1, "DENSIFY": 1, "DEPTHWISE_CONV_2D": 6,
    "DEPTH_TO_SPACE": None, "DEQUANTIZE": 3, "FULLY_CONNECTED": 9, "GATHER": 1,
    "HARD_SWISH": None, "LSTM": 4, "MEAN": None, "MIRROR_PAD": 2, "PAD": 2, "PADV2": 2,
    "ONE_HOT": 1, "PACK": None, "PRELU": 1, "QUANTIZE": 2, "RELU": 2, "RELU6": 2,
    "RELU_0_TO_1": 2, "RELU_N1_TO_1": 2, "LEAKY_RELU": 2, "RESHAPE": 1,
    "RESIZE_BILINEAR": 3, "RESIZE_NEAREST_NEIGHBOR": 3, "SELECT": 1, "SELECT_V2": 1,
    "SLICE": 2, "SOFTMAX": 2, "SPACE_TO_DEPTH": 2, "SPLIT": None, "SPLIT_V": None,
    "STRIDED_SLICE": 4, "REDUCE_MAX": None, "REDUCE_MIN": None, "REDUCE_PROD": None,
    "SUM": None, "TILE": None, "TRANSPOSE": 4, "TRANSPOSE_CONV": 3, "UNPACK": None,
}
# ElementwiseOperationParser (max version 3 for MUL, 2 for the others).
UNARY_ELEMENTWISE = ("ABS", "COS", "ELU", "EXP", "FLOOR", "GELU", "LOG", "LOGISTIC", "NEG",
                     "RSQRT", "SIGN", "SIN", "SQRT", "SQUARE", "TANH")
BINARY_ELEMENTWISE = ("ADD", "ADD_N", "DIV", "EQUAL", "FLOOR_DIV", "FLOOR_MOD", "GREATER",
                      "GREATER_EQUAL", "LESS", "LESS_EQUAL", "LOGICAL_AND", "MAXIMUM",
                      "MINIMUM", "MUL", "NOT_EQUAL", "POW", "SQUARED_DIFFERENCE", "SUB")
# model_builder.cc IsLogicalCode / IsLogicalOp.
LOGICAL = frozenset({"GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "EQUAL", "NOT_EQUAL"})
for _name in UNARY_ELEMENTWISE + BINARY_ELEMENTWISE:
    MAX_VERSION[_name] = 3 if _name == "MUL" else 2

# Case labels of gpu_compatibility.cc without a parser in model_builder.cc: the classic
# delegate refuses them (other GPU backends use the same checks).
COMPATIBILITY_ONLY = frozenset({
    "ATAN2", "BITCAST", "CEIL", "DYNAMIC_UPDATE_SLICE", "EMBEDDING_LOOKUP", "LOGICAL_NOT",
    "LOGICAL_OR", "REDUCE_ALL", "REDUCE_ANY", "REVERSE_V2", "RIGHT_SHIFT", "ROUND",
    "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CBRT", "STABLEHLO_CLAMP", "STABLEHLO_REMAINDER",
    "STABLEHLO_SHIFT_LEFT", "TOPK_V2"})
# NewOperationParser's kTfLiteBuiltinCustom branch (every other custom code, Flex ops
# included, gets an UnimplementedOperationParser).
CUSTOM_OPS = frozenset({"Convolution2DTransposeBias", "MaxPoolingWithArgmax2D",
                        "MaxUnpooling2D", "Resampler"})
_CUSTOM_MAX_VERSION = {"MaxPoolingWithArgmax2D": 2}  # Pooling2DOperationParser

_FLOATS = ("float32", "float16")
_BASE_TYPES = _FLOATS + ("int8", "uint8")  # allow_quant_ops: the default options
# GetOpsToReplace: (extra input types, extra output types) per op.
_EXTRA_TYPES: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "CAST": (("bool", "int32"), ("int32", "bool")),
    "ONE_HOT": (("int32",), ()),
    "SELECT": (("bool",), ()),
    "SELECT_V2": (("bool",), ()),
    "LOGICAL_AND": (("bool",), ("bool",)),
    "GATHER": (("int32",), ()),
    **{name: ((), ("bool",)) for name in LOGICAL},
}


# -- gpu_compatibility.cc helpers -----------------------------------------------------------

def _activation(ctx: OpContext) -> str:
    """IsActivationSupported. The file's activation enum has no SIGMOID; codes the
    runtime does not know read as NONE (flatbuffer_conversions.cc ConvertActivation)."""
    act = ctx.activation
    return "fused activation SIGN_BIT is not supported" if act == "SIGN_BIT" else ""


def _io(ctx: OpContext, runtime_inputs: int, outputs: int, const_inputs: int = -1) -> str:
    """CheckInputsOutputs, or CheckInputsConstsOutputs when ``const_inputs`` >= 0."""
    runtime = len(ctx.runtime_inputs)
    if const_inputs >= 0 and len(ctx.const_inputs) != const_inputs:
        return (f"expects {const_inputs} constant input(s), the node has "
                f"{len(ctx.const_inputs)}")
    if runtime != runtime_inputs:
        return f"expects {runtime_inputs} runtime input(s), the node has {runtime}"
    if len(ctx.outputs) != outputs:
        return f"expects {outputs} output(s), the node has {len(ctx.outputs)}"
    return ""


def _one_or_two_operands(ctx: OpContext) -> str:
    """(2 runtime, 0 constant) or (1 runtime, 1 constant) inputs, and one output."""
    if _io(ctx, 2, 1, const_inputs=0) and _io(ctx, 1, 1, const_inputs=1):
        return "Op can only handle 1 or 2 operand(s)"
    return ""


def _conv_io(ctx: OpContext) -> str:
    """CheckConvolutionInputOutput."""
    runtime = len(ctx.runtime_inputs)
    if runtime < 1 or runtime > 2:
        return f"expects 1 or 2 runtime inputs, the node has {runtime}"
    if len(ctx.outputs) != 1:
        return f"expects 1 output, the node has {len(ctx.outputs)}"
    if runtime == 1 and len(ctx.inputs) < 2:
        return "the filter input is missing"
    return ""


def _positive(what: str, *values) -> str:
    """CheckStrides / CheckDilation / CheckKernels."""
    return "" if all(v > 0 for v in values) else f"{what} must be positive, got {values}"


def _dims(t) -> tuple:
    """OpSignatureTensorSpec.dims: an omitted tensor has none."""
    return () if t is None else t.shape


def _dtype(t) -> str:
    return "none" if t is None else t.dtype


def _axes_const_int32(ctx: OpContext, index: int = 1) -> str:
    """CheckAxesAreInt32Const."""
    axes = ctx.input(index)
    if not ctx.is_static(axes):
        return f"{ctx.name} is only supported with constant axes"
    if axes.dtype != "int32":
        return f"{ctx.name} supports int32 tensor for axes, the node has {axes.dtype}"
    return ""


def _element_count(shape: tuple) -> int:
    """gpu_compatibility.cc's NumElements (1 for no dims)."""
    count = 1
    for d in shape:
        count *= d
    return count


def _broadcastable(a, b) -> str:
    """CheckAddMulBroadcastCompatibility with GpuCompatibilityFlags::kStandard."""
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
            return (f"Doesn't support broadcasting - input0: [{','.join(map(str, a))}], "
                    f"input1: [{','.join(map(str, b))}]")
    return ""


# -- per-op checks: the parser's IsSupported (model_builder.cc) and what it calls ----------

def _check_add(ctx):
    if len(ctx.inputs) != 2:
        return "ADD requires two input tensors"
    return _broadcastable(_dims(ctx.inputs[0]), _dims(ctx.inputs[1]))


def _check_add_n(ctx):
    return "" if len(ctx.inputs) == 2 else "ADD_N only supports 2 inputs"


def _check_mul(ctx):
    # Since LiteRT 4633acf7f (2025-01-23) MUL no longer refuses inputs that are each
    # smaller than the other in some dimension; only different ranks are checked.
    if len(ctx.inputs) != 2:
        return "MUL requires two input tensors"
    a, b = _dims(ctx.inputs[0]), _dims(ctx.inputs[1])
    return (_broadcastable(a, b) if len(a) != len(b) else "") or _activation(ctx)


def _check_binary(ctx):
    reason = _one_or_two_operands(ctx)
    if reason:
        return reason
    return _activation(ctx) if ctx.name in ("DIV", "SUB") else ""


def _check_comparison(ctx):
    # ElementwiseOperationParser::IsSupported for IsLogicalOp: the bool result must have
    # one producer and one consumer, a CAST/SELECT/SELECT_V2 whose first output is float.
    # gpu_compatibility.cc is not consulted.
    graph = ctx.graph
    out = ctx.op.outputs[0] if ctx.op.outputs else -1
    consumers = graph.consumers.get(out, [])
    if len(consumers) != 1:
        return ("Not supported logical op case: a comparison needs exactly one consumer "
                f"(a CAST, SELECT or SELECT_V2 to float), its result has {len(consumers)}")
    nxt = graph.graph.operators[consumers[0]]
    dst = graph.tensors[nxt.outputs[0]].dtype if nxt.outputs and nxt.outputs[0] >= 0 else ""
    if nxt.is_custom or nxt.op not in ("CAST", "SELECT", "SELECT_V2") or dst not in _FLOATS:
        return ("Not supported logical op case: a comparison is only taken when its one "
                f"consumer is a CAST, SELECT or SELECT_V2 to float, not {nxt.op} to {dst}")
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


def _check_depthwise(ctx):
    # Since LiteRT 1e45e2096 (2025-10-24) a depth_multiplier != 1 is taken whatever the
    # number of input channels.
    o = ctx.options
    reason = (_conv_io(ctx) or _positive("strides", o["stride_h"], o["stride_w"])
              or _positive("dilation", o["dilation_h"], o["dilation_w"]) or _activation(ctx))
    if reason:
        return reason
    x, w, out = _dims(ctx.input(0)), _dims(ctx.input(1)), _dims(ctx.outputs[0])
    for what, dims in (("input", x), ("filter", w), ("output", out)):
        if len(dims) != 4:
            return f"{what}.dims.size != 4 (rank {len(dims)})"
    if x[0] != out[0]:
        return "input.b != output.b"
    if w[3] != out[3]:
        return "filter.i != output.c"
    if out[3] != x[3] * o["depth_multiplier"]:
        return "output.c != input.c * depth_multiplier"
    # An omitted bias (index -1) has no dims: NumElements is then 1.
    if len(ctx.inputs) > 2 and _element_count(_dims(ctx.inputs[2])) != out[3]:
        return "bias.size != output.c"
    return ""


def _check_transpose_conv(ctx):
    o = ctx.options
    return _conv_io(ctx) or _positive("strides", o["stride_h"], o["stride_w"])


def _check_fully_connected(ctx):
    o = ctx.options
    if not ctx.inputs:
        return "Expected at least 1 input"
    if o["weights_format"] != 0:
        return f"weights format {o['weights_format']} (shuffled) is not supported"
    if len(ctx.runtime_inputs) > 2:
        return "FullyConnected doesn't support more than 2 runtime inputs"
    x = ctx.input(0)
    if ctx.is_static(x):
        return "FullyConnected doesn't support constant input"
    if o["keep_num_dims"] and len(_dims(x)) != len(_dims(ctx.outputs[0])):
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
        return f"{ctx.name} block_size = 1 is a no-op"
    return "" if size > 1 else f"{ctx.name} block_size must be > 1"


def _check_pad(ctx):
    """PAD, PADV2 and MIRROR_PAD (PadOperationParser)."""
    if ctx.name == "MIRROR_PAD" and ctx.options["mode"] != 0:
        return "only REFLECT mirror padding is supported"
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    if len(ctx.inputs) < 2:
        return "paddings input missing"
    pads = _dims(ctx.inputs[1])
    if len(pads) != 2:
        return f"paddings must be 2-D, got rank {len(pads)}"
    if pads[0] not in (3, 4) or pads[1] != 2:
        return f"paddings must be 4x2 or 3x2, got {pads[0]}x{pads[1]}"
    return ""


def _check_strided_slice(ctx):
    o = ctx.options
    for mask in ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask"):
        if o[mask]:
            return f"StridedSlice does not support {mask}"
    return _slice_inputs(ctx, 4)


def _check_slice(ctx):
    return _slice_inputs(ctx, 3)


def _slice_inputs(ctx, count: int) -> str:
    """SLICE / STRIDED_SLICE: at least ``count`` inputs, the first one 3-D or 4-D."""
    if len(ctx.inputs) < count:
        return f"{ctx.name} requires {count} inputs, the node has {len(ctx.inputs)}"
    rank = len(_dims(ctx.input(0)))
    return "" if rank in (3, 4) else f"only 3-D or 4-D inputs are supported, got rank {rank}"


def _check_resize_bilinear(ctx):
    o = ctx.options
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    if o["align_corners"] and o["half_pixel_centers"]:
        return "If half_pixel_centers is True, align_corners must be False"
    return ""


def _check_cumsum(ctx):
    if len(ctx.inputs) != 2 or len(ctx.outputs) != 1:
        return "Expects 2 inputs and 1 output"
    x, axis = ctx.inputs
    if _dtype(x) not in _FLOATS or ctx.outputs[0].dtype != _dtype(x) \
            or _dtype(axis) != "int32" or not ctx.is_static(axis):
        return ("Input/output must be float type and the axis must be a constant int32 "
                f"(input {_dtype(x)}, axis {_dtype(axis)})")
    return ""


def _check_cast(ctx):
    src = _dtype(ctx.input(0))
    dst = _dtype(ctx.outputs[0]) if ctx.outputs else "none"
    if src == "bool" and dst in _FLOATS:
        # CastOperationParser::IsSupported: the bool tensor needs one producer and one
        # consumer (this CAST), and the CAST's result one consumer. Whatever produced the
        # bool, gpu_compatibility.cc then accepts bool -> float.
        graph, tensor = ctx.graph, ctx.op.inputs[0]
        producers = 1 if tensor in graph.producer else 0
        if producers != 1 or len(graph.consumers.get(tensor, [])) != 1:
            return ("Not supported cast case: the bool input needs one producing op and "
                    "no other consumer")
        if len(graph.consumers.get(ctx.op.outputs[0], [])) != 1:
            return "Cast from bool not supported for outputs (its result needs one consumer)"
    reason = _io(ctx, 1, 1)
    if reason:
        return reason
    if src == "bool" and dst in _FLOATS:
        return ""
    if src in _FLOATS and dst == "bool":
        return ""
    if src in ("float32", "int32") and dst in ("float32", "int32"):
        return ""
    return f"Not supported Cast case: {src} -> {dst}"


def _check_dequantize(ctx):
    if len(ctx.inputs) != 1 or len(ctx.outputs) != 1:
        return "Expected 1 input & output each from Dequantize"
    return "int16 dequantization is not supported" if _dtype(ctx.input(0)) == "int16" else ""


def _check_reduce(ctx):
    """MEAN, SUM, REDUCE_MAX / MIN / PROD."""
    return _io(ctx, 1, 1, const_inputs=1) or _axes_const_int32(ctx)


def _check_batch_matmul(ctx):
    if len(ctx.inputs) != 2 or len(ctx.outputs) != 1:
        return f"Expected 2 inputs and 1 output, got {len(ctx.inputs)} and {len(ctx.outputs)}"
    # IsSupported stops here; BatchedMatMulOperationParser::Parse then refuses the cases
    # below ("Not supported batched mat mul case"), and a Parse failure makes the whole
    # delegate fail to apply: kept, as the op then never runs on the GPU.
    runtime = len(ctx.runtime_inputs)
    second = ctx.input(1)
    if runtime == 1 and not (ctx.is_static(second) and len(second.shape) == 2):
        return ("Not supported batched mat mul case: with one runtime input the second "
                "must be a constant 2-D tensor (the delegate fails to build otherwise)")
    if runtime not in (1, 2):
        return "Not supported batched mat mul case: no runtime input"
    return ""


def _check_gather(ctx):
    reason = _one_or_two_operands(ctx)
    if reason:
        return reason
    indices = ctx.input(1)
    if len(_dims(indices)) != 1:
        return f"Only support 1D indices (rank {len(_dims(indices))})"
    return "" if _dtype(indices) == "int32" else f"Only accept INT32 indices, got {_dtype(indices)}"


def _check_select(ctx):
    """SELECT and SELECT_V2 (CheckSelectV2GpuDelegateCompatibility)."""
    if len(ctx.inputs) != 3 or len(ctx.outputs) != 1:
        return "Expected 3 inputs and 1 output"
    error = ("Cond must be float or bool type, if, else tensors must either be the same "
             "shape as output or constant, scalar")
    cond = ctx.inputs[0]
    if _dtype(cond) not in _FLOATS + ("bool",):
        return f"{error} (cond is {_dtype(cond)})"
    out, cond_dims = _dims(ctx.outputs[0]), _dims(cond)
    if cond_dims:
        offset = len(out) - len(cond_dims)
        if offset < 0 or any(c != out[offset + i] and c != 1 for i, c in enumerate(cond_dims)):
            return f"{error} (cond {list(cond_dims)} does not broadcast to {list(out)})"
    for what, t in (("if", ctx.inputs[1]), ("else", ctx.inputs[2])):
        dims = _dims(t)
        if dims and dims != out and (len(dims) > 1 or dims[0] > 1):
            return f"{error} ({what} {list(dims)}, output {list(out)})"
        if not ctx.is_static(t) and len(dims) == 2:
            return f"2-D {what} tensor only supported if constant"
    return ""


def _check_one_hot(ctx):
    if len(ctx.inputs) != 4 or len(ctx.outputs) != 1:
        return "Expects 4 inputs and 1 output"
    error = ("Indices must be int32 type, on/off tensors must be constant, scalar, float "
             "type, axis must be -1 or last dim")
    indices = ctx.inputs[0]
    if _dtype(indices) != "int32":
        return error
    dims = _dims(indices)
    axis = ctx.options["axis"]
    if axis != -1 and (not dims or axis != dims[-1]):
        return error
    for i in range(len(dims) - 1):
        if len(dims) > 3 and i == 0:
            continue
        if dims[i] != 1:
            return f"Unsupported non-singleton dim at {i}"
    on, off = ctx.inputs[2], ctx.inputs[3]
    if _dtype(on) != "float32" or _dtype(off) != "float32":
        return error
    for t in (on, off):
        if not ctx.is_static(t) or len(t.shape) > 1 or (t.shape and t.shape[0] > 1):
            return error
    return ""


def _check_lstm(ctx):
    o = ctx.options
    if o["kernel_type"] == 0:  # FULL
        if len(ctx.inputs) not in (20, 24):
            return f"full LSTM expects 20 or 24 inputs, the node has {len(ctx.inputs)}"
        if len(ctx.outputs) != 1:
            return "full LSTM expects 1 output"
        if ctx.activation != "TANH":  # SIGMOID, also accepted, has no code in the file
            return f"only sigmoid/tanh activation is supported, got {ctx.activation}"
        return ""
    reason = _io(ctx, 3, 4, const_inputs=2)
    if reason:
        return reason
    depth = _dims(ctx.outputs[3])
    if depth and depth[-1] % 4:
        return f"BasicLSTM activation depth must be a multiple of 4 (got {depth[-1]})"
    if ctx.activation != "TANH":
        return "basic LSTM supports only TANH activation"
    if o["cell_clip"] or o["proj_clip"]:
        return "cell_clip / proj_clip are not supported"
    return ""


def _ok(ctx):
    return ""


_CHECKS: Dict[str, Callable[[OpContext], str]] = {
    "ADD": _check_add, "ADD_N": _check_add_n, "MUL": _check_mul,
    "AVERAGE_POOL_2D": _check_pool, "MAX_POOL_2D": _check_pool,
    "BATCH_MATMUL": _check_batch_matmul, "CAST": _check_cast, "CONCATENATION": _ok,
    "CONV_2D": _check_conv, "CUMSUM": _check_cumsum, "DENSIFY": lambda ctx: _io(ctx, 0, 1),
    "DEPTHWISE_CONV_2D": _check_depthwise, "DEPTH_TO_SPACE": _check_block,
    "SPACE_TO_DEPTH": _check_block, "DEQUANTIZE": _check_dequantize,
    "FULLY_CONNECTED": _check_fully_connected, "GATHER": _check_gather,
    "HARD_SWISH": lambda ctx: _io(ctx, 1, 1), "LSTM": _check_lstm, "MEAN": _check_reduce,
    "ONE_HOT": _check_one_hot, "PACK": _ok, "PAD": _check_pad, "PADV2": _check_pad,
    "MIRROR_PAD": _check_pad, "PRELU": _ok, "QUANTIZE": lambda ctx: _io(ctx, 1, 1),
    # ReLUOperationParser: a version check only.
    "RELU": _ok, "RELU6": _ok, "RELU_0_TO_1": _ok, "RELU_N1_TO_1": _ok, "LEAKY_RELU": _ok,
    "RESHAPE": lambda ctx: _io(ctx, 1, 1), "RESIZE_BILINEAR": _check_resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": lambda ctx: _io(ctx, 1, 1), "SELECT": _check_select,
    "SELECT_V2": _check_select, "SLICE": _check_slice, "SOFTMAX": _check_softmax,
    "SPLIT": _ok, "SPLIT_V": _ok, "STRIDED_SLICE": _check_strided_slice,
    "REDUCE_MAX": _check_reduce, "REDUCE_MIN": _check_reduce, "REDUCE_PROD": _check_reduce,
    "SUM": _check_reduce, "TILE": lambda ctx: _io(ctx, 1, 1),
    "TRANSPOSE": lambda ctx: _io(ctx, 1, 1), "TRANSPOSE_CONV": _check_transpose_conv,
    "UNPACK": _ok,  # UnpackOperationParser::IsSupported always passes
}
for _name in UNARY_ELEMENTWISE:
    _CHECKS[_name] = _check_unary
for _name in LOGICAL:
    _CHECKS[_name] = _check_comparison
for _name in BINARY_ELEMENTWISE:
    _CHECKS.setdefault(_name, _check_binary)


# -- custom operators (CheckCustomOpsGpuDelegateCompatibility) ------------------------------
# Their parameters are the raw C structs the parsers read from ``custom_initial_data``
# (the op's custom_options bytes): TfLitePoolParams = {padding, stride_width,
# stride_height, filter_width, filter_height, activation, ...} and
# TfLiteTransposeConvParams = {padding, stride_width, stride_height, ...}, int32 each.

def _custom_ints(ctx: OpContext, count: int, struct_name: str):
    data = bytes(ctx.op.custom_options or b"")
    if not data:
        return None, "Unable to retrieve custom_initial_data (no custom options)"
    if len(data) < 4 * count:
        return None, f"custom options too short for {struct_name} ({len(data)} bytes)"
    return struct.unpack_from(f"<{count}i", data), ""


def _check_custom_pooling(ctx):  # MaxPoolingWithArgmax2D
    values, reason = _custom_ints(ctx, 6, "TfLitePoolParams")
    if reason:
        return reason
    _, stride_w, stride_h, filter_w, filter_h, activation = values
    return (_io(ctx, 1, 2) or _positive("kernel size", filter_h, filter_w)
            or _positive("strides", stride_h, stride_w)
            or ("fused activation SIGN_BIT is not supported" if activation == 5 else ""))


def _check_custom_unpooling(ctx):  # MaxUnpooling2D
    reason = _io(ctx, 2, 1)
    if reason:
        return reason
    values, reason = _custom_ints(ctx, 5, "TfLitePoolParams")
    if reason:
        return reason
    _, stride_w, stride_h, filter_w, filter_h = values
    return (_positive("kernel size", filter_h, filter_w)
            or _positive("strides", stride_h, stride_w))


def _check_custom_transpose_conv(ctx):  # Convolution2DTransposeBias
    if len(ctx.inputs) < 2:
        return "the filter input is missing"
    values, reason = _custom_ints(ctx, 3, "TfLiteTransposeConvParams")
    return reason or _positive("strides", values[2], values[1])


def _check_resampler(ctx):
    reason = _io(ctx, 2, 1)
    if reason:
        return reason
    src, warp = _dims(ctx.input(0)), _dims(ctx.input(1))
    if len(src) != 4 or len(warp) != 4:
        return "src or warp dims size != 4"
    if src[0] != warp[0]:
        return "src.b != warp.b"
    return "warp.c < 2" if warp[3] < 2 else ""


_CUSTOM_CHECKS: Dict[str, Callable[[OpContext], str]] = {
    "Convolution2DTransposeBias": _check_custom_transpose_conv,
    "MaxPoolingWithArgmax2D": _check_custom_pooling,
    "MaxUnpooling2D": _check_custom_unpooling,
    "Resampler": _check_resampler,
}


# -- what the ops table must know to group operators (see op_support/grouping.py) ----------

def _binary_shape_facts(inputs: tuple, outputs: tuple) -> tuple:
    """What _check_add / _check_mul read of the input shapes, beyond their ranks."""
    if len(inputs) != 2 or None in inputs:
        return ()
    a, b = inputs
    return (a, b) if len(a) > 1 and len(b) > 1 and len(a) != len(b) else ()


def _depthwise_shape_facts(inputs: tuple, outputs: tuple) -> tuple:
    """What _check_depthwise reads of the shapes, beyond their ranks."""
    x, w = (tuple(inputs) + (None, None))[:2]
    out = outputs[0] if outputs else None
    if x is None or w is None or out is None or not len(x) == len(w) == len(out) == 4:
        return ()
    count = _element_count(inputs[2] or ()) if len(inputs) > 2 else None
    # out[3] == x[3] * depth_multiplier, for any multiplier, is decided by these:
    ratio = (out[3] % x[3] == 0, out[3] // x[3]) if x[3] else (out[3] == 0,)
    return (x[0] == out[0], w[3] == out[3], ratio, count == out[3])


# Checks above that read dimensions beyond the rank (all of them, or the facts returned
# by a function of the input and output shapes), and checks that look at neighbouring
# ops or at custom options (judged one operator at a time).
EXACT_SHAPES = frozenset({"PAD", "PADV2", "MIRROR_PAD", "SELECT", "SELECT_V2", "ONE_HOT",
                          "LSTM"})
SHAPE_FACTS = {"ADD": _binary_shape_facts, "MUL": _binary_shape_facts,
               "DEPTHWISE_CONV_2D": _depthwise_shape_facts}
CONTEXT_DEPENDENT = LOGICAL | {"CAST"} | CUSTOM_OPS


def _tensor_types(ctx: OpContext) -> str:
    """IsAllAllowedTensors of GetOpsToReplace."""
    extra_in, extra_out = _EXTRA_TYPES.get(ctx.name, ((), ())) if ctx.kind == "builtin" \
        else ((), ())
    for what, tensors, allowed in (("input", ctx.inputs, _BASE_TYPES + extra_in),
                                   ("output", ctx.outputs, _BASE_TYPES + extra_out)):
        for t in tensors:
            if t is None:
                continue
            if len(t.shape) >= 5:
                return f"{what} tensor {t.index} has rank {len(t.shape)} (max 4)"
            if not t.is_constant and t.dtype not in allowed:
                return (f"{what} tensor {t.index} is {t.dtype} (OP is supported, but tensor "
                        f"type isn't compatible: {ctx.name} takes {'/'.join(allowed)})")
    return ""


def gpu_verdict(ctx: OpContext, facts: Optional[OpFacts] = None) -> Verdict:
    """Decide whether the GPU delegate will take one operator.

    Parameters
    ----------
    ctx : OpContext
    facts : OpFacts, optional
        The registry's one verdict signature (see targets.py); these rules need only ``ctx``.

    Returns
    -------
    (supported, reason) : (bool, str)
        ``reason`` says which rule failed ('' when supported).
    """
    kind = ctx.kind
    if kind == "flex":
        return False, "Flex (TensorFlow) ops never run on the GPU delegate"
    name = ctx.name
    if kind == "custom":
        code = ctx.op.custom_code
        check = _CUSTOM_CHECKS.get(code)
        if check is None:
            return False, f"custom op {code!r} is not one the GPU delegate implements"
        max_version = _CUSTOM_MAX_VERSION.get(code)
    else:
        check = _CHECKS.get(name)
        if check is None:
            if name in COMPATIBILITY_ONLY:
                return False, (f"{name} has no parser in the classic GPU delegate "
                               "(model_builder.cc); only gpu_compatibility.cc lists it")
            return False, f"{name} is not supported by the GPU delegate"
        max_version = MAX_VERSION.get(name)
    if max_version is not None and ctx.version > max_version:
        return False, f"version {ctx.version} > {max_version}, the newest the GPU delegate takes"
    reason = check(ctx) or _tensor_types(ctx)
    return (not reason), reason
