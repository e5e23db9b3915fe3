"""Hand-written .tflite graphs for the GPU rule tests (tests/test_gpu_rules.py).

``Net`` writes a one-subgraph model with the flatbuffers object API of LiteRT's own
schema (``ai_edge_litert.schema_py_generated``), so a test can set exactly the op
version, options, tensor types, shapes and constness a rule reads, including what the
TensorFlow converter never emits (a shuffled FULLY_CONNECTED, a version-4 TRANSPOSE,
a MaxUnpooling2D custom op). The files are never run: only the rules read them.
"""
from __future__ import annotations

import struct
from typing import Iterable, Optional, Sequence

import numpy as np

_NUMPY = {"float32": np.float32, "float16": np.float16, "int32": np.int32, "int64": np.int64,
          "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "bool": np.bool_}
_TYPES = {"float32": "FLOAT32", "float16": "FLOAT16", "int32": "INT32", "int64": "INT64",
          "int8": "INT8", "uint8": "UINT8", "int16": "INT16", "bool": "BOOL"}


def schema():
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def pool_params(stride=(1, 1), filter=(2, 2), activation=0, padding=0) -> bytes:
    """The raw TfLitePoolParams struct the GPU parsers read from a custom op's options:
    padding, stride_width, stride_height, filter_width, filter_height, activation, and
    the four computed padding ints."""
    return struct.pack("<10i", padding, stride[1], stride[0], filter[1], filter[0], activation,
                       0, 0, 0, 0)


def transpose_conv_params(stride=(2, 2), padding=0) -> bytes:
    """The raw TfLiteTransposeConvParams: padding, stride_width, stride_height,
    activation, quantized_bias_type."""
    return struct.pack("<5i", padding, stride[1], stride[0], 0, 0)


class Net:
    """A graph under construction: ``t`` adds a tensor, ``op`` an operator, ``build``
    returns the .tflite bytes."""

    def __init__(self):
        s = schema()
        self.s = s
        self.tensors, self.buffers, self.ops, self.codes = [], [s.BufferT()], [], []
        self.code_index = {}

    def t(self, shape: Sequence[int], dtype: str = "float32", const=None) -> int:
        """A tensor; ``const`` (values, broadcast to ``shape``) makes it a constant."""
        s = self.s
        tensor = s.TensorT()
        tensor.shape = list(shape)
        tensor.type = getattr(s.TensorType, _TYPES[dtype])
        tensor.name = f"t{len(self.tensors)}".encode()
        tensor.buffer = 0
        if const is not None:
            data = np.broadcast_to(np.asarray(const, _NUMPY[dtype]), tuple(shape))
            buffer = s.BufferT()
            buffer.data = list(np.ascontiguousarray(data).tobytes()) or [0]
            tensor.buffer = len(self.buffers)
            self.buffers.append(buffer)
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def op(self, name: str, inputs: Iterable[int], outputs: Iterable[int], version: int = 1,
           options=None, custom: Optional[bytes] = None) -> int:
        """An operator: ``name`` a builtin name, or a custom code when ``custom`` is given
        (b"" for a custom op without options); ``options`` a ``...OptionsT`` object."""
        s = self.s
        code = s.OperatorCodeT()
        code.version = version
        if custom is not None:
            code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
            code.customCode = name.encode()
        else:
            builtin = getattr(s.BuiltinOperator, name)
            code.builtinCode = builtin
            code.deprecatedBuiltinCode = min(builtin, 127)
        key = (code.builtinCode, code.customCode, version)
        if key not in self.code_index:  # one entry per (op, version), as converters write
            self.code_index[key] = len(self.codes)
            self.codes.append(code)
        op = s.OperatorT()
        op.opcodeIndex = self.code_index[key]
        op.inputs, op.outputs = list(inputs), list(outputs)
        if options is not None:
            op.builtinOptionsType = getattr(s.BuiltinOptions, type(options).__name__[:-1])
            op.builtinOptions = options
        if custom:
            op.customOptions = list(custom)
        self.ops.append(op)
        return len(self.ops) - 1

    def build(self, outputs: Optional[Sequence[int]] = None) -> bytes:
        """The model; graph inputs are the non-constant tensors no op writes, graph
        outputs ``outputs`` or else the tensors no op reads."""
        import flatbuffers

        s = self.s
        written = {t for op in self.ops for t in op.outputs}
        read = {t for op in self.ops for t in op.inputs}
        graph = s.SubGraphT()
        graph.tensors, graph.operators = self.tensors, self.ops
        graph.inputs = [i for i, t in enumerate(self.tensors)
                        if i not in written and t.buffer == 0]
        graph.outputs = list(outputs) if outputs is not None else sorted(written - read)
        model = s.ModelT()
        model.version = 3
        model.operatorCodes, model.subgraphs, model.buffers = self.codes, [graph], self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def options(kind: str, **fields):
    """``options("Pool2D", strideW=1)``: a schema ``<kind>OptionsT`` with ``fields`` set."""
    obj = getattr(schema(), f"{kind}OptionsT")()
    for key, value in fields.items():
        assert hasattr(obj, key), f"{kind}OptionsT has no field {key}"
        setattr(obj, key, value)
    return obj
