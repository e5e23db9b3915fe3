"""Group the operators of a subgraph that the ops table cannot tell apart, with numpy.

A model repeats itself: hundreds of operators share their type, options, and the
dtypes, shapes and quantization of their tensors. The ops table builds one row per
*template* (same op, options and exact tensor signatures) and asks the support rules
once per *verdict group* (same facts the rules read), so its cost grows with the
variety of a model rather than its size.
"""
from __future__ import annotations

from typing import Tuple

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


def tensor_groups(graph: SubgraphInfo, static: np.ndarray, exact: bool) -> np.ndarray:
    """Group id per tensor: equal ids mean equal facts for the support rules.

    With ``exact`` the facts include every dimension, otherwise only the rank. Both
    include the dtype, whether the tensor is static or constant, its number of scales
    (exactly, or as none / one / several) and its quantization axis.
    """
    t = graph.tensor_columns
    rank = t.shape.counts
    scales = t.scale.counts if exact else np.minimum(t.scale.counts, 2)
    columns = [t.dtype, rank, static, t.is_constant, scales, t.quantized_dimension]
    if exact:
        columns.append(np.where(rank > _MAX_RANK, np.arange(t.count), -1))
        columns.append(_padded(t.shape, _MAX_RANK, -3))
    matrix = np.column_stack(columns).astype(_I64) if t.count else np.zeros((0, 1), _I64)
    return factorize_rows(matrix)[0]


def _padded(flat: Flat, width: int, fill: int, values=None) -> np.ndarray:
    """Each item of ``flat`` as a row of ``width`` columns (cut, or padded with ``fill``)."""
    counts = flat.counts
    matrix = np.full((len(counts), width), fill, _I64)
    total = int(counts.sum())
    if total:
        rows = np.repeat(np.arange(len(counts)), counts)
        cols = np.arange(total) - np.repeat(flat.offsets, counts)
        keep = cols < width
        source = flat.values if values is None else values
        matrix[rows[keep], cols[keep]] = source[keep]
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


def operator_matrix(graph: SubgraphInfo, tensor_ids: np.ndarray, options: np.ndarray,
                    options_2: np.ndarray) -> np.ndarray:
    """One row per operator: its code, options, and the group of each of its tensors."""
    ops = graph.operator_columns
    by_index = np.append(tensor_ids, -2)  # index -1 (an omitted input) reads -2
    inputs, outputs = ops.inputs, ops.outputs
    crowded = (inputs.counts > _MAX_INPUTS) | (outputs.counts > _MAX_OUTPUTS)
    return np.column_stack([
        ops.opcode, ops.options_type, ops.options_2_type, options, options_2, inputs.counts,
        outputs.counts, np.where(crowded, np.arange(ops.count), -1),
        _padded(inputs, _MAX_INPUTS, -1, by_index[inputs.values]),
        _padded(outputs, _MAX_OUTPUTS, -1, by_index[outputs.values]),
    ]).astype(_I64)

