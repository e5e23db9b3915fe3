"""Read a ``.tflite`` file safely: a bounds-checked flatbuffer reader for the TFLite schema.

Nothing here trusts the file. Every table header, field, vector length, string and every
index between them (tensor indices of operators, opcode and buffer indices, subgraph
indices of control-flow operators and signatures) is checked before it is used, so a
truncated or corrupted file raises :class:`InvalidModelError` instead of crashing, hanging
or producing a silently wrong table. The reader needs neither TensorFlow nor the
``flatbuffers`` runtime, whose Python code performs no verification at all.

Flatbuffer layout recap (https://flatbuffers.dev/internals/): a table starts with an
int32 *soffset* to its vtable (``vtable = table - soffset``); the vtable holds two uint16
sizes (vtable bytes, table bytes) and one uint16 offset per field (0 = field absent).
Reference fields hold a uint32 *forward* offset relative to the field's own position, so
the object graph cannot contain cycles; vectors and strings start with a uint32 length.

The long vectors (tensors, operators, buffers) are checked and decoded in bulk with numpy
by ``tflite_columns``; this module walks the rest and builds the records on demand.
"""
from __future__ import annotations

import gc
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .tflite_columns import NO_FIELDS as _NO_FIELDS
from .tflite_columns import BufferColumns, Corrupt as _Corrupt, FileView, LazyRecords
from .tflite_columns import OperatorColumns, TensorColumns

__all__ = [
    "InvalidModelError",
    "ModelInfo",
    "OperatorInfo",
    "SignatureInfo",
    "SubgraphInfo",
    "TableView",
    "TensorInfo",
    "BUILTIN_OPERATOR_NAMES",
    "TENSOR_TYPE_NAMES",
    "read_model",
]

FILE_IDENTIFIER = b"TFL3"

# TensorType enum of tensorflow/compiler/mlir/lite/schema/schema.fbs, in numpy spelling.
TENSOR_TYPE_NAMES: Tuple[str, ...] = (
    "float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16",
    "complex64", "int8", "float64", "complex128", "uint64", "resource", "variant",
    "uint32", "uint16", "int4", "bfloat16", "int2", "uint4", "float8_e4m3fn",
    "float8_e5m2",
)

# BuiltinOperator enum of schema.fbs (values 0..209), copied so that reading a model
# does not import the 20,000-line generated schema module (150 ms).
BUILTIN_OPERATOR_NAMES: Tuple[str, ...] = tuple("""
    ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
    EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
    LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1
    RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS
    SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER
    BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE
    UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT
    LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS
    NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE
    TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT
    REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN
    FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR
    LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND
    COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH
    IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY
    SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO
    RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT
    HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE
    BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU
    DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX
    UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT
    STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM
    STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM
    STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS
    STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG
    STABLEHLO_MINIMUM STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER
    STABLEHLO_RSQRT STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER
    STABLEHLO_COMPARE STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE
    STABLEHLO_PAD STABLEHLO_IOTA STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT
    STABLEHLO_WHILE STABLEHLO_GATHER STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR
    REDUCE_WINDOW STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE""".split())

_I8 = struct.Struct("<b").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U16_PAIR = struct.Struct("<HH").unpack_from

# Byte size of each field we read, by slot, for every table type we walk. A vtable entry
# whose field would not fit inside its table is rejected; fields past the end of these
# tuples (added by newer schemas) are ignored.
_MODEL_FIELDS = (4, 4, 4, 4, 4, 4, 4, 4)  # version, opcodes, subgraphs, description, buffers, metadata_buffer, metadata, signature_defs
_OPCODE_FIELDS = (1, 4, 4, 4)  # deprecated_builtin_code, custom_code, version, builtin_code
_SUBGRAPH_FIELDS = (4, 4, 4, 4, 4)  # tensors, inputs, outputs, operators, name
_METADATA_FIELDS = (4, 4)  # name, buffer
_SIGNATURE_FIELDS = (4, 4, 4, 4, 4)  # inputs, outputs, signature_key, deprecated_tag, subgraph_index
_TENSOR_MAP_FIELDS = (4, 4)  # name, tensor_index


_QUANTIZATION_DETAILS = {1: "custom", 2: "blockwise", 3: "multi_axis"}

