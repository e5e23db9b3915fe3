"""The classic GPU delegate's rules (op_support/gpu_rules.py), one table of cases per rule.

Expectations come from the delegate's source, google-ai-edge/LiteRT at f67457790c9c
(``tflite/delegates/gpu/common/model_builder.cc``, ``tflite/tools/versioning/
gpu_compatibility.cc``), and port the cases of its ``model_builder_test.cc``
(``*OperationParserTest.TestIsSupported``) and ``gpu_compatibility_test.cc``. Graphs are
either converted with TensorFlow (conftest_ops.gpu_case) or hand-written with the
schema's object API (gpu_rule_models.Net) where the converter cannot make them.
"""
from __future__ import annotations

import pytest

from tfl_jupyter.core.op_support import gpu_rules, ops_table
from tfl_jupyter.core.op_support.context import GraphView, OpContext
from tfl_jupyter.core.op_support.gpu_rules import gpu_verdict
from tfl_jupyter.core.tflite_reader import read_model

import conftest_ops as models
from gpu_rule_models import Net, options, pool_params, transpose_conv_params

pytest.importorskip("ai_edge_litert.schema_py_generated")

IMG = (1, 4, 4, 3)
SIGN_BIT, RELU, TANH = 5, 1, 4


def verdicts(data: bytes) -> list:
    """(op name, (supported, reason)) of every operator of the main graph."""
    model = read_model(data)
    graph = model.subgraphs[0]
    view = GraphView(model, graph)
    return [(op.op, gpu_verdict(OpContext(op, view))) for op in graph.operators]


def R(shape=IMG, dtype="float32"):
    """A runtime tensor."""
    return (tuple(shape), dtype, None)


def C(shape=IMG, dtype="float32", value=1):
    """A constant tensor."""
    return (tuple(shape), dtype, value)


def one(name, inputs, outputs=(R(),), version=1, opts=None, custom=None):
    """A graph of one operator; ``None`` in ``inputs`` is an omitted input (-1)."""
    def build():
        net = Net()
        ins = [-1 if spec is None else net.t(*spec) for spec in inputs]
        outs = [net.t(*spec) for spec in outputs]
        net.op(name, ins, outs, version, opts, custom)
        return net.build()
    return build


def chain(*steps, outputs=None):
    """A graph of several operators: ``steps[0]`` maps one-letter keys to tensor specs,
    each further step is (name, input keys, output keys[, options])."""
    def build():
        net, made = Net(), {}
        specs = steps[0]
        for key, spec in specs.items():
            made[key] = net.t(*spec)
        for step in steps[1:]:
            name, ins, outs = step[:3]
            net.op(name, [made[k] for k in ins], [made[k] for k in outs],
                   options=step[3] if len(step) > 3 else None)
        return net.build([made[k] for k in outputs] if outputs else None)
    return build


def case(id, build, supported, reason="", index=0):
    return pytest.param(build, index, supported, reason, id=id)


def conv_opts(stride=1, dilation=1, act=0):
    return options("Conv2D", strideW=stride, strideH=stride, dilationWFactor=dilation,
                   dilationHFactor=dilation, fusedActivationFunction=act)


def dw_opts(mult=1, stride=1, dilation=1, act=0):
    return options("DepthwiseConv2D", strideW=stride, strideH=stride, depthMultiplier=mult,
                   dilationWFactor=dilation, dilationHFactor=dilation,
                   fusedActivationFunction=act)


def pool_opts(stride=1, filter=2, act=0):
    return options("Pool2D", strideW=stride, strideH=stride, filterWidth=filter,
                   filterHeight=filter, fusedActivationFunction=act)


def lstm(kernel, n_inputs, act=TANH, last_output=(2, 8), version=1, cell_clip=0.0):
    if kernel == "full":  # 20/24 inputs, most omitted, one output
        ins = [R((1, 8))] + [C((4, 8))] * 8 + [None] * 3 + [C((4,))] * 4 + [None, None]
        ins += [R((1, 4)), R((1, 4))] + [None] * 4
        ins, outs = ins[:n_inputs], [R((1, 4))]
        kernel_type = 0
    else:  # basic: 3 runtime + 2 constant inputs, four outputs
        ins = [R((1, 8)), C((16, 12)), C((16,)), R((1, 4)), R((1, 4))][:n_inputs]
        outs = [R((1, 4)), R((1, 4)), R((1, 4)), R(last_output)]
        kernel_type = 1
    return one("LSTM", ins, outs, version, options(
        "LSTM", fusedActivationFunction=act, kernelType=kernel_type, cellClip=cell_clip))


NO_PARSER = "has no parser in the classic GPU delegate"

