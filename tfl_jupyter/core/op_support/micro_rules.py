"""Will TensorFlow Lite for Microcontrollers (TFLM) run this operator?

Sources (tensorflow/tflite-micro, read for this port at commit 90b983c, 2026-08-20; the
``[micro]`` extra pins the 2026-10-23 wheel, which tests/test_micro.py checks against):

* ``tensorflow/lite/micro/micro_mutable_op_resolver.h``: every builtin operator TFLM has
  a kernel for, and the ``MicroMutableOpResolver::Add...()`` call that registers it
  (:data:`RESOLVER_METHODS`); custom operators it ships (:data:`CUSTOM_METHODS`).
* ``tensorflow/lite/micro/kernels/*.cc``: the tensor types each kernel's ``Prepare`` /
  ``Eval`` accepts for its data input (:data:`DATA_TYPES`).

TFLM has no Flex runtime and no hybrid (dynamic-range) kernels: "Input type FLOAT32 with
filter type INT8 not supported" is what it says to a dynamic-range FULLY_CONNECTED.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, Optional

if TYPE_CHECKING:  # annotations only: targets.py, which the magic's help reads, stays light
    from .context import OpContext
    from .targets import OpFacts, Verdict

RESOLVER_METHODS: Dict[str, str] = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin", "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd", "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce", "CAST": "AddCast",
    "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv", "DYNAMIC_UPDATE_SLICE": "AddDynamicUpdateSlice",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup", "ELU": "AddElu", "EQUAL": "AddEqual",
    "EXP": "AddExp", "EXPAND_DIMS": "AddExpandDims", "FILL": "AddFill", "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv", "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd", "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish", "IF": "AddIf", "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D", "LEAKY_RELU": "AddLeakyRelu", "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual", "LOG": "AddLog", "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot", "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic",
    "LOG_SOFTMAX": "AddLogSoftmax", "MAXIMUM": "AddMaximum", "MAX_POOL_2D": "AddMaxPool2D",
    "MIRROR_PAD": "AddMirrorPad", "MEAN": "AddMean", "MINIMUM": "AddMinimum",
    "MUL": "AddMul", "NEG": "AddNeg", "NOT_EQUAL": "AddNotEqual", "PACK": "AddPack",
    "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable", "REDUCE_ALL": "AddReduceAll",
    "REDUCE_MAX": "AddReduceMax", "REDUCE_MIN": "AddReduceMin", "RELU": "AddRelu",
    "RELU6": "AddRelu6", "RESHAPE": "AddReshape", "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "REVERSE_V2": "AddReverseV2",
    "ROUND": "AddRound", "RSQRT": "AddRsqrt", "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape", "SIN": "AddSin", "SLICE": "AddSlice", "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQUEEZE": "AddSqueeze", "SQRT": "AddSqrt",
    "SQUARE": "AddSquare", "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf",
    "TANH": "AddTanh", "TRANSPOSE_CONV": "AddTransposeConv", "TRANSPOSE": "AddTranspose",
    "UNPACK": "AddUnpack", "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "VAR_HANDLE": "AddVarHandle", "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
}
# Custom operators with a kernel in TFLM (the signal-processing ones aside).
CUSTOM_METHODS: Dict[str, str] = {"TFLite_Detection_PostProcess": "AddDetectionPostprocess"}

_F, _I8, _I16, _I32, _I64 = "float32", "int8", "int16", "int32", "int64"
_COMMON = frozenset({_F, _I8, _I16})
_FLOAT_INT8 = frozenset({_F, _I8})
_ARITHMETIC = frozenset({_F, _I8, _I16, _I32})
_COMPARISON = frozenset({_F, _I8, _I16, _I32, _I64, "bool"})
# Types of input 0 each kernel accepts; ops missing here move bytes or hold state and
# take any type (RESHAPE, SQUEEZE, WHILE, IF, the variable ops, ...).
DATA_TYPES: Dict[str, FrozenSet[str]] = {
    "ABS": _COMMON, "ADD": _ARITHMETIC, "ADD_N": _FLOAT_INT8, "ARG_MAX": _FLOAT_INT8,
    "ARG_MIN": _FLOAT_INT8, "AVERAGE_POOL_2D": _COMMON, "BATCH_MATMUL": _COMMON,
    "BATCH_TO_SPACE_ND": _FLOAT_INT8, "CEIL": frozenset({_F}),
    "CONCATENATION": _COMPARISON, "CONV_2D": _COMMON, "COS": frozenset({_F}),
    "CUMSUM": _FLOAT_INT8, "DEPTH_TO_SPACE": _FLOAT_INT8, "DEPTHWISE_CONV_2D": _COMMON,
    "DEQUANTIZE": frozenset({_I8, _I16, "uint8"}), "DIV": frozenset({_F, _I8, _I32}),
    "ELU": _FLOAT_INT8, "EQUAL": _COMPARISON, "EXP": frozenset({_F}),
    "FLOOR": frozenset({_F}), "FLOOR_DIV": frozenset({_F}), "FLOOR_MOD": frozenset({_F}),
    "FULLY_CONNECTED": _COMMON, "GATHER": frozenset({_F, _I8, _I32}),
    "GATHER_ND": frozenset({_F, _I8, _I32}), "GREATER": _COMPARISON,
    "GREATER_EQUAL": _COMPARISON, "HARD_SWISH": _FLOAT_INT8, "L2_NORMALIZATION": _FLOAT_INT8,
    "L2_POOL_2D": frozenset({_F}), "LEAKY_RELU": _COMMON, "LESS": _COMPARISON,
    "LESS_EQUAL": _COMPARISON, "LOG": frozenset({_F}), "LOGISTIC": _COMMON,
    "LOG_SOFTMAX": _FLOAT_INT8, "MAXIMUM": _COMPARISON - {"bool"},
    "MAX_POOL_2D": _COMMON, "MEAN": _COMMON, "MINIMUM": _COMPARISON - {"bool"},
    "MIRROR_PAD": _FLOAT_INT8, "MUL": _ARITHMETIC, "NEG": _FLOAT_INT8,
    "NOT_EQUAL": _COMPARISON, "PACK": _COMPARISON - {"bool"}, "PAD": _ARITHMETIC,
    "PADV2": _ARITHMETIC, "PRELU": _COMMON,
    "QUANTIZE": frozenset({_F, _I8, _I16, _I32, "uint8"}), "REDUCE_MAX": _COMMON,
    "REDUCE_MIN": _COMMON, "RELU": _COMMON, "RELU6": _COMMON,
    "RESIZE_BILINEAR": frozenset({_F, _I8}), "RESIZE_NEAREST_NEIGHBOR": _ARITHMETIC,
    "ROUND": frozenset({_F}), "RSQRT": frozenset({_F, _I8}), "SELECT_V2": frozenset({"bool"}),
    "SIN": frozenset({_F}), "SLICE": _COMPARISON, "SOFTMAX": _COMMON,
    "SPACE_TO_BATCH_ND": _FLOAT_INT8, "SPACE_TO_DEPTH": _FLOAT_INT8, "SPLIT": _ARITHMETIC,
    "SPLIT_V": _ARITHMETIC, "SQRT": frozenset({_F}), "SQUARE": frozenset({_F}),
    "SQUARED_DIFFERENCE": _ARITHMETIC, "STRIDED_SLICE": _ARITHMETIC | {"bool"},
    "SUB": _ARITHMETIC, "SUM": _COMMON, "SVDF": _FLOAT_INT8, "TANH": _COMMON,
    "TRANSPOSE": _COMMON, "TRANSPOSE_CONV": _COMMON, "UNPACK": _ARITHMETIC,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _COMMON, "ZEROS_LIKE": frozenset({_F, _I8, _I32, _I64}),
    "LOGICAL_AND": frozenset({"bool"}), "LOGICAL_OR": frozenset({"bool"}),
    "LOGICAL_NOT": frozenset({"bool"}), "REDUCE_ALL": frozenset({"bool"}),
}


def resolver_method(op: str, custom_code: Optional[str]) -> Optional[str]:
    """The ``MicroMutableOpResolver`` method that registers an op, or None if TFLM has none.

    Parameters
    ----------
    op : str
        The op name of the ops table (``CONV_2D``; a custom op's custom code).
    custom_code : str or None
        The custom code of a custom op.
    """
    if custom_code is not None:
        return CUSTOM_METHODS.get(custom_code)
    return RESOLVER_METHODS.get(op)


def micro_verdict(ctx: OpContext, facts: OpFacts) -> Verdict:
    """Decide whether TFLite Micro's kernels take one operator.

    Parameters
    ----------
    ctx : OpContext
    facts : OpFacts
        Its ``quant_scheme`` is the op's scheme from :func:`quantization_scheme`.

    Returns
    -------
    (supported, reason) : (bool, str)
    """
    kind = ctx.kind
    if kind == "flex":
        return False, "Flex (TensorFlow) ops have no runtime on microcontrollers"
    code = ctx.op.custom_code if kind == "custom" else None
    if resolver_method(ctx.name, code) is None:
        if kind == "custom":
            return False, (f"custom op {code!r}: write a TFLMRegistration and register it "
                           "with MicroMutableOpResolver::AddCustom")
        return False, f"{ctx.name} has no TFLM kernel"
    if facts.quant_scheme == "dynamic-range":
        return False, ("no hybrid (int8 weights, float activations) kernels: quantize "
                       "fully (quantize='int8-full') or keep float weights")
    allowed = DATA_TYPES.get(ctx.name)
    x = ctx.input(0)
    if allowed is not None and x is not None and x.dtype not in allowed:
        return False, f"the {ctx.name} kernel takes {', '.join(sorted(allowed))}, not {x.dtype}"
    return True, ""