_CUSTOM_OPCODE = 32
# Subgraph-index fields of control-flow options: union type -> [(slot, what)].
_SUBGRAPH_REFS_1 = {  # builtin_options
    16: [(0, "CALL subgraph")],
    92: [(0, "IF then_subgraph_index"), (1, "IF else_subgraph_index")],
    93: [(0, "WHILE cond_subgraph_index"), (1, "WHILE body_subgraph_index")],
    103: [(0, "CALL_ONCE init_subgraph_index")],
}
_SUBGRAPH_REFS_2 = {  # builtin_options_2
    6: [(1, "STABLEHLO_REDUCE body_subgraph_index")],
    7: [(6, "STABLEHLO_SCATTER update_computation_subgraph_index")],
    13: [(5, "STABLEHLO_REDUCE_WINDOW body_subgraph_index")],
    14: [(2, "STABLEHLO_SORT comparator_subgraph_index")],
    15: [(0, "STABLEHLO_WHILE cond_subgraph_index"), (1, "STABLEHLO_WHILE body_subgraph_index")],
    21: [(1, "STABLEHLO_COMPOSITE decomposition_subgraph_index")],
}
_STABLEHLO_CASE_OPTIONS = 23  # branch_subgraph_indices: [int] at slot 0


class InvalidModelError(ValueError):
    """The bytes are not a readable TFLite model (wrong format, truncated or corrupted)."""



_VECTOR_FORMATS: Dict[Tuple[str, int], "struct.Struct"] = {}


def _vector_unpacker(code: str, n: int):
    key = (code, n)
    unpack = _VECTOR_FORMATS.get(key)
    if unpack is None:
        unpack = struct.Struct("<%d%s" % (n, code)).unpack_from
        if n <= 64:  # keep the cache small; long vectors are rare
            _VECTOR_FORMATS[key] = unpack
    return unpack


_SCALARS: Dict[str, "struct.Struct"] = {}


def _scalar_unpacker(fmt: str) -> "struct.Struct":
    unpack = _SCALARS[fmt] = struct.Struct("<" + fmt)
    return unpack


class TableView:
    """A bounds-checked view of one flatbuffer table (used for operator options).

    Reads return the schema default when the field is absent, and raise
    :class:`InvalidModelError` when a field does not fit inside its table.
    """

    __slots__ = ("_buf", "_pos", "_fields", "_table_size")

    def __init__(self, buf: bytes, pos: int, fields: Tuple[int, ...], table_size: int):
        self._buf = buf
        self._pos = pos
        self._fields = fields
        self._table_size = table_size

    def _field(self, slot: int, nbytes: int) -> int:
        fields = self._fields
        off = fields[slot] if slot < len(fields) else 0
        if off and off + nbytes > self._table_size:
            raise InvalidModelError(
                f"corrupted TFLite model: an operator option (field {slot}) lies outside "
                "its table. The file is damaged; convert the model again."
            )
        return off

    def fields_key(self) -> tuple:
        """Hashable content of the table: equal keys mean equal field values."""
        buf, pos = self._buf, self._pos
        return (self._fields, buf[pos + 4:pos + self._table_size])

    def has(self, slot: int) -> bool:
        """Whether field ``slot`` is present."""
        return slot < len(self._fields) and self._fields[slot] != 0

    def scalar(self, slot: int, fmt: str, default=0):
        """Read a scalar field; ``fmt`` is a struct code ('b', 'B', 'i', 'I', 'f', '?', 'q')."""
        fields = self._fields
        off = fields[slot] if slot < len(fields) else 0
        if not off:
            return default
        unpack = _SCALARS.get(fmt) or _scalar_unpacker(fmt)
        if off + unpack.size > self._table_size:
            self._field(slot, unpack.size)  # raises with the message
        return unpack.unpack_from(self._buf, self._pos + off)[0]

    def int_vector(self, slot: int, fmt: str = "i") -> Tuple[int, ...]:
        """Read a vector of scalars (``fmt`` as in :meth:`scalar`); empty when absent."""
        off = self._field(slot, 4)
        if not off:
            return ()
        buf = self._buf
        p = self._pos + off
        p += _U32(buf, p)[0]
        size = struct.calcsize("<" + fmt)
        if p + 4 > len(buf) or p + 4 + _U32(buf, p)[0] * size > len(buf):
            raise InvalidModelError(
                "corrupted TFLite model: an operator option vector runs past the end of "
                "the file. The file is truncated or damaged; convert the model again."
            )
        n = _U32(buf, p)[0]
        return _vector_unpacker(fmt, n)(buf, p + 4) if n else ()

    def string(self, slot: int) -> str:
        """Read a string field; empty when absent."""
        raw = bytes(self.int_vector(slot, "B"))
        return raw.decode("utf-8", "replace")


