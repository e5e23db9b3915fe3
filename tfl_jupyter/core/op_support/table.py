"""The per-operator table (``.ops``) and the per-op-type summary (``.op_summary``)."""
from __future__ import annotations

import gc
import re
from dataclasses import dataclass, replace
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..tflite_reader import TENSOR_TYPE_NAMES, ModelInfo, SubgraphInfo
from .context import CUSTOM_CODE, FLEX_PREFIX, RUNTIME_CUSTOM_OPS, GraphView, OpContext
from .grouping import factorize_rows, operator_matrices, option_groups, tensor_groups
from .options import OPTION_LAYOUTS
from .partitions import partition_caption
from .quantization import NARROW_WEIGHT_TYPES, quantization_scheme
from .targets import (TARGETS, Measurement, OpFacts, ShapeFacts, Target, check_targets,
                      delegates, in_report_order)

__all__ = ["OPS_COLUMNS", "SUMMARY_COLUMNS", "OpVerdict", "check_targets", "judge", "op_summary",
           "ops_columns", "ops_table", "summary_columns"]

# The columns around the verdict columns (one per target of targets.TARGETS, in its order).
_OPS_HEAD = ["subgraph", "index", "op", "version", "kind", "tf_op", "custom_code",
             "input_types", "output_types", "input_shapes", "output_shapes", "quantized",
             "quant_scheme", "weights_quant", "activation"]
_OPS_TAIL = ["notes", "inputs", "outputs"]
_SUMMARY_HEAD = ["op", "kind", "count", "blocker"]
_SUMMARY_TAIL = ["quantized", "quant_scheme", "versions", "subgraphs", "notes"]


def ops_columns(targets: Optional[Iterable[str]] = None) -> List[str]:
    """The ops table's columns with the verdict columns of ``targets`` (default: every
    target of the registry), in table order."""
    wanted = TARGETS if targets is None else set(targets)
    return _OPS_HEAD + [name for name in TARGETS if name in wanted] + _OPS_TAIL


def summary_columns(targets: Optional[Iterable[str]] = None) -> List[str]:
    """The op summary's columns for ``targets`` (default: every target of the registry):
    one verdict column and one ``<target>_count`` column each."""
    wanted = TARGETS if targets is None else set(targets)
    names = [name for name in TARGETS if name in wanted]
    return _SUMMARY_HEAD + names + [f"{name}_count" for name in names] + _SUMMARY_TAIL


#: Every column an ops table can have (every target of the registry, as imported).
OPS_COLUMNS = ops_columns()
#: Every column an op summary can have.
SUMMARY_COLUMNS = summary_columns()
# Summary order: what stops the model from running at all comes first; "not on <label>"
# (a delegate of the table that misses some ops of the type) ranks 1.
_BLOCKERS = (
    ("needs custom kernel", 5),
    ("needs Flex runtime", 4),
    ("no delegate", 3),
    ("partly delegated", 2),
    ("", 0),
)
_BLOCKER_RANK = dict(_BLOCKERS)
_NOT_ON_RANK = 1
# Where a Flex op can run at all. Sizes: TensorFlow's "Reduce LiteRT binary size" guide
# (selective builds of tensorflow-lite-select-tf-ops.aar for its example models).
FLEX_RUNTIME_NOTE = (
    "needs the Select TF ops runtime (Flex delegate): on Android the "
    "tensorflow-lite-select-tf-ops AAR (the prebuilt one carries every TensorFlow kernel; "
    "a selective build with only this model's ops is about 1.7-2.3 MB per ABI), on iOS "
    "the TensorFlowLiteSelectTfOps pod (linked with -force_load); not available on "
    "microcontrollers (TFLite Micro), the GPU delegate or the Edge TPU, and neither "
    "ai-edge-litert nor tf.lite.Interpreter installed here runs it")
_TENSOR_NUMBER = re.compile(r"tensor (-?\d+)")
_FUSED_ACTIVATION_OPS = frozenset(name for name, (_, fields) in OPTION_LAYOUTS.items()
                                  if "activation" in fields)


