"""Group the operators of a subgraph that the ops table cannot tell apart, with numpy.

A model repeats itself: hundreds of operators share their type, options, and the
dtypes, shapes and quantization of their tensors. The ops table builds one row per
*template* (same op, options and exact tensor signatures) and asks the support rules
once per *verdict group* (same facts the rules read), so its cost grows with the
variety of a model rather than its size.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from ..tflite_reader import SubgraphInfo
from ..tflite_columns import Flat

_I64 = np.int64
_MAX_RANK = 8  # tensors of higher rank (never seen in practice) get a key of their own
_MAX_INPUTS, _MAX_OUTPUTS = 16, 8  # likewise for operators with more tensors
_MAX_OPTION_BYTES = 64
_WEIGHTS = np.random.default_rng(20261126).integers(1, 2 ** 62, size=128, dtype=_I64) | 1


def factorize_rows(matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Number the distinct rows of an integer matrix.

    Parameters
    ----------
    matrix : int64 array, shape (n, k), k <= 128

    Returns
    -------
    (ids, first) : int64 arrays
        The group of each row, and the first row of each group.
    """
    if not len(matrix):
        return np.zeros(0, _I64), np.zeros(0, _I64)
    with np.errstate(over="ignore"):
        hashed = (matrix * _WEIGHTS[:matrix.shape[1]]).sum(axis=1)
    _, first, ids = np.unique(hashed, return_index=True, return_inverse=True)
    ids = ids.ravel()
    if not (matrix == matrix[first][ids]).all():  # a hash collision: group exactly
        _, first, ids = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
        ids = ids.ravel()
    return ids, first


def tensor_groups(graph: SubgraphInfo, static: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Group ids per tensor: equal ids mean equal facts for the support rules.

    Returns
    -------
    (exact, by_rank) : int64 arrays
        Both group by the dtype, whether the tensor is static or constant, its scales
        (none / one / several), its quantization axis, whether its signature has a
        dynamic dimension and whether a dimension before its 3 innermost is above 1;
        ``exact`` also by every dimension and the exact number of scales, ``by_rank``
        only by the rank.
    """
    t = graph.tensor_columns
    if not t.count:
        return np.zeros(0, _I64), np.zeros(0, _I64)
    rank = t.shape.counts
    by_rank = np.column_stack([t.dtype, rank, static, t.is_constant,
                               np.minimum(t.scale.counts, 2), t.quantized_dimension,
                               _any_element(t.signature, t.signature.values < 0),
                               _any_element(t.shape, _outer_dimensions(t.shape)
                                            & (t.shape.values != 1))])
    exact = np.column_stack([by_rank, t.scale.counts,
                             np.where(rank > _MAX_RANK, np.arange(t.count), -1),
                             _Padding(t.shape, _MAX_RANK).fill(t.shape.values, -3)])
    return factorize_rows(exact.astype(_I64))[0], factorize_rows(by_rank.astype(_I64))[0]


def _outer_dimensions(flat: Flat) -> np.ndarray:
    """Per element of ``flat``: does it come before its item's 3 last elements?"""
    counts = flat.counts
    position = np.arange(int(counts.sum())) - np.repeat(flat.offsets, counts)
    return position < np.repeat(counts - 3, counts)


def _any_element(flat: Flat, mask: np.ndarray) -> np.ndarray:
    """Per item of ``flat``: is ``mask`` True for any of its elements?"""
    found = np.zeros(len(flat.counts), bool)
    found[np.repeat(np.arange(len(flat.counts)), flat.counts)[mask]] = True
    return found


class _Padding:
    """Where each element of ``flat`` goes in a matrix of one row per item, ``width``
    columns (longer items are cut)."""

    def __init__(self, flat: Flat, width: int):
        counts = flat.counts
        self.shape = (len(counts), width)
        total = int(counts.sum())
        rows = np.repeat(np.arange(len(counts)), counts)
        cols = np.arange(total) - np.repeat(flat.offsets, counts)
        self.keep = cols < width
        self.rows, self.cols = rows[self.keep], cols[self.keep]

    def fill(self, values: np.ndarray, fill: int) -> np.ndarray:
        """The matrix of ``values`` (one per element), ``fill`` where an item ended."""
        matrix = np.full(self.shape, fill, _I64)
        matrix[self.rows, self.cols] = values[self.keep]
        return matrix


def option_groups(graph: SubgraphInfo, u8: np.ndarray, which: int) -> np.ndarray:
    """Group id per operator of its builtin options' bytes (-1 = no options table).

    The rules read scalar option fields only, so equal table bytes mean equal options.
    """
    ops = graph.operator_columns
    present, tables = ops.options if which == 1 else ops.options_2
    ids = np.full(ops.count, -1, _I64)
    if tables is None:
        return ids
    sizes = np.array([size for _, size in tables.vtables], _I64)[tables.vtable_ids] - 4
    width = max(1, min(int(sizes.max()), _MAX_OPTION_BYTES))
    offsets = np.arange(width)
    positions = np.minimum(tables.pos[:, None] + 4 + offsets, len(u8) - 1)
    content = np.where(offsets < sizes[:, None], u8[positions], -1)
    oversized = np.where(sizes > _MAX_OPTION_BYTES, np.arange(len(sizes)), -1)
    matrix = np.column_stack([tables.vtable_ids, oversized, content]).astype(_I64)
    ids[present] = factorize_rows(matrix)[0]
    return ids


def operator_matrices(graph: SubgraphInfo, tensor_ids: Tuple[np.ndarray, ...],
                      options: np.ndarray, options_2: np.ndarray) -> List[np.ndarray]:
    """Per grouping of the tensors, one row per operator: its code, its options, and the
    group of each of its tensors."""
    ops = graph.operator_columns
    inputs, outputs = ops.inputs, ops.outputs
    crowded = (inputs.counts > _MAX_INPUTS) | (outputs.counts > _MAX_OUTPUTS)
    head = np.column_stack([ops.opcode, ops.options_type, ops.options_2_type, options,
                            options_2, inputs.counts, outputs.counts,
                            np.where(crowded, np.arange(ops.count), -1)])
    padded_inputs, padded_outputs = _Padding(inputs, _MAX_INPUTS), _Padding(outputs, _MAX_OUTPUTS)
    matrices = []
    for ids in tensor_ids:
        by_index = np.append(ids, -2)  # index -1 (an omitted input) reads -2
        matrices.append(np.column_stack([
            head, padded_inputs.fill(by_index[inputs.values], -1),
            padded_outputs.fill(by_index[outputs.values], -1)]).astype(_I64))
    return matrices