class TensorInfo:
    """One tensor of a subgraph (read-only).

    Attributes
    ----------
    index : int
        Position in the subgraph's tensor list.
    name : str
    dtype : str
        numpy-style name ('float32', 'int8', ...); unknown enum values read 'type_<n>'.
    shape : tuple of int
    shape_signature : tuple of int
        -1 marks a dynamic dimension; equals ``shape`` when the file has none.
    scale, zero_point : tuple
        Quantization parameters; empty when the tensor is not quantized. More than one
        entry means per-channel (per-axis) quantization along ``quantized_dimension``.
        Decoded on first access: per-channel models hold tens of thousands.
    num_scales : int
        ``len(scale)``, without decoding it.
    quantized_dimension : int
    buffer : int
        Index into the model's buffers (0 = no data).
    is_constant : bool
        The tensor has data in the file (a weight, bias or other constant).
    is_variable : bool
    has_sparsity : bool
    quantization_details : str or None
        'custom', 'blockwise', 'multi_axis' when the file uses a non-affine scheme.
    """

    __slots__ = ("index", "name", "dtype", "shape", "shape_signature", "num_scales",
                 "quantized_dimension", "buffer", "is_constant", "is_variable",
                 "has_sparsity", "quantization_details", "_columns", "_scale", "_zero_point")

    def __init__(self, index, name, dtype, shape, shape_signature, num_scales,
                 quantized_dimension, buffer, is_constant, is_variable, has_sparsity,
                 quantization_details, columns: TensorColumns):
        self.index = index
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.shape_signature = shape_signature
        self.num_scales = num_scales
        self.quantized_dimension = quantized_dimension
        self.buffer = buffer
        self.is_constant = is_constant
        self.is_variable = is_variable
        self.has_sparsity = has_sparsity
        self.quantization_details = quantization_details
        self._columns = columns
        self._scale = self._zero_point = None

    @property
    def scale(self) -> Tuple[float, ...]:
        if self._scale is None:
            self._scale = self._columns.scale.item(self.index)
        return self._scale

    @property
    def zero_point(self) -> Tuple[int, ...]:
        if self._zero_point is None:
            self._zero_point = self._columns.zero_point.item(self.index)
        return self._zero_point

    @property
    def is_quantized(self) -> bool:
        """Whether the tensor carries quantization parameters (scale present)."""
        return self.num_scales > 0

    @property
    def per_channel(self) -> bool:
        """Whether the tensor is quantized per channel (more than one scale)."""
        return self.num_scales > 1

    def _key(self) -> tuple:
        return (self.index, self.name, self.dtype, self.shape, self.shape_signature,
                self.scale, self.zero_point, self.quantized_dimension, self.buffer,
                self.is_constant, self.is_variable, self.has_sparsity,
                self.quantization_details)

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorInfo) and self._key() == other._key()

    def __reduce__(self):
        return _unpickle_tensor, self._key()

    def __hash__(self) -> int:
        return hash((self.index, self.name, self.dtype, self.shape))

    def __repr__(self) -> str:
        quant = ""
        if self.num_scales == 1:
            zero = self.zero_point[0] if self.zero_point else 0
            quant = f", scale={self.scale[0]:.6g}, zero_point={zero}"
        elif self.num_scales:
            quant = f", per-channel({self.num_scales}) on axis {self.quantized_dimension}"
        return f"TensorInfo({self.index}, {self.name!r}, {self.dtype}{list(self.shape)}{quant})"


def _unpickle_tensor(index, name, dtype, shape, shape_signature, scale, zero_point,
                     quantized_dimension, buffer, is_constant, is_variable, has_sparsity,
                     quantization_details) -> "TensorInfo":
    tensor = TensorInfo(index, name, dtype, shape, shape_signature, len(scale),
                        quantized_dimension, buffer, is_constant, is_variable, has_sparsity,
                        quantization_details, None)
    tensor._scale, tensor._zero_point = scale, zero_point
    return tensor