def _kind_note(ctx: OpContext) -> str:
    kind = ctx.kind
    code = ctx.op.custom_code
    if kind == "flex":
        return f"Flex op (TensorFlow op {code[len(FLEX_PREFIX):]}): {FLEX_RUNTIME_NOTE}"
    if kind == "custom":
        if code in RUNTIME_CUSTOM_OPS:
            return f"custom op {code!r} ships with the standard TFLite runtime"
        return f"custom op {code!r}: you must register your own kernel with the interpreter"
    return ""


# A loop body with a matrix product and both gate non-linearities is a recurrent cell.
_RECURRENT_BODY = ({"FULLY_CONNECTED", "BATCH_MATMUL"}, {"LOGISTIC"}, {"TANH"})
RECURRENT_LOOP_NOTE = (
    "a recurrent layer (LSTM/GRU) traced as a WHILE loop: it runs one time step at a "
    "time on the CPU, with no GPU, XNNPACK or Edge TPU for the loop; with a fixed "
    "sequence length, build the layer with unroll=True so the steps become plain ops "
    "the delegates take")


def _loop_note(ctx: OpContext) -> str:
    """Why a WHILE op matters, when its body looks like an LSTM/GRU cell."""
    body = ctx.options.get("body_subgraph_index", -1)
    subgraphs = ctx.graph.model.subgraphs
    if not 0 <= body < len(subgraphs):
        return ""
    names = {op.op for op in subgraphs[body].operators}
    return RECURRENT_LOOP_NOTE if all(names & wanted for wanted in _RECURRENT_BODY) else ""


@dataclass(frozen=True)
class OpVerdict:
    """What the rules decide about one operator: its verdict columns of the ops table.

    Attributes
    ----------
    kind : str
        'builtin', 'flex' or 'custom'.
    quantized : bool
    quant_scheme, weights_quant : str
        See :class:`~tfl_jupyter.core.op_support.targets.OpFacts`.
    activation : str
        The fused activation ('' for ops without one).
    supported : dict of str to bool
        Per target judged: does it take the op.
    notes : str
        Why not, target by target ('; '-separated), after the op's own notes.
    """

    kind: str
    quantized: bool
    quant_scheme: str
    weights_quant: str
    activation: str
    supported: Mapping[str, bool]
    notes: str


# The columns of an OpVerdict besides the targets' (``supported``).
_VERDICT_FIELDS = ("kind", "quantized", "quant_scheme", "weights_quant", "notes", "activation")


def judge(ctx: OpContext, targets: Iterable[str],
          measured: Optional[Mapping[str, Measurement]] = None) -> OpVerdict:
    """One operator's verdicts for ``targets`` (names of the registry), on its own: without
    the whole-graph steps (``Target.graph_step``) the ops table applies afterwards."""
    judges = in_report_order(targets)
    return _judge(ctx, judges, _check_measured(judges, measured))


def _check_measured(judges: Iterable[Target],
                    measured: Optional[Mapping[str, Measurement]]) -> Mapping[str, Measurement]:
    """``measured`` (default none), or a ValueError naming a measured target it lacks."""
    measured = dict(measured or {})
    for target in judges:
        if target.needs_measurement and target.name not in measured:
            raise ValueError(f"the {target.name!r} column is judged by running the model: pass "
                             f"its verdicts, measured={{{target.name!r}: {{(subgraph, index): "
                             "(supported, reason)}}")
    return measured


def _judge(ctx: OpContext, judges: Sequence[Target],
           measured: Mapping[str, Measurement]) -> OpVerdict:
    """``judges``: the targets, in report order (the order of their notes)."""
    kind = ctx.kind
    quantized, scheme, weights = quantization_scheme(ctx)
    facts = OpFacts(quantized, scheme, weights)
    notes = [_kind_note(ctx)] if kind != "builtin" else []
    if ctx.name == "WHILE" and kind == "builtin":
        notes += [note for note in (_loop_note(ctx),) if note]
    supported = {}
    for target in judges:
        if target.needs_measurement:
            found = measured[target.name].get((ctx.graph.graph.index, ctx.op.index))
            ok, reason = target.verdict(ctx, replace(facts, measured=found))
        else:
            ok, reason = target.verdict(ctx, facts)
        supported[target.name] = ok
        # A Flex op's own note already says it has no runtime on some targets.
        if reason and (target.flex_notes or kind != "flex"):
            notes.append(f"{target.label}: {reason}")
    activation = ctx.activation if ctx.name in _FUSED_ACTIVATION_OPS else ""
    return OpVerdict(kind, quantized, scheme, weights, activation, supported, "; ".join(notes))


