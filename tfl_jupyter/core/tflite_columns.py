"""Decode the long vectors of a TFLite flatbuffer (tensors, operators, buffers) in bulk.

numpy walks a whole vector of tables at once: every position, length and index is
checked for all elements together, and the values are kept as columns. Records
(``TensorInfo``, ``OperatorInfo``, ``BufferInfo``) are only built when asked for, so a
5,000-operator model costs a few dozen array operations instead of 20,000 Python objects.

The checks are the ones of the flatbuffer layout (see ``tflite_reader``): a table's
vtable lies inside the file and its fields inside the table; a vector's elements lie
inside the file; a string ends with a NUL byte; indices point at existing items.
"""
from __future__ import annotations

import functools
import struct
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

_I64 = np.int64


class Corrupt(Exception):
    """A failed check; the reader turns it into InvalidModelError with context."""


class LazyRecords(Sequence):
    """A read-only list whose items are built by ``make(index)`` on first access."""

    __slots__ = ("_make", "_items")

    def __init__(self, count: int, make: Callable[[int], object]):
        self._make = make
        self._items: List[object] = [None] * count

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._items)))]
        item = self._items[index]  # IndexError for a bad index, like a list
        if item is None:
            if index < 0:
                index += len(self._items)
            item = self._items[index] = self._make(index)
        return item

    def __iter__(self) -> Iterator:
        items, make = self._items, self._make
        for i, item in enumerate(items):
            if item is None:
                item = items[i] = make(i)
            yield item

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, LazyRecords)) and list(self) == list(other)

    def __reduce__(self):
        return list, (list(self),)  # pickles as the plain list of its records

    def __repr__(self) -> str:
        return f"[{len(self)} records]"


def first(mask: np.ndarray) -> int:
    """Index of the first True of ``mask``."""
    return int(np.argmax(mask))


def _fail(bad: np.ndarray, ids: Optional[np.ndarray], kind: str, message: str) -> Corrupt:
    """The error for the first True of ``bad``, naming the element by its own index."""
    i = first(bad)
    return Corrupt(f"{kind} {int(ids[i]) if ids is not None else i}: {message}")