class OperatorInfo:
    """One operator of a subgraph.

    Attributes
    ----------
    index : int
    opcode_index : int
    op : str
        The builtin name ('CONV_2D'), or the custom code ('FlexStringLength',
        'MyKernel') for custom operators.
    builtin_code : int
    custom_code : str or None
    version : int
    inputs, outputs, intermediates : tuple of int
        Tensor indices; -1 marks an omitted optional input.
    builtin_options_type, builtin_options_2_type : int
        Union type tags (0 = none).
    builtin_options, builtin_options_2 : TableView or None
    custom_options : bytes
    custom_options_format : int
    """

    __slots__ = (
        "index", "opcode_index", "op", "builtin_code", "custom_code", "version", "inputs",
        "outputs", "intermediates", "builtin_options_type", "builtin_options",
        "builtin_options_2_type", "builtin_options_2", "custom_options",
        "custom_options_format",
    )

    def __init__(self, index, opcode_index, op, builtin_code, custom_code, version, inputs,
                 outputs, intermediates, builtin_options_type, builtin_options,
                 builtin_options_2_type, builtin_options_2, custom_options,
                 custom_options_format):
        self.index = index
        self.opcode_index = opcode_index
        self.op = op
        self.builtin_code = builtin_code
        self.custom_code = custom_code
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.intermediates = intermediates
        self.builtin_options_type = builtin_options_type
        self.builtin_options = builtin_options
        self.builtin_options_2_type = builtin_options_2_type
        self.builtin_options_2 = builtin_options_2
        self.custom_options = custom_options
        self.custom_options_format = custom_options_format

    @property
    def is_custom(self) -> bool:
        """Whether this is a CUSTOM operator (Flex or user kernel)."""
        return self.builtin_code == _CUSTOM_OPCODE

    def __repr__(self) -> str:
        return (f"OperatorInfo({self.index}, {self.op} v{self.version}, "
                f"inputs={list(self.inputs)}, outputs={list(self.outputs)})")


@dataclass(frozen=True)
class OperatorCode:
    """One entry of the model's operator-code table."""

    builtin_code: int
    custom_code: Optional[str]
    version: int

    @property
    def name(self) -> str:
        """Builtin operator name, or the custom code for CUSTOM operators."""
        if self.builtin_code == _CUSTOM_OPCODE and self.custom_code is not None:
            return self.custom_code
        if 0 <= self.builtin_code < len(BUILTIN_OPERATOR_NAMES):
            return BUILTIN_OPERATOR_NAMES[self.builtin_code]
        return f"BUILTIN_{self.builtin_code}"


@dataclass(frozen=True)
class SubgraphInfo:
    """One subgraph: its tensors, operators and input/output tensor indices.

    ``tensors`` and ``operators`` are read-only sequences whose records are built on
    first access; ``tensor_columns`` and ``operator_columns`` hold the same data as
    numpy columns (see ``tflite_columns``) for code that walks every operator.
    """

    index: int
    name: str
    tensors: Sequence[TensorInfo]
    operators: Sequence[OperatorInfo]
    inputs: Tuple[int, ...]
    outputs: Tuple[int, ...]
    tensor_columns: TensorColumns = field(repr=False, compare=False)
    operator_columns: OperatorColumns = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"SubgraphInfo({self.index}, {self.name!r}, {len(self.tensors)} tensors, "
                f"{len(self.operators)} operators)")


@dataclass(frozen=True)
class SignatureInfo:
    """A signature: a named entry point mapping input/output names to tensor indices."""

    key: str
    subgraph_index: int
    inputs: Dict[str, int]
    outputs: Dict[str, int]


@dataclass(frozen=True)
class BufferInfo:
    """Where a buffer's bytes are: ``start``/``size`` within the file (size 0 = empty)."""

    start: int
    size: int
    external: bool  # stored after the flatbuffer (models over 2 GB)


