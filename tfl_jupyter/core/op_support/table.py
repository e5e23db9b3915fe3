"""The per-operator table (``.ops``) and the per-op-type summary (``.op_summary``)."""
from __future__ import annotations

import gc
import re
from typing import Dict, List

import numpy as np
import pandas as pd

from ..tflite_reader import TENSOR_TYPE_NAMES, ModelInfo, SubgraphInfo
from . import gpu_rules, xnnpack_rules
from .context import CUSTOM_CODE, FLEX_PREFIX, RUNTIME_CUSTOM_OPS, GraphView, OpContext
from .gpu_rules import gpu_verdict
from .grouping import factorize_rows, operator_matrices, option_groups, tensor_groups
from .options import OPTION_LAYOUTS
from .quantization import quantization_scheme
from .xnnpack_rules import xnnpack_verdict

OPS_COLUMNS = [
    "subgraph", "index", "op", "version", "kind", "tf_op", "custom_code",
    "input_types", "output_types", "input_shapes", "output_shapes", "quantized",
    "quant_scheme", "weights_quant", "activation", "xnnpack", "gpu", "notes",
    "inputs", "outputs",
]
SUMMARY_COLUMNS = [
    "op", "kind", "count", "blocker", "xnnpack", "gpu", "xnnpack_count", "gpu_count",
    "quantized", "quant_scheme", "versions", "subgraphs", "notes",
]
# Summary order: what stops the model from running at all comes first.
_BLOCKERS = (
    ("needs custom kernel", 5),
    ("needs Flex runtime", 4),
    ("no delegate", 3),
    ("partly delegated", 2),
    ("not on GPU", 1),
    ("not on XNNPACK", 1),
    ("", 0),
)
_BLOCKER_RANK = dict(_BLOCKERS)
_TENSOR_NUMBER = re.compile(r"tensor (-?\d+)")
_FUSED_ACTIVATION_OPS = frozenset(name for name, (_, fields) in OPTION_LAYOUTS.items()
                                  if "activation" in fields)


def _kind_note(ctx: OpContext) -> str:
    kind = ctx.kind
    code = ctx.op.custom_code
    if kind == "flex":
        return (f"Flex op (TensorFlow op {code[len(FLEX_PREFIX):]}): needs the Select TF ops "
                "runtime (the Flex delegate), which adds several MB to the app")
    if kind == "custom":
        if code in RUNTIME_CUSTOM_OPS:
            return f"custom op {code!r} ships with the standard TFLite runtime"
        return f"custom op {code!r}: you must register your own kernel with the interpreter"
    return ""


def _verdict(ctx: OpContext) -> tuple:
    kind = ctx.kind
    quantized, scheme, weights = quantization_scheme(ctx)
    xnnpack_ok, xnnpack_reason = xnnpack_verdict(ctx, scheme)
    gpu_ok, gpu_reason = gpu_verdict(ctx)
    notes = [_kind_note(ctx)] if kind != "builtin" else []
    if gpu_reason:
        notes.append(f"GPU: {gpu_reason}")
    if xnnpack_reason:
        notes.append(f"XNNPACK: {xnnpack_reason}")
    activation = ctx.activation if ctx.name in _FUSED_ACTIVATION_OPS else ""
    return (kind, quantized, scheme, weights, xnnpack_ok, gpu_ok, "; ".join(notes),
            activation)


def ops_table(model: ModelInfo) -> pd.DataFrame:
    """Build the per-operator support table of a model.

    Parameters
    ----------
    model : ModelInfo
        From :func:`tfl_jupyter.core.tflite_reader.read_model`.

    Returns
    -------
    pandas.DataFrame
        One row per operator of every subgraph, in execution order, with the columns
        of ``OPS_COLUMNS``: ``kind`` is builtin / flex / custom; ``xnnpack`` and ``gpu``
        are True when that delegate will take the op, ``notes`` says why not;
        ``quantized`` is True when the op computes in integer arithmetic, with the
        scheme in ``quant_scheme`` and per-tensor / per-channel weights in
        ``weights_quant``. Tuple columns hold one entry per input/output tensor.
    """
    gc_enabled = gc.isenabled()
    gc.disable()  # see read_model: many small acyclic objects
    try:
        return _ops_table(model)
    finally:
        if gc_enabled:
            gc.enable()