CASES = [
    # -- NewOperationParser: which ops have a parser ------------------------------------
    case("add_n_2_inputs", one("ADD_N", [R(), R()]), True),
    case("add_n_3_inputs", one("ADD_N", [R(), R(), R()]), False, "ADD_N only supports 2 inputs"),
    case("gelu", one("GELU", [R()]), True),
    case("gelu_v3", one("GELU", [R()], version=3), False, "version 3 > 2"),
    case("sign", one("SIGN", [R()]), True),
    case("sign_two_inputs", one("SIGN", [R(), R()]), False, "expects 1 runtime input(s)"),
    case("unpack", one("UNPACK", [R((1, 3, 4))], [R((1, 4))] * 3), True),
    case("unpack_int32", one("UNPACK", [R((1, 3, 4), "int32")], [R((1, 4), "int32")] * 3),
         False, "int32"),
    case("reverse_v2", one("REVERSE_V2", [R(), C((1,), "int32")]), False, NO_PARSER),
    case("topk_v2", one("TOPK_V2", [R(), C((), "int32", 2)], [R(), R(IMG, "int32")]),
         False, NO_PARSER),
    case("ceil", one("CEIL", [R()]), False, NO_PARSER),
    case("round", one("ROUND", [R()]), False, NO_PARSER),
    case("logical_or", one("LOGICAL_OR", [R(IMG, "bool")] * 2, [R(IMG, "bool")]), False,
         NO_PARSER),
    # gpu_compatibility_test.cc Conv3DModel: "Not supported op CONV_3D"
    case("conv_3d", one("CONV_3D", [R((1, 2, 4, 4, 3)), C((1, 1, 1, 3, 2))],
                        [R((1, 2, 4, 4, 2))]), False, "CONV_3D is not supported"),
    case("l2_pool", one("L2_POOL_2D", [R()], opts=pool_opts()), False, "not supported"),
    # gpu_compatibility_test.cc FlexModel: "Not supported custom op FlexAddV2"
    case("flex_op", one("FlexAddV2", [R(), R()], custom=b""), False, "Flex"),
    case("unknown_custom_op", one("MyKernel", [R()], custom=b""), False,
         "not one the GPU delegate implements"),

    # -- ElementwiseOperationParser: unary (1 runtime, 0 constant, 1 output) -------------
    case("abs", one("ABS", [R()]), True),
    case("abs_v3", one("ABS", [R()], version=3), False, "version 3 > 2"),
    case("abs_two_inputs", one("ABS", [R(), R()]), False, "expects 1 runtime input(s)"),
    case("abs_constant_input", one("ABS", [C()]), False, "expects 0 constant input(s)"),
    case("tanh", one("TANH", [R()], version=2), True),
    case("tanh_int32", one("TANH", [R(IMG, "int32")], [R(IMG, "int32")]), False, "int32"),
    case("hard_swish", one("HARD_SWISH", [R()]), True),
    case("hard_swish_two_inputs", one("HARD_SWISH", [R(), R()]), False,
         "expects 1 runtime input(s)"),
    # -- binary: 1 or 2 operands; DIV / SUB activation ------------------------------------
    case("div", one("DIV", [R(), R()], version=2), True),
    case("div_v3", one("DIV", [R(), R()], version=3), False, "version 3 > 2"),
    case("div_one_input", one("DIV", [R()]), False, "Op can only handle 1 or 2 operand(s)"),
    case("div_sign_bit", one("DIV", [R(), R()], opts=options("Div", fusedActivationFunction=
                                                              SIGN_BIT)), False, "SIGN_BIT"),
    case("sub_with_constant", one("SUB", [R(), C()]), True),
    case("sub_sign_bit", one("SUB", [R(), C()], opts=options("Sub", fusedActivationFunction=
                                                             SIGN_BIT)), False, "SIGN_BIT"),
    case("maximum_two_constants", one("MAXIMUM", [C(), C()]), False, "1 or 2 operand(s)"),
    case("squared_difference", one("SQUARED_DIFFERENCE", [R(), R()]), True),
    case("squared_difference_v3", one("SQUARED_DIFFERENCE", [R(), R()], version=3), False,
         "version 3 > 2"),
    case("logical_and_bool", one("LOGICAL_AND", [R(IMG, "bool")] * 2, [R(IMG, "bool")]),
         True),
    case("logical_and_int32", one("LOGICAL_AND", [R(IMG, "int32")] * 2, [R(IMG, "bool")]),
         False, "int32"),
    # -- ADD: CheckAddMulBroadcastCompatibility, kStandard (gpu_compatibility_test.cc) -----
    case("add", one("ADD", [R(), R()], version=2), True),
    case("add_v3", one("ADD", [R(), R()], version=3), False, "version 3 > 2"),
    case("add_1d_to_3d", one("ADD", [R((4, 1, 2)), R((2,))], [R((4, 1, 2))]), True),
    case("add_2d_to_3d", one("ADD", [R((1, 100, 256)), R((100, 256))], [R((1, 100, 256))]),
         False, "Doesn't support broadcasting - input0: [1,100,256], input1: [100,256]"),
    case("add_3d_to_4d_batch_4", one("ADD", [R((4, 1, 1, 2)), R((1, 1, 2))],
                                     [R((4, 1, 1, 2))]),
         False, "Doesn't support broadcasting - input0: [4,1,1,2], input1: [1,1,2]"),
    case("add_3d_to_4d", one("ADD", [R((1, 128, 513, 3)), R((128, 513, 3))],
                             [R((1, 128, 513, 3))]), True),
    case("add_2d_1x1_to_4d", one("ADD", [R((1, 512, 512, 1)), R((1, 1))],
                                 [R((1, 512, 512, 1))]), True),
    case("add_2d_1x1_to_4d_b", one("ADD", [R((1, 384, 384, 3)), R((1, 1))],
                                   [R((1, 384, 384, 3))]), True),
    case("add_2d_bc_to_4d", one("ADD", [R((1, 4, 4, 10)), R((1, 10))], [R((1, 4, 4, 10))]),
         True),
    case("add_2d_to_4d_other", one("ADD", [R((1, 4, 4, 10)), R((2, 5))], [R((1, 4, 4, 10))]),
         False, "Doesn't support broadcasting"),
    case("add_int32", one("ADD", [R(IMG, "int32")] * 2, [R(IMG, "int32")]), False, "int32"),
    case("add_rank_5", one("ADD", [R((1, 2, 2, 2, 3))] * 2, [R((1, 2, 2, 2, 3))]), False,
         "rank 5"),
    # -- MUL: max version 3; broadcast only checked for different ranks -------------------
    case("mul_v3", one("MUL", [R(), R()], version=3), True),
    case("mul_v4", one("MUL", [R(), R()], version=4), False, "version 4 > 3"),
    case("mul_sign_bit", one("MUL", [R(), R()], opts=options("Mul", fusedActivationFunction=
                                                              SIGN_BIT)), False, "SIGN_BIT"),
    case("mul_relu", one("MUL", [R(), R()], opts=options("Mul", fusedActivationFunction=RELU)),
         True),
    # model_builder_test.cc MulOperationParserTest: each input smaller somewhere is valid
    case("mul_each_smaller", one("MUL", [R((256, 1, 1, 1)), R((1, 256, 1, 1))],
                                 [R((256, 256, 1, 1))]), True),
    case("mul_3d_by_2d", one("MUL", [R((1, 100, 256)), R((100, 256))], [R((1, 100, 256))]),
         False, "Doesn't support broadcasting"),

    # -- comparisons: one consumer, a CAST / SELECT / SELECT_V2 to float ------------------
    case("greater_to_cast", chain({"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R()},
                                  ("GREATER", "xy", "m"), ("CAST", "m", "f")), True),
    case("greater_to_select_v2", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "z": R()},
        ("GREATER", "xy", "m"), ("SELECT_V2", "mxy", "z")), True),
    case("greater_to_select", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "z": R()},
        ("GREATER", "xy", "m"), ("SELECT", "mxy", "z")), True),
    case("greater_to_int_cast", chain({"x": R(), "y": R(), "m": R(IMG, "bool"),
                                       "i": R(IMG, "int32")},
                                      ("GREATER", "xy", "m"), ("CAST", "m", "i")),
         False, "not CAST to int32"),
    case("greater_to_logical_and", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "n": R(IMG, "bool"), "o": R(IMG, "bool")},
        ("GREATER", "xy", "m"), ("LOGICAL_AND", "mn", "o")), False, "not LOGICAL_AND"),
    case("greater_two_consumers", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R(), "g": R()},
        ("GREATER", "xy", "m"), ("CAST", "m", "f"), ("CAST", "m", "g")), False,
        "its result has 2"),
    case("greater_model_output", one("GREATER", [R(), R()], [R(IMG, "bool")]), False,
         "its result has 0"),
    case("equal_to_cast", chain({"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R()},
                                ("EQUAL", "xy", "m"), ("CAST", "m", "f")), True),
    # model_builder_test.cc LogicalElementwiseOperationParserTest: version 3 refused
    case("equal_v3", one("EQUAL", [R(), R()], [R(IMG, "bool")], version=3), False,
         "version 3 > 2"),
    case("less_int32_inputs", chain({"x": R(IMG, "int32"), "y": R(IMG, "int32"),
                                     "m": R(IMG, "bool"), "f": R()},
                                    ("LESS", "xy", "m"), ("CAST", "m", "f")), False, "int32"),

    # -- CAST (CastOperationParser, then gpu_compatibility.cc) ---------------------------
    case("cast_float_to_int32", one("CAST", [R()], [R(IMG, "int32")]), True),
    case("cast_int32_to_float", one("CAST", [R(IMG, "int32")], [R()]), True),
    case("cast_int8_to_float", one("CAST", [R(IMG, "int8")], [R()]), False,
         "Not supported Cast case: int8 -> float32"),
    case("cast_float_to_bool", one("CAST", [R()], [R(IMG, "bool")]), True),
    case("cast_float16_to_float", one("CAST", [R(IMG, "float16")], [R()]), False,
         "Not supported Cast case: float16 -> float32"),
    case("cast_two_inputs", one("CAST", [R(), R()], [R(IMG, "int32")]), False,
         "expects 1 runtime input(s)"),
    case("cast_bool_after_comparison", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R(), "g": R()},
        ("GREATER", "xy", "m"), ("CAST", "m", "f"), ("ABS", "f", "g")), True, index=1),
    case("cast_bool_after_logical_and", chain(
        {"a": R(IMG, "bool"), "b": R(IMG, "bool"), "m": R(IMG, "bool"), "f": R(), "g": R()},
        ("LOGICAL_AND", "ab", "m"), ("CAST", "m", "f"), ("ABS", "f", "g")), True, index=1),
    case("cast_bool_from_graph_input", chain({"m": R(IMG, "bool"), "f": R(), "g": R()},
                                             ("CAST", "m", "f"), ("ABS", "f", "g")),
         False, "Not supported cast case"),
    case("cast_bool_read_twice", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R(), "g": R(), "h": R()},
        ("GREATER", "xy", "m"), ("CAST", "m", "f"), ("ABS", "f", "g"),
        ("SELECT_V2", "mxy", "h")), False, "Not supported cast case", index=1),
    case("cast_bool_model_output", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R()},
        ("GREATER", "xy", "m"), ("CAST", "m", "f")), False,
        "Cast from bool not supported for outputs", index=1),
    case("cast_bool_result_read_twice", chain(
        {"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R(), "g": R(), "h": R()},
        ("GREATER", "xy", "m"), ("CAST", "m", "f"), ("ABS", "f", "g"), ("NEG", "f", "h")),
        False, "Cast from bool not supported for outputs", index=1),

    # -- GATHER: 1 or 2 operands, 1-D int32 indices, version 1 ---------------------------
    case("gather_const_params", one("GATHER", [C((3, 2)), R((4,), "int32")], [R((4, 2))]), True),
    case("gather_runtime_params", one("GATHER", [R((3, 2)), R((4,), "int32")], [R((4, 2))]),
         True),
    case("gather_const_indices", one("GATHER", [R((3, 2)), C((4,), "int32", 0)], [R((4, 2))]),
         True),
    case("gather_int64", one("GATHER", [C((3, 2)), R((4,), "int64")], [R((4, 2))]), False,
         "Only accept INT32 indices, got int64"),
    case("gather_float_indices", one("GATHER", [C((3, 2)), R((4,))], [R((4, 2))]), False,
         "Only accept INT32 indices, got float32"),
    case("gather_2d_indices", one("GATHER", [C((3, 2)), R((2, 2), "int32")], [R((2, 2, 2))]),
         False, "Only support 1D indices"),
    case("gather_three_runtime", one("GATHER", [R((3, 2)), R((4,), "int32"), R((1,), "int32")],
                                     [R((4, 2))]), False, "1 or 2 operand(s)"),
    case("gather_v2", one("GATHER", [C((3, 2)), R((4,), "int32")], [R((4, 2))], version=2),
         False, "version 2 > 1"),

    # -- PAD / PADV2 / MIRROR_PAD (PadOperationParser, max version 2) ---------------------
    case("pad", one("PAD", [R(), C((4, 2), "int32", 0)]), True),
    case("pad_3x2", one("PAD", [R((1, 4, 3)), C((3, 2), "int32", 0)], [R((1, 4, 3))]), True),
    case("pad_4x1", one("PAD", [R(), C((4, 1), "int32", 0)]), False, "4x2 or 3x2, got 4x1"),
    case("pad_3d_paddings", one("PAD", [R(), C((4, 2, 1), "int32", 0)]), False,
         "paddings must be 2-D"),
    case("pad_runtime_paddings", one("PAD", [R(), R((4, 2), "int32")]), False,
         "expects 1 runtime input(s), the node has 2"),
    case("pad_v3", one("PAD", [R(), C((4, 2), "int32", 0)], version=3), False, "version 3 > 2"),
    case("padv2", one("PADV2", [R(), C((4, 2), "int32", 0), C((), "float32", 0)], version=2),
         True),
    case("padv2_v3", one("PADV2", [R(), C((4, 2), "int32", 0), C((), "float32", 0)],
                         version=3), False, "version 3 > 2"),
    case("padv2_4x1", one("PADV2", [R(), C((4, 1), "int32", 0), C((), "float32", 0)]),
         False, "4x2 or 3x2"),
    case("mirror_pad_reflect", one("MIRROR_PAD", [R(), C((4, 2), "int32", 0)],
                                   opts=options("MirrorPad", mode=0)), True),
    case("mirror_pad_symmetric", one("MIRROR_PAD", [R(), C((4, 2), "int32", 0)],
                                     opts=options("MirrorPad", mode=1)), False, "REFLECT"),
    case("mirror_pad_v3", one("MIRROR_PAD", [R(), C((4, 2), "int32", 0)], version=3,
                              opts=options("MirrorPad", mode=0)), False, "version 3 > 2"),

    # -- SELECT / SELECT_V2 (SelectV2OperationParser; model_builder_test.cc) -------------
    case("select_bool_cond", one("SELECT", [R(IMG, "bool"), R(), R()]), True),
    case("select_v2_parser_version", one("SELECT", [R(IMG, "bool"), R(), R()], version=2),
         False, "version 2 > 1"),
    case("select_v2_int32_cond", one("SELECT_V2", [R(IMG, "int32"), R(), R()]), False,
         "cond is int32"),
    case("select_v2_float_cond", one("SELECT_V2", [R(), R(), R()]), True),
    case("select_v2_cond_broadcast_else_1111", one(
        "SELECT_V2", [R((1, 2, 1, 4)), R((1, 2, 3, 4)), R((1, 1, 1, 1))], [R((1, 2, 3, 4))]),
        False, "else [1, 1, 1, 1]"),
    case("select_v2_cond_broadcast", one(
        "SELECT_V2", [R((1, 2, 1, 4)), R((1, 2, 3, 4)), R((1, 2, 3, 4))], [R((1, 2, 3, 4))]),
        True),
    case("select_v2_cond_not_broadcast", one(
        "SELECT_V2", [R((1, 2, 2, 4)), R((1, 2, 3, 4)), R((1, 2, 3, 4))], [R((1, 2, 3, 4))]),
        False, "does not broadcast"),
    case("select_v2_cond_higher_rank", one(
        "SELECT_V2", [R((1, 2, 2)), R((2, 2)), C((2, 2))], [R((2, 2))]), False,
        "does not broadcast"),
    case("select_v2_scalar_else", one("SELECT_V2", [R(IMG, "bool"), R(), C((), "float32")]),
         True),
    case("select_v2_if_2x2_vs_4d", one(
        "SELECT_V2", [R((1, 2, 3, 4), "bool"), R((2, 2)), R((1, 2, 3, 4))], [R((1, 2, 3, 4))]),
        False, "if [2, 2]"),
    case("select_v2_runtime_2d_if", one(
        "SELECT_V2", [R((2, 2), "bool"), R((2, 2)), C((2, 2))], [R((2, 2))]), False,
        "2-D if tensor only supported if constant"),
    case("select_v2_constant_2d_branches", one(
        "SELECT_V2", [R((2, 2), "bool"), C((2, 2)), C((2, 2))], [R((2, 2))]), True),
    case("select_v2_runtime_2d_else", one(
        "SELECT_V2", [R((2, 2), "bool"), C((2, 2)), R((2, 2))], [R((2, 2))]), False,
        "2-D else tensor only supported if constant"),
    case("select_v2_int32_runtime_branches", one(
        "SELECT_V2", [R(IMG, "bool"), R(IMG, "int32"), R(IMG, "int32")], [R(IMG, "int32")]),
        False, "int32"),
    case("select_v2_two_inputs", one("SELECT_V2", [R(IMG, "bool"), R()]), False,
         "Expected 3 inputs and 1 output"),

    # -- ONE_HOT (max version 1) ---------------------------------------------------------
    case("one_hot", one("ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5),
                                    C((), "float32", 1), C((), "float32", 0)],
                        [R((1, 1, 3, 5))], opts=options("OneHot", axis=-1)), True),
    case("one_hot_axis_equals_last_dim", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), C((), "float32", 1),
                    C((), "float32", 0)], [R((1, 1, 5, 3))], opts=options("OneHot", axis=3)),
        True),
    case("one_hot_axis_0", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), C((), "float32", 1),
                    C((), "float32", 0)], [R((5, 1, 1, 3))], opts=options("OneHot", axis=0)),
        False, "axis must be -1 or last dim"),
    case("one_hot_non_singleton", one(
        "ONE_HOT", [R((1, 2, 3), "int32"), C((), "int32", 5), C((), "float32", 1),
                    C((), "float32", 0)], [R((1, 2, 3, 5))], opts=options("OneHot", axis=-1)),
        False, "Unsupported non-singleton dim at 1"),
    case("one_hot_float_indices", one(
        "ONE_HOT", [R((1, 1, 3)), C((), "int32", 5), C((), "float32", 1),
                    C((), "float32", 0)], [R((1, 1, 3, 5))], opts=options("OneHot", axis=-1)),
        False, "Indices must be int32"),
    case("one_hot_runtime_on_value", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), R((), "float32"),
                    C((), "float32", 0)], [R((1, 1, 3, 5))], opts=options("OneHot", axis=-1)),
        False, "on/off tensors must be constant"),
    case("one_hot_vector_off_value", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), C((), "float32", 1),
                    C((2,), "float32", 0)], [R((1, 1, 3, 5))], opts=options("OneHot", axis=-1)),
        False, "on/off tensors must be constant"),
    case("one_hot_three_inputs", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), C((), "float32", 1)],
        [R((1, 1, 3, 5))], opts=options("OneHot", axis=-1)), False, "Expects 4 inputs"),
    case("one_hot_v2", one(
        "ONE_HOT", [R((1, 1, 3), "int32"), C((), "int32", 5), C((), "float32", 1),
                    C((), "float32", 0)], [R((1, 1, 3, 5))], version=2,
        opts=options("OneHot", axis=-1)), False, "version 2 > 1"),

    # -- CUMSUM (max version 1; CumsumOperationParserTest) --------------------------------
    case("cumsum", one("CUMSUM", [R((1, 8)), C((), "int32", 1)], [R((1, 8))]), True),
    case("cumsum_runtime_axis", one("CUMSUM", [R((1, 8)), R((), "int32")], [R((1, 8))]), False,
         "axis must be a constant int32"),
    case("cumsum_float_axis", one("CUMSUM", [R((1, 8)), C((), "float32", 1)], [R((1, 8))]),
         False, "axis must be a constant int32"),
    case("cumsum_int32_input", one("CUMSUM", [R((1, 8), "int32"), C((), "int32", 1)],
                                   [R((1, 8), "int32")]), False, "must be float"),
    case("cumsum_three_inputs", one("CUMSUM", [R((1, 8)), C((), "int32", 1), R((1, 8))],
                                    [R((1, 8))]), False, "Expects 2 inputs and 1 output"),
    case("cumsum_v2", one("CUMSUM", [R((1, 8)), C((), "int32", 1)], [R((1, 8))], version=2),
         False, "version 2 > 1"),

    # -- MEAN / SUM / REDUCE_*: 1 runtime + 1 constant int32 axes -------------------------
    case("mean", one("MEAN", [R(), C((2,), "int32", 1)], [R((1, 1, 1, 3))]), True),
    case("mean_runtime_axes", one("MEAN", [R(), R((2,), "int32")], [R((1, 1, 1, 3))]), False,
         "expects 1 constant input(s), the node has 0"),
    case("mean_float_axes", one("MEAN", [R(), C((2,), "float32", 1)], [R((1, 1, 1, 3))]), False,
         "supports int32 tensor for axes"),
    case("mean_three_inputs", one("MEAN", [R(), C((2,), "int32", 1), R((2,), "int32")],
                                  [R((1, 1, 1, 3))]), False,
         "expects 1 runtime input(s), the node has 2"),
    case("sum", one("SUM", [R(), C((1,), "int32", 3)], [R((1, 4, 4, 1))]), True),
    case("sum_runtime_axes", one("SUM", [R(), R((1,), "int32")], [R((1, 4, 4, 1))]), False,
         "expects 1 constant input(s)"),
    case("reduce_max", one("REDUCE_MAX", [R(), C((1,), "int32", 3)], [R((1, 4, 4, 1))]), True),
    case("reduce_max_int64_axes", one("REDUCE_MAX", [R(), C((1,), "int64", 3)],
                                      [R((1, 4, 4, 1))]), False, "supports int32 tensor"),
    case("reduce_min", one("REDUCE_MIN", [R(), C((1,), "int32", 3)], [R((1, 4, 4, 1))]), True),
    case("reduce_min_runtime_axes", one("REDUCE_MIN", [R(), R((1,), "int32")],
                                        [R((1, 4, 4, 1))]), False, "expects 1 constant"),
    case("reduce_prod", one("REDUCE_PROD", [R(), C((1,), "int32", 3)], [R((1, 4, 4, 1))]),
         True),
    case("reduce_prod_constant_input", one("REDUCE_PROD", [C(), C((1,), "int32", 3)],
                                           [R((1, 4, 4, 1))]), False,
         "expects 1 constant input(s), the node has 2"),

    # -- pooling (Pooling2DOperationParser, max version 2) --------------------------------
    case("average_pool", one("AVERAGE_POOL_2D", [R()], opts=pool_opts(act=TANH), version=2),
         True),
    case("average_pool_v3", one("AVERAGE_POOL_2D", [R()], opts=pool_opts(), version=3), False,
         "version 3 > 2"),
    case("average_pool_filter_0", one("AVERAGE_POOL_2D", [R()], opts=pool_opts(filter=0)),
         False, "kernel size must be positive"),
    case("average_pool_stride_0", one("AVERAGE_POOL_2D", [R()], opts=pool_opts(stride=0)),
         False, "strides must be positive"),
    case("average_pool_sign_bit", one("AVERAGE_POOL_2D", [R()], opts=pool_opts(act=SIGN_BIT)),
         False, "SIGN_BIT"),
    case("average_pool_two_inputs", one("AVERAGE_POOL_2D", [R(), R()], opts=pool_opts()),
         False, "expects 1 runtime input(s)"),
    case("max_pool", one("MAX_POOL_2D", [R()], opts=pool_opts()), True),
    case("max_pool_filter_0", one("MAX_POOL_2D", [R()], opts=pool_opts(filter=0)), False,
         "kernel size"),

    # -- CONV_2D (max version 6) ---------------------------------------------------------
    case("conv", one("CONV_2D", [R(), C((8, 3, 3, 3)), C((8,))], [R((1, 4, 4, 8))],
                     opts=conv_opts(act=RELU), version=6), True),
    case("conv_v7", one("CONV_2D", [R(), C((8, 3, 3, 3)), C((8,))], [R((1, 4, 4, 8))],
                        opts=conv_opts(), version=7), False, "version 7 > 6"),
    case("conv_stride_0", one("CONV_2D", [R(), C((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                              opts=conv_opts(stride=0)), False, "strides must be positive"),
    case("conv_dilation_0", one("CONV_2D", [R(), C((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                                opts=conv_opts(dilation=0)), False, "dilation must be positive"),
    case("conv_sign_bit", one("CONV_2D", [R(), C((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                              opts=conv_opts(act=SIGN_BIT)), False, "SIGN_BIT"),
    # flatbuffer_conversions.cc ConvertActivation: a code the runtime does not know is NONE
    case("conv_unknown_activation", one("CONV_2D", [R(), C((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                                        opts=conv_opts(act=9)), True),
    case("conv_runtime_weights", one("CONV_2D", [R(), R((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                                     opts=conv_opts()), True),
    case("conv_three_runtime", one("CONV_2D", [R(), R((8, 3, 3, 3)), R((8,))],
                                   [R((1, 4, 4, 8))], opts=conv_opts()), False,
         "expects 1 or 2 runtime inputs, the node has 3"),
    case("conv_no_runtime_input", one("CONV_2D", [C(), C((8, 3, 3, 3))], [R((1, 4, 4, 8))],
                                      opts=conv_opts()), False,
         "expects 1 or 2 runtime inputs, the node has 0"),
    case("conv_no_filter", one("CONV_2D", [R()], [R((1, 4, 4, 8))], opts=conv_opts()), False,
         "the filter input is missing"),

    # -- DEPTHWISE_CONV_2D (max version 6) -----------------------------------------------
    case("depthwise", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))], [R()],
                          opts=dw_opts(act=RELU), version=6), True),
    case("depthwise_v7", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))], [R()],
                             opts=dw_opts(), version=7), False, "version 7 > 6"),
    case("depthwise_stride_0", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))], [R()],
                                   opts=dw_opts(stride=0)), False, "strides"),
    case("depthwise_dilation_0", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))],
                                     [R()], opts=dw_opts(dilation=0)), False, "dilation"),
    case("depthwise_sign_bit", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))], [R()],
                                   opts=dw_opts(act=SIGN_BIT)), False, "SIGN_BIT"),
    case("depthwise_multiplier_0", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((3,))],
                                       [R()], opts=dw_opts(mult=0)), False,
         "output.c != input.c * depth_multiplier"),
    # LiteRT 1e45e2096: depth_multiplier 2 on 3 input channels is taken
    case("depthwise_multiplier_2", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 6)), C((6,))],
                                       [R((1, 4, 4, 6))], opts=dw_opts(mult=2)), True),
    case("depthwise_bias_size", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), C((5,))], [R()],
                                    opts=dw_opts()), False, "bias.size != output.c"),
    case("depthwise_omitted_bias", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 3)), None], [R()],
                                       opts=dw_opts()), False, "bias.size != output.c"),
    case("depthwise_omitted_bias_1_channel", one(
        "DEPTHWISE_CONV_2D", [R((1, 4, 4, 1)), C((1, 3, 3, 1)), None], [R((1, 4, 4, 1))],
        opts=dw_opts()), True),
    case("depthwise_batch", one("DEPTHWISE_CONV_2D", [R((2, 4, 4, 3)), C((1, 3, 3, 3))], [R()],
                                opts=dw_opts()), False, "input.b != output.b"),
    case("depthwise_filter_channels", one("DEPTHWISE_CONV_2D", [R(), C((1, 3, 3, 4))], [R()],
                                          opts=dw_opts()), False, "filter.i != output.c"),
    case("depthwise_3d_input", one("DEPTHWISE_CONV_2D", [R((4, 4, 3)), C((1, 3, 3, 3))], [R()],
                                   opts=dw_opts()), False, "input.dims.size != 4"),

    # -- TRANSPOSE_CONV (max version 3) --------------------------------------------------
    case("transpose_conv", one("TRANSPOSE_CONV", [C((4,), "int32", 8), C((3, 3, 3, 3)), R()],
                               [R((1, 8, 8, 3))], version=3,
                               opts=options("TransposeConv", strideW=2, strideH=2)), True),
    case("transpose_conv_v4", one("TRANSPOSE_CONV", [C((4,), "int32", 8), C((3, 3, 3, 3)), R()],
                                  [R((1, 8, 8, 3))], version=4,
                                  opts=options("TransposeConv", strideW=2, strideH=2)),
         False, "version 4 > 3"),
    case("transpose_conv_stride_0", one(
        "TRANSPOSE_CONV", [C((4,), "int32", 8), C((3, 3, 3, 3)), R()], [R((1, 8, 8, 3))],
        opts=options("TransposeConv", strideW=0, strideH=1)), False, "strides"),
    case("transpose_conv_three_runtime", one(
        "TRANSPOSE_CONV", [R((4,), "int32"), R((3, 3, 3, 3)), R()], [R((1, 8, 8, 3))],
        opts=options("TransposeConv", strideW=2, strideH=2)), False, "the node has 3"),

    # -- FULLY_CONNECTED (max version 9) -------------------------------------------------
    case("fully_connected", one("FULLY_CONNECTED", [R((1, 8)), C((4, 8)), C((4,))], [R((1, 4))],
                                version=9), True),
    case("fully_connected_v10", one("FULLY_CONNECTED", [R((1, 8)), C((4, 8)), C((4,))],
                                    [R((1, 4))], version=10), False, "version 10 > 9"),
    case("fully_connected_three_runtime", one("FULLY_CONNECTED", [R((1, 8)), R((4, 8)),
                                                                  R((4,))], [R((1, 4))]),
         False, "more than 2 runtime inputs"),
    case("fully_connected_shuffled", one(
        "FULLY_CONNECTED", [R((1, 8)), C((4, 8)), C((4,))], [R((1, 4))],
        opts=options("FullyConnected", weightsFormat=1)), False, "shuffled"),
    # gpu_compatibility_test.cc FCConstInput
    case("fully_connected_const_input", one("FULLY_CONNECTED", [C((1, 8)), R((4, 8))],
                                            [R((1, 4))]), False,
         "FullyConnected doesn't support constant input"),
    case("fully_connected_keep_num_dims", one(
        "FULLY_CONNECTED", [R((1, 2, 8)), C((4, 8))], [R((1, 2, 4))],
        opts=options("FullyConnected", keepNumDims=True)), True),
    case("fully_connected_keep_num_dims_rank", one(
        "FULLY_CONNECTED", [R((1, 2, 8)), C((4, 8))], [R((2, 4))],
        opts=options("FullyConnected", keepNumDims=True)), False, "keep_num_dims"),

    # -- BATCH_MATMUL (IsSupported: 2 inputs, 1 output; Parse: see gpu_rules) -------------
    case("batch_matmul", one("BATCH_MATMUL", [R((1, 2, 8)), R((1, 8, 4))], [R((1, 2, 4))]),
         True),
    case("batch_matmul_const_2d", one("BATCH_MATMUL", [R((1, 2, 8)), C((8, 4))],
                                      [R((1, 2, 4))]), True),
    case("batch_matmul_const_3d", one("BATCH_MATMUL", [R((1, 2, 8)), C((1, 8, 4))],
                                      [R((1, 2, 4))]), False, "Not supported batched mat mul"),
    case("batch_matmul_three_inputs", one("BATCH_MATMUL", [R((1, 2, 8))] * 3, [R((1, 2, 4))]),
         False, "Expected 2 inputs and 1 output"),

    # -- SOFTMAX, DEPTH_TO_SPACE, SPACE_TO_DEPTH -----------------------------------------
    case("softmax", one("SOFTMAX", [R((1, 8))], [R((1, 8))], version=2,
                        opts=options("Softmax", beta=1.0)), True),
    case("softmax_beta_2", one("SOFTMAX", [R((1, 8))], [R((1, 8))],
                               opts=options("Softmax", beta=2.0)), False, "beta=2"),
    case("softmax_v3", one("SOFTMAX", [R((1, 8))], [R((1, 8))], version=3,
                           opts=options("Softmax", beta=1.0)), False, "version 3 > 2"),
    case("depth_to_space", one("DEPTH_TO_SPACE", [R((1, 2, 2, 12))], [R((1, 4, 4, 3))],
                               opts=options("DepthToSpace", blockSize=2)), True),
    case("depth_to_space_block_1", one("DEPTH_TO_SPACE", [R()], [R()],
                                       opts=options("DepthToSpace", blockSize=1)), False,
         "block_size = 1 is a no-op"),
    case("depth_to_space_const_input", one("DEPTH_TO_SPACE", [C((1, 2, 2, 12))],
                                           [R((1, 4, 4, 3))],
                                           opts=options("DepthToSpace", blockSize=2)),
         False, "expects 1 runtime input(s), the node has 0"),
    case("space_to_depth", one("SPACE_TO_DEPTH", [R()], [R((1, 2, 2, 12))], version=2,
                               opts=options("SpaceToDepth", blockSize=2)), True),
    case("space_to_depth_block_0", one("SPACE_TO_DEPTH", [R()], [R()],
                                       opts=options("SpaceToDepth", blockSize=0)), False,
         "block_size must be > 1"),
    case("space_to_depth_v3", one("SPACE_TO_DEPTH", [R()], [R((1, 2, 2, 12))], version=3,
                                  opts=options("SpaceToDepth", blockSize=2)), False,
         "version 3 > 2"),

    # -- DEQUANTIZE / QUANTIZE -----------------------------------------------------------
    case("dequantize_int8", one("DEQUANTIZE", [R(IMG, "int8")], version=3), True),
    case("dequantize_v4", one("DEQUANTIZE", [R(IMG, "int8")], version=4), False,
         "version 4 > 3"),
    case("dequantize_int16", one("DEQUANTIZE", [R(IMG, "int16")]), False, "int16"),
    case("dequantize_two_inputs", one("DEQUANTIZE", [R(IMG, "int8")] * 2), False,
         "Expected 1 input & output"),
    case("quantize", one("QUANTIZE", [R()], [R(IMG, "int8")], version=2), True),
    case("quantize_v3", one("QUANTIZE", [R()], [R(IMG, "int8")], version=3), False,
         "version 3 > 2"),
    case("quantize_two_inputs", one("QUANTIZE", [R(), R()], [R(IMG, "int8")]), False,
         "expects 1 runtime input(s)"),

    # -- RESHAPE / RESIZE_* / SLICE / STRIDED_SLICE / TRANSPOSE / TILE ---------------------
    case("reshape", one("RESHAPE", [R(), C((2,), "int32", 1)], [R((1, 48))]), True),
    case("reshape_v2", one("RESHAPE", [R(), C((2,), "int32", 1)], [R((1, 48))], version=2),
         False, "version 2 > 1"),
    case("reshape_runtime_shape", one("RESHAPE", [R(), R((2,), "int32")], [R((1, 48))]), False,
         "expects 1 runtime input(s), the node has 2"),
    case("resize_bilinear", one("RESIZE_BILINEAR", [R(), C((2,), "int32", 8)], [R((1, 8, 8, 3))],
                                version=3), True),
    case("resize_bilinear_v4", one("RESIZE_BILINEAR", [R(), C((2,), "int32", 8)],
                                   [R((1, 8, 8, 3))], version=4), False, "version 4 > 3"),
    case("resize_bilinear_runtime_size", one("RESIZE_BILINEAR", [R(), R((2,), "int32")],
                                             [R((1, 8, 8, 3))]), False,
         "expects 1 runtime input(s)"),
    case("resize_bilinear_align_and_half", one(
        "RESIZE_BILINEAR", [R(), C((2,), "int32", 8)], [R((1, 8, 8, 3))],
        opts=options("ResizeBilinear", alignCorners=True, halfPixelCenters=True)), False,
        "half_pixel_centers"),
    case("resize_bilinear_half_pixel", one(
        "RESIZE_BILINEAR", [R(), C((2,), "int32", 8)], [R((1, 8, 8, 3))],
        opts=options("ResizeBilinear", halfPixelCenters=True)), True),
    case("resize_bilinear_align_corners", one(
        "RESIZE_BILINEAR", [R(), C((2,), "int32", 8)], [R((1, 8, 8, 3))],
        opts=options("ResizeBilinear", alignCorners=True)), True),
    case("resize_nearest_align_and_half", one(
        "RESIZE_NEAREST_NEIGHBOR", [R(), C((2,), "int32", 8)], [R((1, 8, 8, 3))], version=3,
        opts=options("ResizeNearestNeighbor", alignCorners=True, halfPixelCenters=True)), True),
    case("resize_nearest_v4", one("RESIZE_NEAREST_NEIGHBOR", [R(), C((2,), "int32", 8)],
                                  [R((1, 8, 8, 3))], version=4), False, "version 4 > 3"),
    case("resize_nearest_runtime_size", one("RESIZE_NEAREST_NEIGHBOR", [R(), R((2,), "int32")],
                                            [R((1, 8, 8, 3))]), False,
         "expects 1 runtime input(s)"),
    case("slice", one("SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1)],
                      [R((1, 1, 1, 1))], version=2), True),
    case("slice_v3", one("SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1)],
                         [R((1, 1, 1, 1))], version=3), False, "version 3 > 2"),
    case("slice_two_inputs", one("SLICE", [R(), C((4,), "int32", 0)], [R((1, 1, 1, 1))]), False,
         "requires 3 inputs"),
    case("slice_2d", one("SLICE", [R((4, 4)), C((2,), "int32", 0), C((2,), "int32", 1)],
                         [R((1, 1))]), False, "only 3-D or 4-D inputs"),
    case("strided_slice_v4", one("STRIDED_SLICE", [R(), C((4,), "int32", 0),
                                                   C((4,), "int32", 1), C((4,), "int32", 1)],
                                 [R((1, 1, 1, 1))], version=4), True),
    case("strided_slice_v5", one("STRIDED_SLICE", [R(), C((4,), "int32", 0),
                                                   C((4,), "int32", 1), C((4,), "int32", 1)],
                                 [R((1, 1, 1, 1))], version=5), False, "version 5 > 4"),
    case("strided_slice_three_inputs", one(
        "STRIDED_SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1)], [R((1, 1, 1, 1))]),
        False, "requires 4 inputs"),
    case("strided_slice_2d", one(
        "STRIDED_SLICE", [R((4, 4)), C((2,), "int32", 0), C((2,), "int32", 1),
                          C((2,), "int32", 1)], [R((1, 1))]), False, "only 3-D or 4-D"),
    case("strided_slice_shrink_axis", one(
        "STRIDED_SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1), C((4,), "int32", 1)],
        [R((1, 1, 1))], opts=options("StridedSlice", shrinkAxisMask=1)), False,
        "shrink_axis_mask"),
    case("strided_slice_ellipsis", one(
        "STRIDED_SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1), C((4,), "int32", 1)],
        [R((1, 1, 1, 1))], opts=options("StridedSlice", ellipsisMask=1)), False,
        "ellipsis_mask"),
    case("strided_slice_new_axis", one(
        "STRIDED_SLICE", [R(), C((4,), "int32", 0), C((4,), "int32", 1), C((4,), "int32", 1)],
        [R((1, 1, 1, 1))], opts=options("StridedSlice", newAxisMask=1)), False,
        "new_axis_mask"),
    case("transpose_v4", one("TRANSPOSE", [R(), C((4,), "int32", 0)], version=4), True),
    case("transpose_v5", one("TRANSPOSE", [R(), C((4,), "int32", 0)], version=5), False,
         "version 5 > 4"),
    case("transpose_runtime_perm", one("TRANSPOSE", [R(), R((4,), "int32")]), False,
         "expects 1 runtime input(s), the node has 2"),
    case("tile", one("TILE", [R(), C((4,), "int32", 1)]), True),
    case("tile_runtime_multiples", one("TILE", [R(), R((4,), "int32")]), False,
         "expects 1 runtime input(s)"),

    # -- ops whose parser only checks the version (or nothing) ---------------------------
    case("concatenation", one("CONCATENATION", [R(), R()], [R((1, 4, 4, 6))], version=2,
                              opts=options("Concatenation", axis=3)), True),
    case("concatenation_v3", one("CONCATENATION", [R(), R()], [R((1, 4, 4, 6))], version=3),
         False, "version 3 > 2"),
    case("pack", one("PACK", [R((4, 3)), R((4, 3))], [R((2, 4, 3))]), True),
    case("pack_int32", one("PACK", [R((4, 3), "int32")] * 2, [R((2, 4, 3), "int32")]), False,
         "int32"),
    case("split", one("SPLIT", [C((), "int32", 3), R((1, 4, 4, 4))], [R((1, 4, 4, 2))] * 2),
         True),
    case("split_rank_5", one("SPLIT", [C((), "int32", 4), R((1, 1, 4, 4, 4))],
                             [R((1, 1, 4, 4, 2))] * 2), False, "rank 5"),
    case("split_v", one("SPLIT_V", [R((1, 4, 4, 4)), C((2,), "int32", 2), C((), "int32", 3)],
                        [R((1, 4, 4, 2))] * 2), True),
    case("split_v_int8", one("SPLIT_V", [R((1, 4, 4, 4), "int8"), C((2,), "int32", 2),
                                         C((), "int32", 3)], [R((1, 4, 4, 2), "int8")] * 2),
         True),
    case("split_v_int16", one("SPLIT_V", [R((1, 4, 4, 4), "int16"), C((2,), "int32", 2),
                                          C((), "int32", 3)], [R((1, 4, 4, 2), "int16")] * 2),
         False, "int16"),
    case("prelu", one("PRELU", [R(), C((1, 1, 3))]), True),
    case("prelu_v2", one("PRELU", [R(), C((1, 1, 3))], version=2), False, "version 2 > 1"),
    case("relu", one("RELU", [R()], version=2), True),
    case("relu_v3", one("RELU", [R()], version=3), False, "version 3 > 2"),
    case("relu6", one("RELU6", [R()], version=2), True),
    case("relu6_v3", one("RELU6", [R()], version=3), False, "version 3 > 2"),
    case("relu_0_to_1", one("RELU_0_TO_1", [R()]), True),
    case("relu_0_to_1_v3", one("RELU_0_TO_1", [R()], version=3), False, "version 3 > 2"),
    case("relu_n1_to_1", one("RELU_N1_TO_1", [R()], version=2), True),
    case("relu_n1_to_1_v3", one("RELU_N1_TO_1", [R()], version=3), False, "version 3 > 2"),
    case("leaky_relu", one("LEAKY_RELU", [R()], version=2), True),
    case("leaky_relu_v3", one("LEAKY_RELU", [R()], version=3), False, "version 3 > 2"),
    case("densify", one("DENSIFY", [C((4, 4))], [R((4, 4))]), True),
    case("densify_v2", one("DENSIFY", [C((4, 4))], [R((4, 4))], version=2), False,
         "version 2 > 1"),
    case("densify_runtime_input", one("DENSIFY", [R((4, 4))], [R((4, 4))]), False,
         "expects 0 runtime input(s)"),

    # -- LSTM (max version 4; LSTMOperationParserTest, gpu_compatibility_test.cc) --------
    case("lstm_full_24_inputs", lstm("full", 24), True),
    case("lstm_full_20_inputs", lstm("full", 20), True),
    case("lstm_full_v5", lstm("full", 24, version=5), False, "version 5 > 4"),
    case("lstm_full_relu", lstm("full", 24, act=RELU), False, "only sigmoid/tanh"),
    case("lstm_full_one_input", lstm("full", 1), False, "expects 20 or 24 inputs"),
    case("lstm_basic_depth_8", lstm("basic", 5, last_output=(2, 8)), True),
    case("lstm_basic_depth_5", lstm("basic", 5, last_output=(2, 5)), False,
         "BasicLSTM activation depth must be a multiple of 4"),
    case("lstm_basic_relu", lstm("basic", 5, act=RELU), False, "only TANH"),
    case("lstm_basic_cell_clip", lstm("basic", 5, cell_clip=3.0), False, "cell_clip"),
    case("lstm_basic_four_inputs", lstm("basic", 4), False, "expects 3 runtime input(s)"),

    # -- custom ops (CheckCustomOpsGpuDelegateCompatibility) -----------------------------
    case("resampler", one("Resampler", [R(), R((1, 4, 4, 2))], custom=b""), True),
    # gpu_compatibility_test.cc ResamplerMismatchedBatch / ResamplerInvalidChannels
    case("resampler_batch", one("Resampler", [R((2, 4, 4, 3)), R((1, 4, 4, 2))],
                                [R((2, 4, 4, 3))], custom=b""), False, "src.b != warp.b"),
    case("resampler_warp_channels", one("Resampler", [R(), R((1, 4, 4, 1))], custom=b""),
         False, "warp.c < 2"),
    case("resampler_one_input", one("Resampler", [R()], custom=b""), False,
         "expects 2 runtime input(s)"),
    case("max_unpooling", one("MaxUnpooling2D", [R(), R()], [R((1, 8, 8, 3))],
                              custom=pool_params()), True),
    case("max_unpooling_no_options", one("MaxUnpooling2D", [R(), R()], [R((1, 8, 8, 3))],
                                         custom=b""), False, "custom_initial_data"),
    case("max_unpooling_filter_0", one("MaxUnpooling2D", [R(), R()], [R((1, 8, 8, 3))],
                                       custom=pool_params(filter=(0, 1))), False, "kernel size"),
    case("max_unpooling_stride_0", one("MaxUnpooling2D", [R(), R()], [R((1, 8, 8, 3))],
                                       custom=pool_params(stride=(1, 0))), False, "strides"),
    case("max_unpooling_one_input", one("MaxUnpooling2D", [R()], [R((1, 8, 8, 3))],
                                        custom=pool_params()), False,
         "expects 2 runtime input(s)"),
    case("max_pooling_with_argmax", one("MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))],
                                        [R(), R()], version=2, custom=pool_params()), True),
    case("max_pooling_with_argmax_v3", one("MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))],
                                           [R(), R()], version=3, custom=pool_params()),
         False, "version 3 > 2"),
    case("max_pooling_with_argmax_filter_0", one(
        "MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))], [R(), R()],
        custom=pool_params(filter=(0, 0))), False, "kernel size"),
    case("max_pooling_with_argmax_sign_bit", one(
        "MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))], [R(), R()],
        custom=pool_params(activation=SIGN_BIT)), False, "SIGN_BIT"),
    case("max_pooling_with_argmax_one_output", one(
        "MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))], [R()], custom=pool_params()), False,
        "expects 2 output(s)"),
    case("max_pooling_with_argmax_int32_indices", one(
        "MaxPoolingWithArgmax2D", [R((1, 8, 8, 3))], [R(), R(IMG, "int32")],
        custom=pool_params()), False, "int32"),
    case("transpose_conv_bias", one("Convolution2DTransposeBias", [R(), C((3, 3, 3, 3)), C((3,))],
                                    [R((1, 8, 8, 3))], custom=transpose_conv_params()), True),
    case("transpose_conv_bias_stride_0", one(
        "Convolution2DTransposeBias", [R(), C((3, 3, 3, 3)), C((3,))], [R((1, 8, 8, 3))],
        custom=transpose_conv_params(stride=(1, 0))), False, "strides"),
    case("transpose_conv_bias_no_options", one(
        "Convolution2DTransposeBias", [R(), C((3, 3, 3, 3)), C((3,))], [R((1, 8, 8, 3))],
        custom=b""), False, "custom_initial_data"),
    case("transpose_conv_bias_one_input", one(
        "Convolution2DTransposeBias", [R()], [R((1, 8, 8, 3))],
        custom=transpose_conv_params()), False, "the filter input is missing"),
]


@pytest.mark.parametrize("build, index, supported, reason", CASES)
def test_rule(build, index, supported, reason):
    name, (ok, why) = verdicts(build())[index]
    assert (ok, bool(why)) == (supported, not supported), (name, why)
    assert reason in why, (name, why)


# Every builtin with a parser in model_builder.cc's NewOperationParser, and the custom ops
# of its kCustom branch: each must be shown taken by at least one case above.
UPSTREAM_PARSERS = {
    "ABS", "ADD", "ADD_N", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION",
    "CONV_2D", "COS", "CUMSUM", "DENSIFY", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "DIV", "EQUAL", "ELU", "EXP", "FLOOR", "FLOOR_DIV", "FLOOR_MOD",
    "FULLY_CONNECTED", "GATHER", "GELU", "GREATER", "GREATER_EQUAL", "HARD_SWISH", "LESS",
    "LESS_EQUAL", "LOGISTIC", "LOG", "LOGICAL_AND", "LSTM", "MAXIMUM", "MAX_POOL_2D", "MEAN",
    "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "ONE_HOT", "PACK", "PAD", "PADV2",
    "POW", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "QUANTIZE", "RELU", "RELU6",
    "RELU_0_TO_1", "RELU_N1_TO_1", "LEAKY_RELU", "PRELU", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SELECT", "SELECT_V2", "SIGN", "SIN", "SLICE",
    "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE", "SQUARED_DIFFERENCE",
    "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TRANSPOSE", "TRANSPOSE_CONV", "UNPACK",
}
# Those whose parser takes every version (no CheckMaxSupportedOpVersion).
UNVERSIONED = {"BATCH_MATMUL", "CAST", "DEPTH_TO_SPACE", "HARD_SWISH", "MEAN", "PACK",
               "SPLIT", "SPLIT_V", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "SUM", "TILE",
               "UNPACK"}


def test_parsers_are_upstreams():
    assert set(gpu_rules.MAX_VERSION) == UPSTREAM_PARSERS
    assert {op for op, v in gpu_rules.MAX_VERSION.items() if v is None} == UNVERSIONED
    assert gpu_rules.CUSTOM_OPS == {"Convolution2DTransposeBias", "MaxPoolingWithArgmax2D",
                                    "MaxUnpooling2D", "Resampler"}
    assert not gpu_rules.COMPATIBILITY_ONLY & UPSTREAM_PARSERS


ELEMENTWISE_ONLY_BY_LIST = {"COS", "ELU", "EXP", "FLOOR", "FLOOR_DIV", "FLOOR_MOD", "LOG",
                            "LOGISTIC", "NEG", "RSQRT", "SIN", "SQRT", "SQUARE", "POW",
                            "MINIMUM", "MAXIMUM", "GREATER_EQUAL", "LESS", "LESS_EQUAL",
                            "NOT_EQUAL"}


def test_every_parser_has_a_taken_and_a_refused_case():
    """Each upstream parser (and custom op) appears in CASES both taken and refused; the
    elementwise ops that share ABS's / DIV's / GREATER's rule are checked just below."""
    taken, refused = set(), set()
    for param in CASES:
        build, index, supported, _ = param.values
        name = verdicts(build())[index][0]
        (taken if supported else refused).add(name)
    wanted = (UPSTREAM_PARSERS | gpu_rules.CUSTOM_OPS) - ELEMENTWISE_ONLY_BY_LIST
    assert not wanted - taken, sorted(wanted - taken)
    assert not wanted - refused, sorted(wanted - refused)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_ONLY_BY_LIST))