def ops_table(model: ModelInfo, targets=None,
              measured: Optional[Mapping[str, Measurement]] = None) -> pd.DataFrame:
    """Build the per-operator support table of a model.

    Parameters
    ----------
    model : ModelInfo
        From :func:`tfl_jupyter.core.tflite_reader.read_model`.
    targets : sequence of str or comma-separated str, optional
        Targets of the registry (``targets.TARGETS``) to judge besides those always
        judged (XNNPACK and GPU); default: the registry's ``default`` ones (TFLite Micro:
        the Edge TPU takes only 8-bit models, so its notes would fill every row of a
        float model). See :func:`~tfl_jupyter.core.op_support.targets.check_targets`.
    measured : dict, optional
        For each target judged by running the model (``Target.needs_measurement``), its
        verdicts: ``{name: {(subgraph, index): (supported, reason)}}``.

    Returns
    -------
    pandas.DataFrame
        One row per operator of every subgraph, in execution order, with the columns
        of ``ops_columns(targets)``: ``kind`` is builtin / flex / custom; one column per
        target, True when it takes the op (``xnnpack`` and ``gpu`` when that delegate
        will take it, ``micro`` when TFLite Micro has a kernel for it, ``edgetpu`` when
        the Edge TPU compiler maps it, ...); ``notes`` says why not, target by target;
        ``quantized`` is True when the op computes in integer arithmetic, with the
        scheme in ``quant_scheme`` and per-tensor / per-channel weights in
        ``weights_quant``. Tuple columns hold one entry per input/output tensor.

    Raises
    ------
    ValueError
        An unknown target, or a measured target without its ``measured`` verdicts.
    """
    names = check_targets(targets)
    measured = _check_measured((TARGETS[name] for name in names), measured)
    gc_enabled = gc.isenabled()
    gc.disable()  # see read_model: many small acyclic objects
    try:
        return _ops_table(model, names, measured)
    finally:
        if gc_enabled:
            gc.enable()


def _ops_table(model: ModelInfo, targets: Tuple[str, ...],
               measured: Mapping[str, Measurement]) -> pd.DataFrame:
    names = ops_columns(targets)
    judging = _Judging.of(targets, measured)
    parts = [_subgraph_columns(model, graph, judging) for graph in model.subgraphs]
    if len(parts) == 1:
        columns = parts[0]
    else:
        columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
    return pd.DataFrame(columns, columns=names)


def _objects(values: list) -> np.ndarray:
    """A 1-D object array of ``values`` (tuples stay tuples)."""
    return np.fromiter(values, dtype=object, count=len(values))


@dataclass(frozen=True)
class _Judging:
    """One table's targets and what its grouping must know of them (from the registry)."""

    targets: Tuple[str, ...]                 # the verdict columns, in table order
    judges: Tuple[Target, ...]               # the same targets, in report order
    measured: Mapping[str, Measurement]
    exact_shapes: FrozenSet[str]
    shape_facts: Mapping[str, Tuple[ShapeFacts, ...]]
    context_dependent: FrozenSet[str]
    value_dependent: FrozenSet[str]

    @classmethod
    def of(cls, targets: Tuple[str, ...], measured: Mapping[str, Measurement]) -> "_Judging":
        judges = in_report_order(targets)
        groupings = [t.grouping for t in judges]
        shape_facts: Dict[str, Tuple[ShapeFacts, ...]] = {}
        for grouping in groupings:
            for op, facts in grouping.shape_facts.items():
                shape_facts[op] = shape_facts.get(op, ()) + (facts,)
        return cls(targets, judges, measured,
                   frozenset().union(*(g.exact_shapes for g in groupings)), shape_facts,
                   frozenset().union(*(g.context_dependent for g in groupings)),
                   frozenset().union(*(g.value_dependent for g in groupings)))

    def judge(self, ctx: OpContext) -> OpVerdict:
        return _judge(ctx, self.judges, self.measured)