def _ops_table(model: ModelInfo) -> pd.DataFrame:
    parts = [_subgraph_columns(model, graph) for graph in model.subgraphs]
    if len(parts) == 1:
        columns = parts[0]
    else:
        columns = {name: np.concatenate([part[name] for part in parts]) for name in OPS_COLUMNS}
    return pd.DataFrame(columns, columns=OPS_COLUMNS)


def _objects(values: list) -> np.ndarray:
    """A 1-D object array of ``values`` (tuples stay tuples)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _subgraph_columns(model: ModelInfo, graph: SubgraphInfo) -> Dict[str, object]:
    ops = graph.operator_columns
    count = ops.count
    view = GraphView(model, graph)
    u8 = np.frombuffer(model.data, np.uint8)
    exact, by_rank = operator_matrices(graph, tensor_groups(graph, view.static_mask),
                                       option_groups(graph, u8, 1), option_groups(graph, u8, 2))
    templates, template_ops = factorize_rows(exact)
    inputs, outputs = ops.inputs.tuples(), ops.outputs.tuples()
    describe = _template_describer(model, graph)
    rows = [describe(op, inputs[op], outputs[op]) for op in template_ops.tolist()]
    columns: Dict[str, object] = {"subgraph": np.full(count, graph.index, np.int64),
                                  "index": np.arange(count, dtype=np.int64)}
    for j, name in enumerate(_TEMPLATE_COLUMNS):
        columns[name] = _objects([row[j] for row in rows])[templates]
    columns["version"] = columns["version"].astype(np.int64)

    groups, group_ops = factorize_rows(
        _verdict_keys(model, graph, by_rank, templates, rows))
    verdicts = []
    numbered = {}  # group -> notes with tensor roles to fill in per operator
    for group, op in enumerate(group_ops.tolist()):
        verdict = _verdict(OpContext(graph.operators[op], view))
        notes = verdict[_NOTES]
        if _TENSOR_NUMBER.search(notes):
            numbered[group] = _roles(notes, inputs[op] + outputs[op])
        verdicts.append(verdict)
    for j, name in enumerate(_VERDICT_COLUMNS):
        values = _objects([verdict[j] for verdict in verdicts])[groups]
        columns[name] = values.astype(bool) if name in _BOOL_COLUMNS else values
    if numbered:
        _number_notes(columns, numbered, groups, graph, view, inputs, outputs)
    columns["inputs"], columns["outputs"] = _objects(inputs), _objects(outputs)
    return columns


def _verdict_keys(model: ModelInfo, graph: SubgraphInfo, by_rank: np.ndarray,
                  templates: np.ndarray, rows: list) -> np.ndarray:
    """One row per operator of everything its verdict depends on: equal rows, equal
    verdicts (up to the tensor numbers in the notes, see _roles). ``by_rank`` is the
    operator matrix of tensors grouped by rank; ``templates`` by exact shapes."""
    ops = graph.operator_columns
    names = [code.name for code in model.operator_codes]

    def ops_named(wanted) -> np.ndarray:
        return np.array([name in wanted for name in names] or [False])[ops.opcode]

    facts: Dict[object, int] = {}
    template_facts = np.array([
        facts.setdefault((row[0], _SHAPE_FACTS[row[0]](row[6], row[7])), len(facts))
        if row[0] in _SHAPE_FACTS else -1 for row in rows] or [-1])
    by_value = np.full(ops.count, -1)
    values: Dict[tuple, int] = {}
    for op in np.flatnonzero(ops_named(xnnpack_rules.VALUE_DEPENDENT)).tolist():
        key = tuple(_small_constant(model, graph, i) for i in ops.inputs.item(op))
        by_value[op] = values.setdefault(key, len(values))
    return np.column_stack([
        by_rank,
        np.where(ops_named(_EXACT_SHAPES), templates, -1), template_facts[templates],
        np.where(ops_named(_CONTEXT_DEPENDENT), np.arange(ops.count), -1), by_value])


def _small_constant(model: ModelInfo, graph: SubgraphInfo, tensor: int):
    """What a rule can read of an input's value: its bytes when small and constant."""
    if tensor < 0 or not graph.tensor_columns.is_constant[tensor]:
        return None
    buffer = int(graph.tensor_columns.buffer[tensor])
    data = model.buffer_bytes(buffer)
    return bytes(data) if len(data) <= 512 else ("buffer", buffer)