def test_elementwise_ops_share_their_rule(name):
    """The other ElementwiseOperationParser ops: taken as ABS / DIV / GREATER are, refused
    above version 2."""
    if name in gpu_rules.LOGICAL:
        build = chain({"x": R(), "y": R(), "m": R(IMG, "bool"), "f": R()},
                      (name, "xy", "m"), ("CAST", "m", "f"))
        bare = one(name, [R(), R()], [R(IMG, "bool")])
        assert not verdicts(bare())[0][1][0]
    elif name in gpu_rules.UNARY_ELEMENTWISE:
        build = one(name, [R()])
        assert not verdicts(one(name, [R(), R()])())[0][1][0]
    else:
        build = one(name, [R(), C()])
        assert not verdicts(one(name, [R()])())[0][1][0]
    assert verdicts(build())[0][1] == (True, "")
    too_new = verdicts(one(name, [R(), R()], [R(IMG, "bool")], version=3)())[0][1]
    assert too_new == (False, "version 3 > 2, the newest the GPU delegate takes")


@pytest.mark.parametrize("name", sorted(gpu_rules.COMPATIBILITY_ONLY | {"WHILE", "L2_POOL_2D"}))
def test_ops_without_a_parser_are_refused(name):
    ok, why = verdicts(one(name, [R()])())[0][1]
    assert not ok and ("no parser" in why or "not supported" in why)