@dataclass(frozen=True, repr=False)
class ModelInfo:
    """A validated TFLite model: schema version, subgraphs, signatures, buffers.

    ``buffers`` builds its records on first access; ``buffer_columns`` holds the same
    as numpy columns (see ``tflite_columns.BufferColumns``).
    """

    version: int
    description: str
    operator_codes: List[OperatorCode]
    subgraphs: List[SubgraphInfo]
    signatures: List[SignatureInfo]
    buffers: Sequence[BufferInfo]
    metadata: Dict[str, int]
    data: bytes = field(repr=False)
    buffer_columns: BufferColumns = field(repr=False, compare=False)

    def io_tensors(self, subgraph: int = 0) -> Tuple[List[TensorInfo], List[TensorInfo]]:
        """Return the input and output tensors of a subgraph.

        Parameters
        ----------
        subgraph : int
            Subgraph index (0 is the main graph).

        Returns
        -------
        (inputs, outputs) : tuple of two lists of TensorInfo
        """
        if not 0 <= subgraph < len(self.subgraphs):
            raise IndexError(f"subgraph {subgraph} does not exist: the model has "
                             f"{len(self.subgraphs)} subgraph(s)")
        graph = self.subgraphs[subgraph]
        tensors = graph.tensors
        return [tensors[i] for i in graph.inputs], [tensors[i] for i in graph.outputs]

    def buffer_bytes(self, index: int) -> memoryview:
        """The raw bytes of buffer ``index`` (empty for buffers without data)."""
        columns = self.buffer_columns
        start, size = int(columns.start[index]), int(columns.size[index])
        return memoryview(self.data)[start:start + size]

    def metadata_bytes(self, name: str) -> Optional[bytes]:
        """The bytes of the metadata entry ``name`` (e.g. 'min_runtime_version'), or None."""
        index = self.metadata.get(name)
        return None if index is None else bytes(self.buffer_bytes(index))

    @property
    def min_runtime_version(self) -> Optional[str]:
        """The 'min_runtime_version' metadata the converter writes, if present."""
        raw = self.metadata_bytes("min_runtime_version")
        if raw is None:
            return None
        return raw.split(b"\0", 1)[0].decode("ascii", "replace") or None

    def __repr__(self) -> str:
        ops = sum(len(g.operators) for g in self.subgraphs)
        return (f"ModelInfo(version={self.version}, {len(self.subgraphs)} subgraph(s), "
                f"{ops} operators, {len(self.data)} bytes)")