def _subgraph_columns(model: ModelInfo, graph: SubgraphInfo, judging: _Judging) -> Dict[str, object]:
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
        _verdict_keys(model, graph, by_rank, templates, rows, judging))
    verdicts = []
    numbered = {}  # group -> notes with tensor roles to fill in per operator
    for group, op in enumerate(group_ops.tolist()):
        verdict = judging.judge(OpContext(graph.operators[op], view))
        if _TENSOR_NUMBER.search(verdict.notes):
            numbered[group] = _roles(verdict.notes, inputs[op] + outputs[op])
        verdicts.append(verdict)
    for name in _VERDICT_FIELDS:
        values = _objects([getattr(verdict, name) for verdict in verdicts])[groups]
        columns[name] = values.astype(bool) if name == "quantized" else values
    for name in judging.targets:
        columns[name] = np.array([verdict.supported[name] for verdict in verdicts] or [False],
                                 bool)[groups]
    if numbered:
        _number_notes(columns, numbered, groups, graph, view, inputs, outputs, judging)
    for target in judging.judges:
        if target.graph_step is not None:
            target.graph_step(columns, graph.index)
    columns["inputs"], columns["outputs"] = _objects(inputs), _objects(outputs)
    return columns


def _verdict_keys(model: ModelInfo, graph: SubgraphInfo, by_rank: np.ndarray,
                  templates: np.ndarray, rows: list, judging: _Judging) -> np.ndarray:
    """One row per operator of everything its verdict depends on: equal rows, equal
    verdicts (up to the tensor numbers in the notes, see _roles). ``by_rank`` is the
    operator matrix of tensors grouped by rank; ``templates`` by exact shapes. What the
    targets' rules read beyond that is in their ``Target.grouping``; a measured target's
    verdicts are part of the key."""
    ops = graph.operator_columns
    names = [code.name for code in model.operator_codes]

    def ops_named(wanted) -> np.ndarray:
        return np.array([name in wanted for name in names] or [False])[ops.opcode]

    facts: Dict[object, int] = {}
    shape_facts = judging.shape_facts
    template_facts = np.array([
        facts.setdefault((row[0], tuple(f(row[6], row[7]) for f in shape_facts[row[0]])),
                         len(facts))
        if row[0] in shape_facts else -1 for row in rows] or [-1])
    by_value = np.full(ops.count, -1)
    values: Dict[tuple, int] = {}
    for op in np.flatnonzero(ops_named(judging.value_dependent)).tolist():
        key = tuple(_small_constant(model, graph, i) for i in ops.inputs.item(op))
        by_value[op] = values.setdefault(key, len(values))
    keys = [by_rank,
            np.where(ops_named(judging.exact_shapes), templates, -1), template_facts[templates],
            np.where(ops_named(judging.context_dependent), np.arange(ops.count), -1), by_value]
    for target in judging.judges:
        if target.needs_measurement:
            found, seen = judging.measured[target.name], {}
            keys.append(np.array([seen.setdefault(found.get((graph.index, op)), len(seen))
                                  for op in range(ops.count)] or [0], np.int64)[:ops.count])
    return np.column_stack(keys)


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
# ... and those the rules decide: _VERDICT_FIELDS and one per target (see OpVerdict).


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


def _number_notes(columns, numbered, groups, graph, view, inputs, outputs,
                  judging: _Judging) -> None:
    notes = columns["notes"]
    for op in np.flatnonzero(np.isin(groups, list(numbered))).tolist():
        parts = numbered[int(groups[op])]
        if parts is None:
            verdict = judging.judge(OpContext(graph.operators[op], view))
            for name in _VERDICT_FIELDS:
                columns[name][op] = getattr(verdict, name)
            for name in judging.targets:
                columns[name][op] = verdict.supported[name]
            continue
        tensors = inputs[op] + outputs[op]
        notes[op] = "".join(part if k % 2 == 0 else f"tensor {tensors[part]}"
                            for k, part in enumerate(parts))