# Columns that depend only on the template (op, options, exact tensor signatures) ...
_TEMPLATE_COLUMNS = ("op", "version", "tf_op", "custom_code", "input_types", "output_types",
                     "input_shapes", "output_shapes")
# ... and those the rules decide, in _verdict's order.
_VERDICT_COLUMNS = ("kind", "quantized", "quant_scheme", "weights_quant", "xnnpack", "gpu",
                    "notes", "activation")
_NOTES = _VERDICT_COLUMNS.index("notes")
_BOOL_COLUMNS = frozenset({"quantized", "xnnpack", "gpu"})
_EXACT_SHAPES = gpu_rules.EXACT_SHAPES | xnnpack_rules.EXACT_SHAPES
_SHAPE_FACTS = gpu_rules.SHAPE_FACTS
_CONTEXT_DEPENDENT = gpu_rules.CONTEXT_DEPENDENT | xnnpack_rules.CONTEXT_DEPENDENT


def _template_describer(model: ModelInfo, graph: SubgraphInfo):
    """``describe(op, inputs, outputs)``: the _TEMPLATE_COLUMNS of one operator."""
    codes, opcodes = model.operator_codes, graph.operator_columns.opcode.tolist()
    tensors = graph.tensor_columns
    known = len(TENSOR_TYPE_NAMES)
    dtype_names = [TENSOR_TYPE_NAMES[c] if c < known else f"type_{c}"
                   for c in tensors.dtype.tolist()] + ["-"]  # [-1]: an omitted input
    shapes = {-1: None}  # -1: an omitted input

    def shape(i: int):
        found = shapes.get(i, shapes)
        if found is shapes:
            found = shapes[i] = tensors.shape.item(i)
        return found

    def describe(op: int, inputs: tuple, outputs: tuple) -> tuple:
        code = codes[opcodes[op]]
        custom = code.custom_code if code.builtin_code == CUSTOM_CODE else None
        flex = custom is not None and custom.startswith(FLEX_PREFIX)
        return (code.name, code.version, custom[len(FLEX_PREFIX):] if flex else None, custom,
                tuple(map(dtype_names.__getitem__, inputs)),
                tuple(map(dtype_names.__getitem__, outputs)),
                tuple(map(shape, inputs)), tuple(map(shape, outputs)))

    return describe


def _roles(notes: str, tensors: tuple):
    """Notes with each 'tensor N' replaced by the role of N in ``tensors`` (inputs, then
    outputs), so a group's notes can name each member's own tensors; None when a number
    is not one role exactly (then every member is judged on its own)."""
    roles: Dict[int, int] = {}
    for role, tensor in enumerate(tensors):
        roles[tensor] = -1 if tensor in roles else role
    parts = _TENSOR_NUMBER.split(notes)  # text, number, text, number, ..., text
    for k in range(1, len(parts), 2):
        role = roles.get(int(parts[k]), -1)
        if role < 0:
            return None
        parts[k] = role
    return parts