class _Parser:
    """Walks the flatbuffer once, checking every position before reading it."""

    def __init__(self, buf: bytes):
        self.buf = buf
        self.size = len(buf)
        self.vtables: Dict[Tuple[int, int], Tuple[Tuple[int, ...], int]] = {}
        # Shared sub-objects could make a tiny file describe an astronomically large
        # graph; cap the number of decoded elements by the file size.
        self.budget = [4 * len(buf) + 65536]  # a box: the column decoders spend it too
        self.view = FileView(buf, self._cached_vtable)

    # -- primitives ---------------------------------------------------------------------

    def table(self, pos: int, layout: Tuple[int, ...], what: str) -> Tuple[int, ...]:
        """Validate the table at ``pos``; return one field offset per ``layout`` slot."""
        buf = self.buf
        if pos + 4 > self.size:
            raise _Corrupt(f"the {what} table at byte {pos} is past the end of the file")
        fields, table_size = self._cached_vtable(pos - _I32(buf, pos)[0], layout, what)
        if pos + table_size > self.size:
            raise _Corrupt(f"the {what} table at byte {pos} runs past the end of the file")
        return fields

    def _cached_vtable(self, vt: int, layout: Tuple[int, ...], what: str):
        key = (vt, id(layout))
        cached = self.vtables.get(key)
        if cached is None:
            cached = self.vtables[key] = self._vtable(vt, layout, what)
        return cached

    def _vtable(self, vt: int, layout: Tuple[int, ...], what: str):
        if vt < 0 or vt + 4 > self.size:
            raise _Corrupt(f"the {what} table's vtable offset points outside the file")
        vt_size, table_size = _U16_PAIR(self.buf, vt)
        if vt_size < 4 or vt_size % 2 or vt + vt_size > self.size or table_size < 4:
            raise _Corrupt(f"the {what} table's vtable is malformed")
        raw = _vector_unpacker("H", (vt_size - 4) // 2)(self.buf, vt + 4)
        for slot, off in enumerate(raw):
            nbytes = layout[slot] if slot < len(layout) else 1
            if off and (off < 4 or off + nbytes > table_size):
                raise _Corrupt(f"field {slot} of the {what} table lies outside the table")
        if layout is _NO_FIELDS:
            fields = raw
        else:
            fields = (raw + (0,) * len(layout))[:len(layout)]
        return fields, table_size

    def target(self, pos: int, off: int) -> int:
        """Follow the uoffset stored in a reference field."""
        p = pos + off
        return p + _U32(self.buf, p)[0]

    def vector(self, p: int, elem_size: int, what: str, count: bool = True) -> Tuple[int, int]:
        """Validate the vector at ``p``; return (first element position, length)."""
        if p + 4 > self.size:
            raise _Corrupt(f"the {what} vector is past the end of the file")
        n = _U32(self.buf, p)[0]
        if p + 4 + n * elem_size > self.size:
            raise _Corrupt(f"the {what} vector (length {n}) runs past the end of the file")
        if count:
            self.budget[0] -= n
            if self.budget[0] < 0:
                raise _Corrupt("the model references far more elements than the file holds")
        return p + 4, n

    def scalars(self, pos: int, off: int, code: str, elem_size: int, what: str) -> tuple:
        start, n = self.vector(self.target(pos, off), elem_size, what)
        return _vector_unpacker(code, n)(self.buf, start) if n else ()

    def string(self, pos: int, off: int, what: str) -> str:
        start, n = self.vector(self.target(pos, off), 1, what, count=False)
        if start + n >= self.size or self.buf[start + n] != 0:
            raise _Corrupt(f"the {what} string is not terminated")
        return self.buf[start:start + n].decode("utf-8", "replace")

    def tables(self, pos: int, off: int, what: str) -> List[int]:
        """Positions of the tables of a vector-of-tables field."""
        start, n = self.vector(self.target(pos, off), 4, what)
        offsets = _vector_unpacker("I", n)(self.buf, start) if n else ()
        return [start + 4 * i + o for i, o in enumerate(offsets)]

    # -- schema tables ------------------------------------------------------------------

    def model(self) -> ModelInfo:
        buf = self.buf
        root = _U32(buf, 0)[0]
        f = self.table(root, _MODEL_FIELDS, "model")
        version = _U32(buf, root + f[0])[0] if f[0] else 0
        description = self.string(root, f[3], "model description") if f[3] else ""

        start, count = self.vector(self.target(root, f[4]), 4, "buffers") if f[4] else (0, 0)
        buffers = BufferColumns(self.view, start, count)
        nbuffers = len(buffers)

        codes = []
        for i, p in enumerate(self.tables(root, f[1], "operator_codes") if f[1] else ()):
            codes.append(self._opcode(p, i))

        metadata = {}
        if f[6]:
            for p in self.tables(root, f[6], "metadata"):
                mf = self.table(p, _METADATA_FIELDS, "metadata")
                name = self.string(p, mf[0], "metadata name") if mf[0] else ""
                index = _U32(buf, p + mf[1])[0] if mf[1] else 0
                if index >= nbuffers:
                    raise _Corrupt(f"metadata {name!r} refers to buffer {index}, but the "
                                   f"model has {nbuffers} buffers")
                metadata[name] = index
        if f[5]:
            for index in self.scalars(root, f[5], "i", 4, "metadata_buffer"):
                if not 0 <= index < nbuffers:
                    raise _Corrupt(f"metadata_buffer refers to buffer {index}, but the "
                                   f"model has {nbuffers} buffers")

        subgraph_positions = self.tables(root, f[2], "subgraphs") if f[2] else []
        if not subgraph_positions:
            raise _Corrupt("the model has no subgraphs")
        subgraphs = []
        for i, p in enumerate(subgraph_positions):
            try:
                subgraphs.append(self._subgraph(p, i, codes, buffers))
            except _Corrupt as exc:
                raise _Corrupt(f"subgraph {i}: {exc}") from None
        self._check_subgraph_references(subgraphs)

        signatures = []
        if f[7]:
            for p in self.tables(root, f[7], "signature_defs"):
                signatures.append(self._signature(p, subgraphs))

        return ModelInfo(version=version, description=description, operator_codes=codes,
                         subgraphs=subgraphs, signatures=signatures,
                         buffers=LazyRecords(nbuffers, _buffer_maker(buffers)),
                         metadata=metadata, data=buf, buffer_columns=buffers)

    def _opcode(self, p: int, index: int) -> OperatorCode:
        buf = self.buf
        f = self.table(p, _OPCODE_FIELDS, "operator_code")
        deprecated = _I8(buf, p + f[0])[0] if f[0] else 0
        builtin = _I32(buf, p + f[3])[0] if f[3] else 0
        # schema.fbs: the real code is the larger of the two fields (the int8 one is
        # kept for old readers and saturates at 127).
        code = max(deprecated, builtin)
        custom = self.string(p, f[1], "custom_code") if f[1] else None
        version = _I32(buf, p + f[2])[0] if f[2] else 1
        if code < 0:
            raise _Corrupt(f"operator code {index} has a negative builtin code {code}")
        return OperatorCode(code, custom, version)

    def _subgraph(self, p: int, index: int, codes, buffers: BufferColumns) -> SubgraphInfo:
        f = self.table(p, _SUBGRAPH_FIELDS, "subgraph")
        name = self.string(p, f[4], "subgraph name") if f[4] else ""
        view = self.view
        if f[0]:
            start, count = self.vector(self.target(p, f[0]), 4, "tensors")
            tensor_columns = TensorColumns(view, start, count, buffers, self.budget)
        else:
            tensor_columns = TensorColumns(view, 0, 0, buffers, self.budget)
        ntensors = tensor_columns.count
        inputs = self.scalars(p, f[1], "i", 4, "subgraph inputs") if f[1] else ()
        outputs = self.scalars(p, f[2], "i", 4, "subgraph outputs") if f[2] else ()
        for kind, indices in (("input", inputs), ("output", outputs)):
            for t in indices:
                if not 0 <= t < ntensors:
                    raise _Corrupt(f"subgraph {kind} tensor {t} does not exist "
                                   f"({ntensors} tensors)")
        start, count = self.vector(self.target(p, f[3]), 4, "operators") if f[3] else (0, 0)
        operator_columns = OperatorColumns(view, start, count, len(codes), ntensors,
                                           self.budget)
        tensors = LazyRecords(ntensors, _tensor_maker(tensor_columns, self.buf))
        operators = LazyRecords(count, _operator_maker(operator_columns, codes, self.buf))
        return SubgraphInfo(index, name, tensors, operators, inputs, outputs,
                            tensor_columns, operator_columns)

    def _check_subgraph_references(self, subgraphs: List[SubgraphInfo]) -> None:
        count = len(subgraphs)
        kinds_1 = np.array(sorted(_SUBGRAPH_REFS_1), np.int64)
        kinds_2 = np.array(sorted(_SUBGRAPH_REFS_2) + [_STABLEHLO_CASE_OPTIONS], np.int64)
        for graph in subgraphs:
            columns = graph.operator_columns
            control_flow = (np.isin(columns.options_type, kinds_1)
                            | np.isin(columns.options_2_type, kinds_2))
            for i in np.flatnonzero(control_flow).tolist():
                op = graph.operators[i]
                refs = []
                if op.builtin_options is not None:
                    for slot, what in _SUBGRAPH_REFS_1.get(op.builtin_options_type, ()):
                        refs.append((op.builtin_options.scalar(slot, "i"), what))
                if op.builtin_options_2 is not None:
                    for slot, what in _SUBGRAPH_REFS_2.get(op.builtin_options_2_type, ()):
                        refs.append((op.builtin_options_2.scalar(slot, "i"), what))
                    if op.builtin_options_2_type == _STABLEHLO_CASE_OPTIONS:
                        refs.extend((i, "STABLEHLO_CASE branch")
                                    for i in op.builtin_options_2.int_vector(0))
                for value, what in refs:
                    if not 0 <= value < count:
                        raise _Corrupt(f"subgraph {graph.index}, operator {op.index}: "
                                       f"{what} is {value}, but the model has {count} "
                                       f"subgraph(s)")

    def _signature(self, p: int, subgraphs: List[SubgraphInfo]) -> SignatureInfo:
        buf = self.buf
        f = self.table(p, _SIGNATURE_FIELDS, "signature_def")
        key = self.string(p, f[2], "signature key") if f[2] else ""
        subgraph = _U32(buf, p + f[4])[0] if f[4] else 0
        if subgraph >= len(subgraphs):
            raise _Corrupt(f"signature {key!r} refers to subgraph {subgraph}, but the model "
                           f"has {len(subgraphs)}")
        ntensors = len(subgraphs[subgraph].tensors)
        maps = []
        for slot in (0, 1):
            mapping = {}
            for mp in self.tables(p, f[slot], "signature tensors") if f[slot] else ():
                mf = self.table(mp, _TENSOR_MAP_FIELDS, "signature tensor map")
                name = self.string(mp, mf[0], "signature tensor name") if mf[0] else ""
                tensor = _U32(buf, mp + mf[1])[0] if mf[1] else 0
                if tensor >= ntensors:
                    raise _Corrupt(f"signature {key!r} maps {name!r} to tensor {tensor}, "
                                   f"but its subgraph has {ntensors} tensors")
                mapping[name] = tensor
            maps.append(mapping)
        return SignatureInfo(key, subgraph, maps[0], maps[1])


def _buffer_maker(columns: BufferColumns):
    """``make(i)`` for the LazyRecords of the model's buffers."""
    return lambda i: BufferInfo(int(columns.start[i]), int(columns.size[i]),
                                bool(columns.external[i]))


def _tensor_maker(columns: TensorColumns, buf: bytes):
    """``make(i)`` for the LazyRecords of a subgraph's tensors."""
    lists = []

    def make(i: int) -> TensorInfo:
        if not lists:  # first use: Python lists index faster than numpy arrays
            c = columns
            lists.append((c.dtype.tolist(), c.name.starts.tolist(), c.name.counts.tolist(),
                          c.has_signature.tolist(), c.scale.counts.tolist(),
                          c.quantized_dimension.tolist(), c.buffer.tolist(),
                          c.is_constant.tolist(), c.is_variable.tolist(),
                          c.has_sparsity.tolist(), c.details.tolist()))
        (dtypes, name_starts, name_sizes, has_signature, scales, axes, buffers, constant,
         variable, sparsity, details) = lists[0]
        code = dtypes[i]
        start = name_starts[i]
        shape = columns.shape.item(i)
        return TensorInfo(
            i, buf[start:start + name_sizes[i]].decode("utf-8", "replace"),
            TENSOR_TYPE_NAMES[code] if code < len(TENSOR_TYPE_NAMES) else f"type_{code}",
            shape, columns.signature.item(i) if has_signature[i] else shape, scales[i],
            axes[i], buffers[i], constant[i], variable[i], sparsity[i],
            _QUANTIZATION_DETAILS.get(details[i], "unknown") if details[i] else None,
            columns)

    return make


def _options_view(buf: bytes, options, row: int) -> Optional[TableView]:
    if row < 0:
        return None
    _, tables = options
    fields, size = tables.vtables[tables.vtable_ids[row]]
    return TableView(buf, int(tables.pos[row]), fields, size)


def _operator_maker(columns: OperatorColumns, codes: List[OperatorCode], buf: bytes):
    """``make(i)`` for the LazyRecords of a subgraph's operators."""
    lists = []

    def make(i: int) -> OperatorInfo:
        if not lists:
            c = columns
            lists.append((c.opcode.tolist(), c.options_type.tolist(),
                          c.options_2_type.tolist(), c.option_index(1).tolist(),
                          c.option_index(2).tolist(), c.custom_start.tolist(),
                          c.custom_size.tolist(), c.custom_format.tolist()))
        (opcodes, types, types_2, rows, rows_2, custom_starts, custom_sizes,
         formats) = lists[0]
        code = codes[opcodes[i]]
        start = custom_starts[i]
        return OperatorInfo(
            i, opcodes[i], code.name, code.builtin_code, code.custom_code, code.version,
            columns.inputs.item(i), columns.outputs.item(i), columns.intermediates.item(i),
            types[i], _options_view(buf, columns.options, rows[i]), types_2[i],
            _options_view(buf, columns.options_2, rows_2[i]),
            buf[start:start + custom_sizes[i]], formats[i])

    return make


_OTHER_FORMATS = (
    (b"PK\x03\x04", "a zip archive (a .keras model?)"),
    (b"\x89HDF", "an HDF5 file (a .h5 Keras model?)"),
)


def _describe_foreign(data: bytes) -> str:
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            return f" It looks like {what}."
    return ""


def read_model(data) -> ModelInfo:
    """Parse and validate a TFLite flatbuffer.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The content of a ``.tflite`` file. A copy is kept, so later changes to a
        mutable buffer do not affect the result.

    Returns
    -------
    ModelInfo

    Raises
    ------
    InvalidModelError
        The bytes are empty, not a TFLite model, truncated or corrupted (any offset,
        length or index out of range). The message says what is wrong.
    TypeError
        ``data`` is not bytes-like.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError(f"read_model() needs the model's bytes, got {type(data).__name__}. "
                        "Read the file first (open(path, 'rb').read()) or use tj.inspect(path).")
    if not data:
        raise InvalidModelError("not a TFLite model: the data is empty (0 bytes). Pass a "
                                ".tflite file, or convert the model first with tj.convert(...)")
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        found = data[4:8] if len(data) >= 8 else data[:8]
        raise InvalidModelError(
            f"not a TFLite model: the file identifier is {found!r}, expected "
            f"{FILE_IDENTIFIER!r}.{_describe_foreign(data)} Pass a .tflite file, or convert "
            "the model first with tj.convert(...)")
    # The walk allocates thousands of small acyclic objects; with TensorFlow loaded a
    # generation-2 collection in the middle costs more than the walk itself.
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Parser(data).model()
    except _Corrupt as exc:
        raise InvalidModelError(
            f"corrupted TFLite model ({len(data)} bytes): {exc}. The file is truncated or "
            "damaged; convert or download it again.") from None
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        # Defensive net: every read above is checked first, so this is not expected.
        raise InvalidModelError(
            f"corrupted TFLite model ({len(data)} bytes): unexpected structure "
            f"({type(exc).__name__}: {exc}). The file is damaged; convert it again.") from None
    finally:
        if gc_enabled:
            gc.enable()