class FileView:
    """numpy views of the model's bytes, with checked bulk reads.

    Every checking method takes ``kind`` ('tensor', 'operator', ...) and optionally
    ``ids``, the element number of each position, for the error message.

    Parameters
    ----------
    buf : bytes
    vtable : callable
        ``vtable(position, layout, what)`` validates one vtable and returns
        ``(field_offsets, table_size)`` (the reader's own, cached check).
    """

    def __init__(self, buf: bytes, vtable: Callable):
        self.buf = buf
        self.size = len(buf)
        self.u8 = np.frombuffer(buf, np.uint8)
        self.vtable = vtable

    def gather(self, pos: np.ndarray, dtype: str) -> np.ndarray:
        """Values of ``dtype`` at byte positions ``pos`` (already bounds-checked)."""
        width = np.dtype(dtype).itemsize
        if not pos.size:
            return np.zeros(0, dtype)
        if not (pos & (width - 1)).any():
            words = np.frombuffer(self.buf, dtype, count=self.size // width)
            return words[pos // width]
        # Unaligned (legal for a hand-made file): gather the bytes one by one.
        raw = self.u8[pos[:, None] + np.arange(width)]
        return np.ascontiguousarray(raw).view(dtype).ravel()

    def read(self, pos: np.ndarray, dtype: str, kind: str, what: str, ids=None) -> np.ndarray:
        """Scalars at ``pos``, after checking each lies inside the file."""
        width = np.dtype(dtype).itemsize
        if pos.size and (pos.min() < 0 or pos.max() > self.size - width):
            bad = (pos < 0) | (pos > self.size - width)
            raise _fail(bad, ids, kind, f"{what} is past the end of the file")
        return self.gather(pos, dtype)

    def vectors(self, pos: np.ndarray, elem_size: int, kind: str, what: str, ids=None):
        """Check the vectors whose length words are at ``pos``.

        Returns
        -------
        (starts, counts) : int64 arrays
            Byte position of each first element, and each length.
        """
        counts = self.read(pos, "<u4", kind, f"the {what}", ids).astype(_I64)
        bad = pos + 4 + counts * elem_size > self.size
        if bad.any():
            raise _fail(bad, ids, kind, f"the {what} runs past the end of the file")
        return pos + 4, counts

    def elements(self, starts: np.ndarray, counts: np.ndarray, dtype: str) -> np.ndarray:
        """All elements of checked vectors, concatenated."""
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dtype)
        width = np.dtype(dtype).itemsize
        offsets = np.cumsum(counts) - counts
        pos = np.repeat(starts - offsets * width, counts) + np.arange(total, dtype=_I64) * width
        return self.gather(pos, dtype)

    def table_vector(self, start: int, count: int) -> np.ndarray:
        """Positions of the tables of a checked vector of ``count`` uoffsets at ``start``."""
        slots = start + 4 * np.arange(count, dtype=_I64)
        return slots + self.gather(slots, "<u4").astype(_I64)


class Tables:
    """A checked vector of tables of one type: field offsets per table, as a matrix.

    Attributes
    ----------
    pos : int64 array
        Byte position of each table.
    ids : int64 array or None
        Element number of each table for messages (None: its position in ``pos``).
    fields : int64 array, shape (n, len(layout))
        Offset of each field inside its table (0 = absent).
    vtable_ids, vtables : int array, list
        Each table's index into ``vtables``, the distinct ``(field_offsets, size)``.
    """

    def __init__(self, view: FileView, pos: np.ndarray, layout: Tuple[int, ...], kind: str,
                 what: str = "", ids: Optional[np.ndarray] = None):
        what = what or kind
        self.view, self.pos, self.kind, self.ids = view, pos, kind, ids
        vt = pos - view.read(pos, "<i4", kind, f"the {what} table", ids).astype(_I64)
        if len(vt) and (vt == vt[0]).all():  # one shared vtable: the usual case
            distinct, self.vtable_ids = vt[:1], np.zeros(len(vt), np.intp)
        else:
            distinct, self.vtable_ids = np.unique(vt, return_inverse=True)
        self.vtables = []
        for j, position in enumerate(distinct.tolist()):
            try:
                self.vtables.append(view.vtable(position, layout, what))
            except Corrupt as exc:
                raise _fail(self.vtable_ids == j, ids, kind, str(exc)) from None
        width = max(len(layout), 1)
        matrix = np.array([(f + (0,) * width)[:width] for f, _ in self.vtables], _I64)
        sizes = np.array([size for _, size in self.vtables], _I64)
        self.fields = matrix.reshape(len(self.vtables), width)[self.vtable_ids]
        bad = pos + sizes[self.vtable_ids] > view.size
        if bad.any():
            raise _fail(bad, ids, kind, f"the {what} table runs past the end of the file")

    def _subset_ids(self, present: np.ndarray) -> np.ndarray:
        where = np.flatnonzero(present)
        return where if self.ids is None else self.ids[where]

    def scalar(self, slot: int, dtype: str, default=0) -> np.ndarray:
        """The field ``slot`` of every table (``default`` where absent)."""
        offsets = self.fields[:, slot]
        present = offsets != 0
        values = np.full(len(self.pos), default, dtype=dtype)
        if present.any():
            # Offsets inside their tables were checked with the vtables.
            values[present] = self.view.gather(self.pos[present] + offsets[present], dtype)
        return values

    def targets(self, slot: int) -> Tuple[np.ndarray, np.ndarray]:
        """(mask of tables with the reference field ``slot``, positions it refers to)."""
        offsets = self.fields[:, slot]
        present = offsets != 0
        field_pos = self.pos[present] + offsets[present]
        return present, field_pos + self.view.gather(field_pos, "<u4").astype(_I64)

    def vectors(self, slot: int, elem_size: int, what: str) -> "Ragged":
        """The vector field ``slot`` of every table, checked (empty where absent)."""
        present, where = self.targets(slot)
        counts = np.zeros(len(self.pos), _I64)
        starts = np.zeros(len(self.pos), _I64)
        if present.any():
            starts[present], counts[present] = self.view.vectors(
                where, elem_size, self.kind, what, self._subset_ids(present))
        return Ragged(starts, counts)

    def strings(self, slot: int, what: str) -> "Ragged":
        """The string field ``slot`` of every table, checked (empty where absent)."""
        ragged = self.vectors(slot, 1, what)
        ends = ragged.starts + ragged.counts
        present = self.fields[:, slot] != 0
        bad = present & (ends >= self.view.size)
        if not bad.any():
            bad = present & (self.view.u8[np.minimum(ends, self.view.size - 1)] != 0)
        if bad.any():
            raise _fail(bad, self.ids, self.kind, f"the {what} is not terminated")
        return ragged

    def sub_tables(self, slot: int, layout: Tuple[int, ...], what: str
                   ) -> Tuple[np.ndarray, Optional["Tables"]]:
        """(mask of tables with the field ``slot``, the checked tables it refers to)."""
        present, where = self.targets(slot)
        if not present.any():
            return present, None
        return present, Tables(self.view, where, layout, self.kind, what,
                               self._subset_ids(present))


class Ragged:
    """Vectors of different lengths: byte ``starts`` and element ``counts`` per item."""

    __slots__ = ("starts", "counts")

    def __init__(self, starts: np.ndarray, counts: np.ndarray):
        self.starts, self.counts = starts, counts


class Flat:
    """Checked vectors of one element type: each item on demand, or all as one array."""

    __slots__ = ("_view", "_dtype", "starts", "counts", "_values", "_offsets", "_lists")

    def __init__(self, view: FileView, ragged: Ragged, dtype: str):
        self._view, self._dtype = view, dtype
        self.starts, self.counts = ragged.starts, ragged.counts
        self._values = self._offsets = self._lists = None

    @property
    def values(self) -> np.ndarray:
        """All elements, concatenated (decoded on first use)."""
        if self._values is None:
            self._values = self._view.elements(self.starts, self.counts, self._dtype)
        return self._values

    @property
    def offsets(self) -> np.ndarray:
        """Position of each item's first element in :attr:`values`."""
        if self._offsets is None:
            self._offsets = np.cumsum(self.counts) - self.counts
        return self._offsets

    def item(self, i: int) -> tuple:
        """Item ``i`` as a tuple of Python numbers."""
        if self._lists is None:  # Python lists index faster than numpy arrays
            self._lists = self.starts.tolist(), self.counts.tolist()
        starts, counts = self._lists
        n = counts[i]
        return _unpacker(self._dtype, n)(self._view.buf, starts[i]) if n else ()

    def tuples(self) -> list:
        """Every item as a tuple."""
        values = self.values.tolist()
        return [tuple(values[a:a + n]) for a, n in zip(self.offsets.tolist(),
                                                        self.counts.tolist())]


_STRUCT_CODES = {"<i4": "i", "<f4": "f", "<i8": "q"}


@functools.lru_cache(maxsize=512)
def _unpacker(dtype: str, n: int):
    return struct.Struct("<%d%s" % (n, _STRUCT_CODES[dtype])).unpack_from


# -- the three long vectors of the TFLite schema (tensorflow/compiler/mlir/lite/schema) --

# Byte size of each field we read, by slot (see tflite_reader for the other tables).
TENSOR_FIELDS = (4, 1, 4, 4, 4, 1, 4, 4, 1)  # shape, type, buffer, name, quantization, is_variable, sparsity, shape_signature, has_rank
QUANT_FIELDS = (4, 4, 4, 4, 1, 4, 4)  # min, max, scale, zero_point, details_type, details, quantized_dimension
OPERATOR_FIELDS = (4, 4, 4, 1, 4, 4, 1, 4, 4, 8, 8, 1, 4)  # opcode_index, inputs, outputs, builtin_options_type, builtin_options, custom_options, custom_options_format, mutating_variable_inputs, intermediates, large_custom_options_offset, large_custom_options_size, builtin_options_2_type, builtin_options_2
BUFFER_FIELDS = (4, 8, 8)  # data, offset, size
NO_FIELDS = ()  # tables we only locate (options, sparsity): fields checked on read


class BufferColumns:
    """The model's buffers: where each one's bytes are.

    Attributes
    ----------
    start, size : int64 arrays
        Byte range of each buffer in the file (size 0 = no data).
    external : bool array
        The data is stored after the flatbuffer (models over 2 GB).
    """

    def __init__(self, view: FileView, start: int, count: int):
        tables = Tables(view, view.table_vector(start, count), BUFFER_FIELDS, "buffer")
        inline = tables.fields[:, 0] != 0
        data = tables.vectors(0, 1, "buffer's data")
        offset = tables.scalar(1, "<u8")
        nbytes = tables.scalar(2, "<u8")
        # 0 and 1 are the schema's "no external data" sentinels.
        external = ~inline & (offset > 1)
        bad = external & ((offset > view.size) | (nbytes > view.size - np.minimum(offset, view.size)))
        if bad.any():
            i = first(bad)
            raise Corrupt(f"buffer data at byte {int(offset[i])} (size {int(nbytes[i])}) is "
                          "past the end of the file")
        # Checked above: external offsets and sizes fit in the file, hence in int64.
        self.start = np.where(inline, data.starts, np.where(external, offset, 0).astype(_I64))
        self.size = np.where(inline, data.counts, np.where(external, nbytes, 0).astype(_I64))
        self.start[self.size == 0] = 0
        self.external = external

    def __len__(self) -> int:
        return len(self.start)


class TensorColumns:
    """The tensors of one subgraph, checked, as columns (see ``TensorInfo`` for meanings).

    Attributes
    ----------
    dtype, buffer, quantized_dimension, details : int arrays
        TensorType code, buffer index, quantization axis, QuantizationDetails type.
    shape, signature, scale, zero_point : Flat
        ``signature`` items are empty where the file has none (``has_signature``).
    name : Ragged
        Byte ranges of the names.
    is_constant, is_variable, has_sparsity, has_signature : bool arrays
    """

    def __init__(self, view: FileView, start: int, count: int, buffers: BufferColumns,
                 budget: List[int]):
        tables = Tables(view, view.table_vector(start, count), TENSOR_FIELDS, "tensor")
        self.count = count
        self.shape = Flat(view, _charged(tables.vectors(0, 4, "shape"), budget), "<i4")
        self.has_signature = tables.fields[:, 7] != 0
        self.signature = Flat(view, _charged(tables.vectors(7, 4, "shape_signature"), budget),
                              "<i4")
        self.dtype = tables.scalar(1, "u1").astype(_I64)
        self.buffer = tables.scalar(2, "<u4").astype(_I64)
        bad = self.buffer >= max(len(buffers), 1)
        if bad.any():
            i = first(bad)
            raise Corrupt(f"tensor {i}: refers to buffer {int(self.buffer[i])}, but the model "
                          f"has {len(buffers)} buffers")
        self.is_constant = (buffers.size[self.buffer] > 0) if len(buffers) else np.zeros(count, bool)
        self.is_constant &= self.buffer != 0  # buffer 0 is the schema's empty sentinel
        self.name = tables.strings(3, "name")
        self.is_variable = tables.scalar(5, "u1") != 0
        self.has_sparsity = tables.fields[:, 6] != 0
        if self.has_sparsity.any():
            tables.sub_tables(6, NO_FIELDS, "sparsity")
        self._quantization(view, tables, budget)

    def _quantization(self, view: FileView, tables: Tables, budget: List[int]) -> None:
        count = self.count
        present, quant = tables.sub_tables(4, QUANT_FIELDS, "quantization")
        empty = Ragged(np.zeros(count, _I64), np.zeros(count, _I64))
        self.quantized_dimension = np.zeros(count, _I64)
        self.details = np.zeros(count, _I64)
        if quant is None:
            self.scale = Flat(view, empty, "<f4")
            self.zero_point = Flat(view, empty, "<i8")
            return
        for name, slot, width, dtype in (("scale", 2, 4, "<f4"), ("zero_point", 3, 8, "<i8")):
            sub = quant.vectors(slot, width, f"{name} vector")
            ragged = Ragged(np.zeros(count, _I64), np.zeros(count, _I64))
            ragged.starts[present], ragged.counts[present] = sub.starts, sub.counts
            setattr(self, name, Flat(view, _charged(ragged, budget), dtype))
        self.quantized_dimension[present] = quant.scalar(6, "<i4")
        self.details[present] = quant.scalar(4, "u1")
        if (quant.fields[:, 5] != 0).any():
            quant.sub_tables(5, NO_FIELDS, "quantization details")


def _charged(ragged: Ragged, budget: List[int]) -> Ragged:
    """Charge the vectors' elements to the model's budget (see tflite_reader._Parser)."""
    budget[0] -= int(ragged.counts.sum())
    if budget[0] < 0:
        raise Corrupt("the model references far more elements than the file holds")
    return ragged


class OperatorColumns:
    """The operators of one subgraph, checked, as columns (see ``OperatorInfo``).

    Attributes
    ----------
    opcode, options_type, options_2_type, custom_format : int arrays
    inputs, outputs, intermediates : Flat
        Tensor indices (-1 = an omitted optional input), all checked against the
        subgraph's tensor count.
    options, options_2 : (present mask, Tables or None)
    custom_start, custom_size : int64 arrays
        Byte range of each operator's custom options (size 0 = none).
    """

    def __init__(self, view: FileView, start: int, count: int, ncodes: int, ntensors: int,
                 budget: List[int]):
        tables = Tables(view, view.table_vector(start, count), OPERATOR_FIELDS, "operator")
        self.count = count
        self.opcode = tables.scalar(0, "<u4").astype(_I64)
        bad = self.opcode >= ncodes
        if bad.any():
            i = first(bad)
            raise Corrupt(f"operator {i}: uses operator code {int(self.opcode[i])}, but the "
                          f"model has {ncodes}")
        for name, slot in (("inputs", 1), ("outputs", 2), ("intermediates", 8)):
            flat = Flat(view, _charged(tables.vectors(slot, 4, f"{name} vector"), budget), "<i4")
            bad = (flat.values < -1) | (flat.values >= ntensors)
            if bad.any():
                element = first(bad)
                op = int(np.searchsorted(flat.offsets + flat.counts, element, side="right"))
                raise Corrupt(f"operator {op}: {name} refer to tensor {int(flat.values[element])}"
                              f", but the subgraph has {ntensors} tensors")
            setattr(self, name, flat)
        self.options_type = tables.scalar(3, "u1").astype(_I64)
        self.options_2_type = tables.scalar(11, "u1").astype(_I64)
        self.options = tables.sub_tables(4, NO_FIELDS, "builtin_options")
        self.options_2 = tables.sub_tables(12, NO_FIELDS, "builtin_options_2")
        self.custom_format = tables.scalar(6, "i1").astype(_I64)
        custom = tables.vectors(5, 1, "custom options")
        starts, sizes = custom.starts, custom.counts
        large = (tables.fields[:, 5] == 0) & (tables.fields[:, 9] != 0) & (tables.fields[:, 10] != 0)
        if large.any():
            offsets, nbytes = tables.scalar(9, "<u8"), tables.scalar(10, "<u8")
            for i in np.flatnonzero(large).tolist():
                offset, size = int(offsets[i]), int(nbytes[i])
                if offset + size > view.size:
                    raise Corrupt(f"operator {i}: its large custom options are past the end "
                                  "of the file")
                starts[i], sizes[i] = offset, size
        self.custom_start, self.custom_size = starts, sizes

    def option_index(self, which: int) -> np.ndarray:
        """Row of each operator in ``options`` (which=1) or ``options_2`` (2); -1 if none."""
        present, _ = self.options if which == 1 else self.options_2
        rows = np.cumsum(present) - 1
        rows[~present] = -1
        return rows