def _number_notes(columns, numbered, groups, graph, view, inputs, outputs) -> None:
    notes = columns["notes"]
    for op in np.flatnonzero(np.isin(groups, list(numbered))).tolist():
        parts = numbered[int(groups[op])]
        if parts is None:
            verdict = _verdict(OpContext(graph.operators[op], view))
            for j, name in enumerate(_VERDICT_COLUMNS):
                columns[name][op] = verdict[j]
            continue
        tensors = inputs[op] + outputs[op]
        notes[op] = "".join(part if k % 2 == 0 else f"tensor {tensors[part]}"
                            for k, part in enumerate(parts))


def _blocker(kind: str, custom_code, count: int, xnnpack_count: int, gpu_count: int) -> str:
    if kind == "custom" and custom_code not in RUNTIME_CUSTOM_OPS:
        return "needs custom kernel"
    if kind == "flex":
        return "needs Flex runtime"
    if xnnpack_count == 0 and gpu_count == 0:
        return "no delegate"
    if xnnpack_count < count and gpu_count < count:
        return "partly delegated"
    if gpu_count < count:
        return "not on GPU"
    if xnnpack_count < count:
        return "not on XNNPACK"
    return ""


MAX_SUMMARY_NOTES = 4


def _join_notes(notes: List[str]) -> str:
    shown = "; ".join(notes[:MAX_SUMMARY_NOTES])
    if len(notes) > MAX_SUMMARY_NOTES:
        shown += f"; (+{len(notes) - MAX_SUMMARY_NOTES} more reasons, see .ops)"
    return shown


def op_summary(ops: pd.DataFrame) -> pd.DataFrame:
    """Summarise an ops table by op type, blockers first.

    Parameters
    ----------
    ops : pandas.DataFrame
        A table from :func:`ops_table`.

    Returns
    -------
    pandas.DataFrame
        One row per (op, kind) with ``count``, ``blocker`` (what keeps this op type
        from running everywhere: 'needs custom kernel', 'needs Flex runtime',
        'no delegate', 'partly delegated', 'not on GPU', 'not on XNNPACK' or ''),
        ``xnnpack``/``gpu`` (True when every instance is delegated), how many
        instances are, the quantization schemes, op versions, subgraphs, and the
        distinct reasons in ``notes``. Sorted by blocker severity, then count.
    """
    groups: Dict[tuple, dict] = {}
    for row in ops[["op", "kind", "custom_code", "version", "subgraph", "quantized",
                    "quant_scheme", "xnnpack", "gpu", "notes"]].itertuples(index=False):
        key = (row.op, row.kind)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"custom_code": row.custom_code, "count": 0, "x": 0, "g": 0,
                               "q": 0, "schemes": {}, "versions": set(), "subgraphs": set(),
                               "notes": {}}
        g["count"] += 1
        g["x"] += bool(row.xnnpack)
        g["g"] += bool(row.gpu)
        g["q"] += bool(row.quantized)
        g["schemes"][row.quant_scheme] = None
        g["versions"].add(int(row.version))
        g["subgraphs"].add(int(row.subgraph))
        for note in row.notes.split("; ") if row.notes else ():
            g["notes"][_TENSOR_NUMBER.sub("tensor", note)] = None
    rows = []
    for (op, kind), g in groups.items():
        count = g["count"]
        blocker = _blocker(kind, g["custom_code"], count, g["x"], g["g"])
        quantized = "all" if g["q"] == count else ("none" if g["q"] == 0 else "some")
        rows.append((op, kind, count, blocker, g["x"] == count, g["g"] == count, g["x"],
                     g["g"], quantized, ", ".join(s for s in g["schemes"] if s),
                     tuple(sorted(g["versions"])), tuple(sorted(g["subgraphs"])),
                     _join_notes(list(g["notes"]))))
    rows.sort(key=lambda r: (-_BLOCKER_RANK[r[3]], -r[2], r[0]))
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype({"count": "int64", "xnnpack": bool, "gpu": bool,
                         "xnnpack_count": "int64", "gpu_count": "int64"})
