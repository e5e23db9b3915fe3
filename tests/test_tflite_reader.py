"""tflite_reader: exact agreement with the schema and the interpreter, and safety on bad input."""
from __future__ import annotations

import random
import struct
import time

import numpy as np
import pytest

from tfl_jupyter.core.op_support import op_summary, ops_table, style_ops
from tfl_jupyter.core.op_support.options import OPTION_LAYOUTS, read_options
from tfl_jupyter.core.tflite_reader import (
    BUILTIN_OPERATOR_NAMES,
    TENSOR_TYPE_NAMES,
    InvalidModelError,
    read_model,
)

import conftest_ops as models

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")

MODEL_NAMES = ["float_cnn", "int8_cnn", "int16x8_cnn", "float16_cnn", "dynamic_range_cnn",
               "flex_model", "custom_model", "while_model", "cumsum_model", "logical_model"]
INTERPRETABLE = [n for n in MODEL_NAMES if n not in ("flex_model", "custom_model")]
UNEXPECTED = "unexpected structure"  # read_model's defensive fallback: must never show


def model_bytes(name: str) -> bytes:
    return getattr(models, name)()


def object_api(data: bytes):
    return schema.ModelT.InitFromPackedBuf(data, 0)


def pack(model_t) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _text(value):
    return value.decode() if isinstance(value, bytes) else (value or "")


# -- agreement with the generated schema and with the interpreter -------------------------


def test_enum_tables_match_schema():
    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    assert BUILTIN_OPERATOR_NAMES == tuple(ops[i] for i in range(len(ops)))
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert len(TENSOR_TYPE_NAMES) == len(types)
    for code, name in enumerate(TENSOR_TYPE_NAMES):
        assert name.replace("_", "") == types[code].lower().replace("_", "")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reader_matches_object_api(name):
    data = model_bytes(name)
    ours = read_model(data)
    ref = object_api(data)
    assert ours.version == ref.version
    assert ours.description == _text(ref.description)
    assert len(ours.operator_codes) == len(ref.operatorCodes)
    for code, ref_code in zip(ours.operator_codes, ref.operatorCodes):
        assert code.builtin_code == max(ref_code.deprecatedBuiltinCode, ref_code.builtinCode)
        assert code.version == ref_code.version
        assert code.custom_code == (_text(ref_code.customCode) if ref_code.customCode else None)
    assert len(ours.subgraphs) == len(ref.subgraphs)
    for graph, ref_graph in zip(ours.subgraphs, ref.subgraphs):
        assert graph.name == _text(ref_graph.name)
        assert list(graph.inputs) == list(ref_graph.inputs)
        assert list(graph.outputs) == list(ref_graph.outputs)
        assert len(graph.tensors) == len(ref_graph.tensors)
        for t, rt in zip(graph.tensors, ref_graph.tensors):
            assert t.name == _text(rt.name)
            assert t.dtype == TENSOR_TYPE_NAMES[rt.type]
            assert list(t.shape) == list(rt.shape if rt.shape is not None else [])
            signature = rt.shapeSignature if rt.shapeSignature is not None else rt.shape
            assert list(t.shape_signature) == list(signature if signature is not None else [])
            assert t.buffer == rt.buffer
            q = rt.quantization
            scale = [] if q is None or q.scale is None else list(q.scale)
            assert list(t.scale) == pytest.approx(scale)
            assert list(t.zero_point) == ([] if q is None or q.zeroPoint is None
                                          else list(q.zeroPoint))
            assert t.quantized_dimension == (q.quantizedDimension if q else 0)
            data_len = len(ref.buffers[rt.buffer].data) if ref.buffers[rt.buffer].data is not None else 0
            assert t.is_constant == (rt.buffer != 0 and data_len > 0)
        assert len(graph.operators) == len(ref_graph.operators)
        for op, rop in zip(graph.operators, ref_graph.operators):
            assert op.opcode_index == rop.opcodeIndex
            assert list(op.inputs) == list(rop.inputs)
            assert list(op.outputs) == list(rop.outputs)
            assert op.builtin_options_type == rop.builtinOptionsType
            custom = bytes(rop.customOptions) if rop.customOptions is not None else b""
            assert op.custom_options == custom
    assert [s.key for s in ours.signatures] == [_text(s.signatureKey) for s in ref.signatureDefs or []]
    for sig, rsig in zip(ours.signatures, ref.signatureDefs or []):
        assert sig.subgraph_index == rsig.subgraphIndex
        assert sig.inputs == {_text(m.name): m.tensorIndex for m in rsig.inputs}
        assert sig.outputs == {_text(m.name): m.tensorIndex for m in rsig.outputs}