# -- real models converted with TensorFlow -------------------------------------------------

TF_CASES = [
    ("add_n_2", "ADD_N", True, ""),
    ("add_n_3", "ADD_N", False, "ADD_N only supports 2 inputs"),
    ("gather_int32", "GATHER", True, ""),
    ("gather_int64", "GATHER", False, "Only accept INT32 indices"),
    ("gelu", "GELU", True, ""),
    ("sign", "SIGN", True, ""),
    ("logical_and", "LOGICAL_AND", True, ""),
    ("logical_and", "CAST", True, ""),  # bool from LOGICAL_AND, one producer, one consumer
    ("logical_and", "GREATER", False, "not LOGICAL_AND"),
    ("padv2", "PADV2", True, ""),
    ("select_bool", "SELECT", True, ""),
    ("select_2d", "SELECT", False, "2-D if tensor only supported if constant"),
    ("compare_select", "GREATER", True, ""),
    ("compare_select", "SELECT", True, ""),
    ("compare_two_consumers", "GREATER", False, "its result has 2"),
    ("compare_two_consumers", "CAST", False, "Not supported cast case"),
    ("compare_two_consumers", "SELECT", True, ""),
    ("compare_int_cast", "GREATER", False, "not CAST to int32"),
    ("compare_int_cast", "CAST", False, "Not supported Cast case: bool -> int32"),
    ("unpack", "UNPACK", True, ""),
    ("cast_output", "GREATER", True, ""),
    ("cast_output", "CAST", False, "Cast from bool not supported for outputs"),
    ("cast_bool_input", "CAST", False, "Not supported cast case"),
    ("mul_both_broadcast", "MUL", True, ""),
    ("depthwise_multiplier", "DEPTHWISE_CONV_2D", True, ""),
]