def _blocker(kind: str, custom_code, count: int,
             delegated: Sequence[Tuple[str, int]]) -> Tuple[str, int]:
    """What keeps an op type from running everywhere, and its rank (higher: worse).
    ``delegated``: per delegate of the table, in report order, its label and how many of
    the ``count`` ops it takes."""
    if kind == "custom" and custom_code not in RUNTIME_CUSTOM_OPS:
        blocker = "needs custom kernel"
    elif kind == "flex":
        blocker = "needs Flex runtime"
    elif delegated and all(taken == 0 for _, taken in delegated):
        blocker = "no delegate"
    elif delegated and all(taken < count for _, taken in delegated):
        blocker = "partly delegated"
    else:
        missed = [label for label, taken in delegated if taken < count]
        if missed:
            return f"not on {missed[0]}", _NOT_ON_RANK
        blocker = ""
    return blocker, _BLOCKER_RANK[blocker]


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
        'no delegate', 'partly delegated', 'not on <delegate>' such as 'not on GPU' or
        'not on XNNPACK', or ''), one column per target of the table (``xnnpack``,
        ``gpu``, ``micro``, ...: True when every instance runs there) with
        ``<target>_count`` (how many do), the quantization schemes, op versions,
        subgraphs, and the distinct reasons in ``notes``. Sorted by blocker severity,
        then count. ``attrs["caption"]`` says how many partitions each delegate (GPU,
        XNNPACK, ...) cuts the main subgraph into, and which ops split them (see
        :func:`partitions`).
    """
    targets = [t for t in TARGETS if t in ops.columns]
    blocking = [(t.name, t.label) for t in delegates(targets)]
    groups: Dict[tuple, dict] = {}
    for row in ops[["op", "kind", "custom_code", "version", "subgraph", "quantized",
                    "quant_scheme", "weights_quant", "notes"] + targets].itertuples(index=False):
        key = (row.op, row.kind)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"custom_code": row.custom_code, "count": 0, "q": 0,
                               "schemes": {}, "versions": set(), "subgraphs": set(),
                               "notes": {}, **{t: 0 for t in targets}}
        g["count"] += 1
        for t in targets:
            g[t] += bool(getattr(row, t))
        g["q"] += bool(row.quantized)
        narrow = row.weights_quant.split(" ")[0] if row.weights_quant.split(" ")[0] in NARROW_WEIGHT_TYPES else ""
        g["schemes"][f"{row.quant_scheme} ({narrow} weights)" if narrow else row.quant_scheme] = None
        g["versions"].add(int(row.version))
        g["subgraphs"].add(int(row.subgraph))
        for note in row.notes.split("; ") if row.notes else ():
            g["notes"][_TENSOR_NUMBER.sub("tensor", note)] = None
    columns = summary_columns(targets)
    rows, ranks = [], {}
    for (op, kind), g in groups.items():
        count = g["count"]
        quantized = "all" if g["q"] == count else ("none" if g["q"] == 0 else "some")
        blocker, ranks[op, kind] = _blocker(kind, g["custom_code"], count,
                                            [(label, g[name]) for name, label in blocking])
        rows.append((op, kind, count, blocker)
                    + tuple(g[t] == count for t in targets) + tuple(g[t] for t in targets)
                    + (quantized, ", ".join(s for s in g["schemes"] if s),
                       tuple(sorted(g["versions"])), tuple(sorted(g["subgraphs"])),
                       _join_notes(list(g["notes"]))))
    rows.sort(key=lambda r: (-ranks[r[0], r[1]], -r[2], r[0]))
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"count": "int64", **{t: bool for t in targets},
         **{f"{t}_count": "int64" for t in targets}})
    frame.attrs["caption"] = partition_caption(ops)
    return frame