# Field name in options.py -> method of the generated options class.
_GENERATED_NAMES = {
    "activation": "FusedActivationFunction", "filter_w": "FilterWidth",
    "filter_h": "FilterHeight", "dilation_w": "DilationWFactor",
    "dilation_h": "DilationHFactor", "keep_dims": "KeepDims",
}
_OPTION_CLASSES = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
    "SOFTMAX": "SoftmaxOptions", "CONCATENATION": "ConcatenationOptions",
    "ADD": "AddOptions", "MUL": "MulOptions", "SUB": "SubOptions", "DIV": "DivOptions",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "STRIDED_SLICE": "StridedSliceOptions", "SPACE_TO_DEPTH": "SpaceToDepthOptions",
    "DEPTH_TO_SPACE": "DepthToSpaceOptions", "MIRROR_PAD": "MirrorPadOptions",
    "CUMSUM": "CumsumOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
    "LEAKY_RELU": "LeakyReluOptions", "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions",
    "ONE_HOT": "OneHotOptions", "LSTM": "LSTMOptions", "BATCH_MATMUL": "BatchMatMulOptions",
    "PACK": "PackOptions", "WHILE": "WhileOptions",
}


def _generated_method(field: str) -> str:
    return _GENERATED_NAMES.get(field) or "".join(p.capitalize() for p in field.split("_"))


def test_option_layouts_match_schema():
    """Union tags and field slots in options.py agree with the generated schema."""
    for op_name, (tag, fields) in OPTION_LAYOUTS.items():
        cls_name = _OPTION_CLASSES[op_name]
        assert getattr(schema.BuiltinOptions, cls_name) == tag, op_name
        cls = getattr(schema, cls_name)
        for field, (slot, _, _) in fields.items():
            method = getattr(cls, _generated_method(field))
            offsets = [int(x) for x in method.__code__.co_consts if isinstance(x, int)]
            assert 4 + 2 * slot in offsets, (op_name, field)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_decoded_options_match_object_api(name):
    data = model_bytes(name)
    ours = read_model(data)
    ref = object_api(data)
    checked = 0
    for graph, ref_graph in zip(ours.subgraphs, ref.subgraphs):
        for op, rop in zip(graph.operators, ref_graph.operators):
            decoded = read_options(op)
            if not decoded or rop.builtinOptions is None:
                continue
            for field, value in decoded.items():
                attr = _generated_method(field)
                expected = getattr(rop.builtinOptions, attr[0].lower() + attr[1:])
                assert value == pytest.approx(expected), (op.op, field)
                checked += 1
    if name in ("float_cnn", "int8_cnn"):
        assert checked >= 10


@pytest.mark.parametrize("name", INTERPRETABLE)
def test_tensors_match_interpreter(name):
    from ai_edge_litert.interpreter import Interpreter

    data = model_bytes(name)
    ours = read_model(data).subgraphs[0].tensors
    interpreter = Interpreter(model_content=data)
    for detail in interpreter.get_tensor_details():
        t = ours[detail["index"]]
        assert t.name == detail["name"]
        assert list(t.shape) == list(detail["shape"])
        assert list(t.shape_signature) == list(detail["shape_signature"])
        assert np.dtype(t.dtype) == np.dtype(detail["dtype"])
        q = detail["quantization_parameters"]
        assert list(t.scale) == pytest.approx(list(q["scales"]))
        assert list(t.zero_point) == list(q["zero_points"])


def test_io_tensors_and_signatures():
    model = read_model(models.int8_cnn())
    inputs, outputs = model.io_tensors()
    assert [t.dtype for t in inputs] == ["float32"] and inputs[0].shape == (1, 16, 16, 3)
    assert [t.dtype for t in outputs] == ["float32"] and outputs[0].shape == (1, 10)
    assert model.signatures[0].key == "serving_default"
    assert set(model.signatures[0].outputs.values()) == {outputs[0].index}
    assert model.min_runtime_version  # the converter writes e.g. '1.14.0'
    with pytest.raises(IndexError):
        model.io_tensors(5)
    conv = next(op for op in model.subgraphs[0].operators if op.op == "CONV_2D")
    weights = model.subgraphs[0].tensors[conv.inputs[1]]
    assert weights.per_channel and weights.quantized_dimension == 0
    assert len(weights.scale) == weights.shape[0]


def test_multi_subgraph_model():
    model = read_model(models.while_model())
    assert [g.name for g in model.subgraphs][:1] == ["main"] and len(model.subgraphs) == 3
    (while_op,) = model.subgraphs[0].operators
    assert while_op.op == "WHILE"
    cond, body = (while_op.builtin_options.scalar(i, "i") for i in (0, 1))
    assert {cond, body} == {1, 2}


def test_accepts_bytes_like_only():
    data = models.float_cnn()
    assert read_model(bytearray(data)).subgraphs[0].operators
    assert read_model(memoryview(data)).subgraphs[0].operators
    with pytest.raises(TypeError, match="bytes"):
        read_model("model.tflite")


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"TFL3", "file identifier"),
    (b"PK\x03\x04" + b"\0" * 60, "zip archive"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 60, "HDF5"),
    (b"\0" * 64, "file identifier"),
])
def test_not_a_tflite_file(data, message):
    with pytest.raises(InvalidModelError, match=message) as info:
        read_model(data)
    assert "tj.convert" in str(info.value)