@pytest.mark.parametrize("name, op, supported, reason", TF_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in TF_CASES])
def test_converted_model(name, op, supported, reason):
    found = [v for n, v in verdicts(models.gpu_case(name)) if n == op]
    assert found, f"no {op} in {name}"
    for ok, why in found:
        assert ok == supported and reason in why, why
    # The ops table shows the same verdict, with the reason in the notes.
    table = ops_table(read_model(models.gpu_case(name)))
    rows = table[table["op"] == op]
    assert (rows["gpu"] == supported).all()
    if reason:
        assert rows["notes"].str.contains(reason, regex=False).all()


def test_ops_table_groups_by_what_the_gpu_rules_read():
    """Look-alike ops (same op, options, dtypes and ranks) that the rules tell apart by
    exact shapes, neighbours or custom options: the table judges each as gpu_verdict does."""
    def build():
        net = Net()
        x = net.t(IMG)

        def pad(paddings):
            out = net.t(IMG)
            net.op("PADV2", [x, net.t(paddings, "int32", 0), net.t((), "float32", 0)], [out])

        def select(other):
            out = net.t((1, 2, 3, 4))
            net.op("SELECT_V2", [net.t((1, 2, 1, 4), "bool"), net.t((1, 2, 3, 4)),
                                 net.t(other)], [out])

        def unpool(params):
            out = net.t((1, 8, 8, 3))
            net.op("MaxUnpooling2D", [x, net.t(IMG)], [out], custom=params)

        def depthwise(bias):
            net.op("DEPTHWISE_CONV_2D", [x, net.t((1, 3, 3, 3), const=1),
                                         net.t(bias, const=1)], [net.t(IMG)],
                   options=dw_opts())

        pad((4, 2)), pad((4, 1))
        select((1, 2, 3, 4)), select((1, 1, 1, 1))
        unpool(pool_params()), unpool(pool_params(stride=(0, 0)))
        depthwise((3,)), depthwise((4,))
        a, b = net.t(IMG), net.t(IMG)
        net.op("LESS", [a, b], [m1 := net.t(IMG, "bool")])
        net.op("CAST", [m1], [net.t(IMG)])
        net.op("LESS", [a, b], [m2 := net.t(IMG, "bool")])
        net.op("CAST", [m2], [f2 := net.t(IMG)])
        net.op("CAST", [m2], [net.t(IMG)])
        net.op("ABS", [f2], [net.t(IMG)])
        return net.build()

    data = build()
    direct = verdicts(data)
    assert {ok for _, (ok, _) in direct} == {True, False}
    table = ops_table(read_model(data))
    assert list(table["gpu"]) == [ok for _, (ok, _) in direct]
    for notes, (_, (ok, why)) in zip(table["notes"], direct):
        assert ok or f"GPU: {why}" in notes, (notes, why)