def _check_mutant(data: bytes, original_table=None):
    """read_model either rejects ``data`` cleanly or yields tables that render."""
    start = time.perf_counter()
    try:
        model = read_model(data)
    except InvalidModelError as exc:
        assert UNEXPECTED not in str(exc), str(exc)
        assert time.perf_counter() - start < 2.0
        return False
    table = ops_table(model)
    summary = op_summary(table)
    style_ops(summary).to_html()
    if original_table is not None:
        # Every byte read lies in the unchanged prefix, so the tables must be identical.
        assert table.equals(original_table)
    assert time.perf_counter() - start < 2.0
    return True


@pytest.mark.parametrize("name", ["int8_cnn", "while_model", "flex_model"])
def test_truncated_models(name):
    data = model_bytes(name)
    original = ops_table(read_model(data))
    cuts = sorted(set(range(0, 80)) | set(range(0, len(data), max(1, len(data) // 150))))
    rejected = sum(not _check_mutant(data[:cut], original) for cut in cuts)
    assert rejected >= len(cuts) - 2  # a cut inside trailing padding may still read


@pytest.mark.parametrize("name", ["int8_cnn", "while_model", "flex_model", "float16_cnn"])
def test_random_bit_flips(name):
    data = model_bytes(name)
    rng = random.Random(1234)
    outcomes = []
    for _ in range(250):
        mutant = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutant[rng.randrange(len(mutant))] ^= 1 << rng.randrange(8)
        outcomes.append(_check_mutant(bytes(mutant)))
    assert not all(outcomes) and any(outcomes)  # flips in weights still read fine


@pytest.mark.parametrize("name", ["flex_model", "while_model"])
def test_every_word_set_to_a_huge_offset(name):
    """Overwrite each aligned uint32 (offsets, lengths, indices) with an out-of-range value."""
    data = model_bytes(name)
    for value in (0x7FFFFFF0, len(data) - 2):
        for pos in range(0, len(data) - 3, 4):
            mutant = data[:pos] + struct.pack("<I", value) + data[pos + 4:]
            _check_mutant(mutant)


def _replace(obj, attr, index, value):
    items = list(getattr(obj, attr))
    items[index] = value
    setattr(obj, attr, items)


def _mutated(name, mutate):
    model_t = object_api(model_bytes(name))
    mutate(model_t)
    return pack(model_t)


@pytest.mark.parametrize("name, mutate, message", [
    ("float_cnn", lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 99),
     "operator code 99"),
    ("float_cnn", lambda m: _replace(m.subgraphs[0].operators[1], "inputs", 0, 5000),
     "tensor 5000"),
    ("float_cnn", lambda m: _replace(m.subgraphs[0].operators[1], "outputs", 0, -7),
     "tensor -7"),
    ("float_cnn", lambda m: setattr(m.subgraphs[0].tensors[1], "buffer", 10 ** 6),
     "buffer 1000000"),
    ("float_cnn", lambda m: _replace(m.subgraphs[0], "inputs", 0, 777), "tensor 777"),
    ("float_cnn", lambda m: setattr(m.signatureDefs[0], "subgraphIndex", 3), "subgraph 3"),
    ("float_cnn", lambda m: setattr(m.signatureDefs[0].inputs[0], "tensorIndex", 4242),
     "tensor 4242"),
    ("while_model", lambda m: setattr(m.subgraphs[0].operators[0].builtinOptions,
                                      "bodySubgraphIndex", 9), "body_subgraph_index is 9"),
    ("float_cnn", lambda m: setattr(m, "subgraphs", []), "no subgraphs"),
])
def test_out_of_range_indices(name, mutate, message):
    with pytest.raises(InvalidModelError, match=message):
        read_model(_mutated(name, mutate))


def test_shared_subobjects_cannot_blow_up():
    """A tiny file whose tensor vector repeats one huge tensor is rejected, not expanded."""
    import flatbuffers

    b = flatbuffers.Builder(0)
    shape = b.CreateNumpyVector(np.ones(4000, dtype=np.int32))
    schema.TensorStart(b)
    schema.TensorAddShape(b, shape)
    tensor = schema.TensorEnd(b)
    schema.SubGraphStartTensorsVector(b, 20000)
    for _ in range(20000):
        b.PrependUOffsetTRelative(tensor)
    tensors = b.EndVector()
    schema.SubGraphStart(b)
    schema.SubGraphAddTensors(b, tensors)
    graph = schema.SubGraphEnd(b)
    schema.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(graph)
    graphs = b.EndVector()
    schema.ModelStart(b)
    schema.ModelAddVersion(b, 3)
    schema.ModelAddSubgraphs(b, graphs)
    b.Finish(schema.ModelEnd(b), file_identifier=b"TFL3")
    data = bytes(b.Output())
    start = time.perf_counter()
    with pytest.raises(InvalidModelError, match="far more elements"):
        read_model(data)
    assert time.perf_counter() - start < 1.0


def test_a_model_pickles_with_its_records_and_columns():
    import pickle

    model = read_model(models.int8_cnn())
    copy = pickle.loads(pickle.dumps(model))
    assert list(copy.subgraphs[0].tensors) == list(model.subgraphs[0].tensors)
    assert [repr(op) for op in copy.subgraphs[0].operators] == [
        repr(op) for op in model.subgraphs[0].operators]
    assert ops_table(copy).equals(ops_table(model))
