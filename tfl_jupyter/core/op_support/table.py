"""The per-operator table (``.ops``) and the per-op-type summary (``.op_summary``)."""
from __future__ import annotations

import gc
import re
from typing import Dict, List

import numpy as np
import pandas as pd

from ..tflite_reader import TENSOR_TYPE_NAMES, ModelInfo, SubgraphInfo
from . import edgetpu_rules, gpu_rules, xnnpack_rules
from .context import CUSTOM_CODE, FLEX_PREFIX, RUNTIME_CUSTOM_OPS, GraphView, OpContext
from .gpu_rules import gpu_verdict
from .grouping import factorize_rows, operator_matrices, option_groups, tensor_groups
from .edgetpu_rules import edgetpu_verdict, mapped_part
from .micro_rules import micro_verdict
from .options import OPTION_LAYOUTS
from .partitions import partition_caption
from .quantization import NARROW_WEIGHT_TYPES, quantization_scheme
from .xnnpack_rules import xnnpack_verdict

OPS_COLUMNS = [
    "subgraph", "index", "op", "version", "kind", "tf_op", "custom_code",
    "input_types", "output_types", "input_shapes", "output_shapes", "quantized",
    "quant_scheme", "weights_quant", "activation", "xnnpack", "gpu", "micro", "edgetpu",
    "notes", "inputs", "outputs",
]
# The verdict columns: every target, and those .ops has unless asked for others.
TARGETS = ("xnnpack", "gpu", "micro", "edgetpu")
ALWAYS_TARGETS = ("xnnpack", "gpu")  # the summary's blockers and partitions read them
DEFAULT_TARGETS = ("xnnpack", "gpu", "micro")
_TARGET_LABELS = {"xnnpack": "XNNPACK", "gpu": "GPU", "micro": "Micro", "edgetpu": "Edge TPU"}
SUMMARY_COLUMNS = [
    "op", "kind", "count", "blocker", "xnnpack", "gpu", "micro", "edgetpu", "xnnpack_count",
    "gpu_count", "micro_count", "edgetpu_count", "quantized", "quant_scheme", "versions",
    "subgraphs", "notes",
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


def _verdict(ctx: OpContext, targets=TARGETS) -> tuple:
    kind = ctx.kind
    quantized, scheme, weights = quantization_scheme(ctx)
    judged = {}
    if "gpu" in targets:
        judged["gpu"] = gpu_verdict(ctx)
    if "xnnpack" in targets:
        judged["xnnpack"] = xnnpack_verdict(ctx, scheme)
    if "micro" in targets:
        judged["micro"] = micro_verdict(ctx, scheme)
    if "edgetpu" in targets:
        judged["edgetpu"] = edgetpu_verdict(ctx)
    notes = [_kind_note(ctx)] if kind != "builtin" else []
    if ctx.name == "WHILE" and kind == "builtin":
        notes += [note for note in (_loop_note(ctx),) if note]
    for target, (_, reason) in judged.items():
        # A Flex op's own note already says it has no runtime on the newer targets.
        if reason and not (kind == "flex" and target in ("micro", "edgetpu")):
            notes.append(f"{_TARGET_LABELS[target]}: {reason}")
    activation = ctx.activation if ctx.name in _FUSED_ACTIVATION_OPS else ""
    ok = {target: verdict[0] for target, verdict in judged.items()}
    return (kind, quantized, scheme, weights, ok.get("xnnpack"), ok.get("gpu"),
            ok.get("micro"), ok.get("edgetpu"), "; ".join(notes), activation)


def check_targets(targets) -> tuple:
    """The verdict columns for ``targets``, in table order: XNNPACK and GPU always (the
    runtime's own delegates), plus the device targets asked for (default: micro).

    Raises
    ------
    ValueError
        An unknown target (the message lists the valid ones).
    """
    if targets is None:
        return DEFAULT_TARGETS
    if isinstance(targets, str):
        targets = targets.split(",")
    try:
        wanted = {str(t).strip().lower() for t in targets} - {""}
    except TypeError:
        raise TypeError(f"targets must be a list of names such as ['micro', 'edgetpu'], "
                        f"got {type(targets).__name__}") from None
    unknown = sorted(wanted - set(TARGETS))
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(map(repr, unknown))}: choose from "
                         f"{', '.join(TARGETS)} (e.g. targets=['micro', 'edgetpu'])")
    return tuple(t for t in TARGETS if t in wanted or t in ALWAYS_TARGETS)


def ops_table(model: ModelInfo, targets=None) -> pd.DataFrame:
    """Build the per-operator support table of a model.

    Parameters
    ----------
    model : ModelInfo
        From :func:`tfl_jupyter.core.tflite_reader.read_model`.
    targets : sequence of str or comma-separated str, optional
        Device targets to judge besides XNNPACK and GPU (always judged): ``'micro'``
        (TFLite Micro), ``'edgetpu'``. Default ``['micro']``: the Edge TPU takes only
        8-bit models, so its notes would fill every row of a float model.

    Returns
    -------
    pandas.DataFrame
        One row per operator of every subgraph, in execution order, with the columns
        of ``OPS_COLUMNS`` (the verdict columns of ``targets`` only): ``kind`` is builtin
        / flex / custom; ``xnnpack`` and ``gpu`` are True when that delegate will take
        the op, ``micro`` when TFLite Micro has a kernel for it, ``edgetpu`` when the
        Edge TPU compiler maps it; ``notes`` says why not;
        ``quantized`` is True when the op computes in integer arithmetic, with the
        scheme in ``quant_scheme`` and per-tensor / per-channel weights in
        ``weights_quant``. Tuple columns hold one entry per input/output tensor.
    """
    gc_enabled = gc.isenabled()
    gc.disable()  # see read_model: many small acyclic objects
    try:
        return _ops_table(model, check_targets(targets))
    finally:
        if gc_enabled:
            gc.enable()


def _ops_table(model: ModelInfo, targets: tuple) -> pd.DataFrame:
    names = [c for c in OPS_COLUMNS if c not in TARGETS or c in targets]
    parts = [_subgraph_columns(model, graph, targets) for graph in model.subgraphs]
    if len(parts) == 1:
        columns = parts[0]
    else:
        columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
    return pd.DataFrame(columns, columns=names)


def _objects(values: list) -> np.ndarray:
    """A 1-D object array of ``values`` (tuples stay tuples)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _subgraph_columns(model: ModelInfo, graph: SubgraphInfo, targets: tuple) -> Dict[str, object]:
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
        _verdict_keys(model, graph, by_rank, templates, rows, targets))
    verdicts = []
    numbered = {}  # group -> notes with tensor roles to fill in per operator
    for group, op in enumerate(group_ops.tolist()):
        verdict = _verdict(OpContext(graph.operators[op], view), targets)
        notes = verdict[_NOTES]
        if _TENSOR_NUMBER.search(notes):
            numbered[group] = _roles(notes, inputs[op] + outputs[op])
        verdicts.append(verdict)
    for j, name in enumerate(_VERDICT_COLUMNS):
        values = _objects([verdict[j] for verdict in verdicts])[groups]
        columns[name] = values.astype(bool) if name in _BOOL_COLUMNS else values
    if numbered:
        _number_notes(columns, numbered, groups, graph, view, inputs, outputs, targets)
    if "edgetpu" in targets:
        _edgetpu_mapped_part(columns, graph.index)
    columns["inputs"], columns["outputs"] = _objects(inputs), _objects(outputs)
    return columns


def _edgetpu_mapped_part(columns: Dict[str, object], subgraph: int) -> None:
    """The compiler maps one part of the main graph: after the first op it cannot map,
    supported ops run on the CPU too; other subgraphs (loop bodies) run there."""
    supported = columns["edgetpu"]
    if subgraph == 0:
        mapped, cut = mapped_part(columns["op"].tolist(), supported,
                                  columns["input_types"].tolist(),
                                  columns["output_types"].tolist())
        why = (f"Edge TPU: after {columns['op'][cut]} (op {cut}), the first op the compiler "
               "cannot map, everything runs on the CPU") if cut >= 0 else ""
    else:
        mapped, why = np.zeros_like(supported), "Edge TPU: only the main graph is compiled"
    notes = columns["notes"]
    for op in np.flatnonzero(supported & ~mapped).tolist():
        notes[op] = f"{notes[op]}; {why}" if notes[op] else why
    columns["edgetpu"] = mapped


def _verdict_keys(model: ModelInfo, graph: SubgraphInfo, by_rank: np.ndarray,
                  templates: np.ndarray, rows: list, targets: tuple) -> np.ndarray:
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
    edgetpu = "edgetpu" in targets
    by_value_ops = xnnpack_rules.VALUE_DEPENDENT | (edgetpu_rules.VALUE_DEPENDENT if edgetpu
                                                    else frozenset())
    exact_shapes = _EXACT_SHAPES | (edgetpu_rules.EXACT_SHAPES if edgetpu else frozenset())
    for op in np.flatnonzero(ops_named(by_value_ops)).tolist():
        key = tuple(_small_constant(model, graph, i) for i in ops.inputs.item(op))
        by_value[op] = values.setdefault(key, len(values))
    return np.column_stack([
        by_rank,
        np.where(ops_named(exact_shapes), templates, -1), template_facts[templates],
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
                    "micro", "edgetpu", "notes", "activation")
_NOTES = _VERDICT_COLUMNS.index("notes")
_BOOL_COLUMNS = frozenset({"quantized", "xnnpack", "gpu", "micro", "edgetpu"})
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


def _number_notes(columns, numbered, groups, graph, view, inputs, outputs, targets) -> None:
    notes = columns["notes"]
    for op in np.flatnonzero(np.isin(groups, list(numbered))).tolist():
        parts = numbered[int(groups[op])]
        if parts is None:
            verdict = _verdict(OpContext(graph.operators[op], view), targets)
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
        one column per target of the table (``xnnpack``, ``gpu``, ``micro``,
        ``edgetpu``: True when every instance runs there) with ``<target>_count`` (how
        many do), the quantization schemes, op versions, subgraphs, and the distinct
        reasons in ``notes``. Sorted by blocker severity, then count.
        ``attrs["caption"]`` says how many partitions the GPU and XNNPACK delegates
        cut the main subgraph into, and which ops split them (see :func:`partitions`).
    """
    targets = [t for t in TARGETS if t in ops.columns]
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
    columns = [c for c in SUMMARY_COLUMNS
               if c.replace("_count", "") not in TARGETS or c.replace("_count", "") in targets]
    rows = []
    for (op, kind), g in groups.items():
        count = g["count"]
        quantized = "all" if g["q"] == count else ("none" if g["q"] == 0 else "some")
        rows.append((op, kind, count, _blocker(kind, g["custom_code"], count, g["xnnpack"],
                                               g["gpu"]))
                    + tuple(g[t] == count for t in targets) + tuple(g[t] for t in targets)
                    + (quantized, ", ".join(s for s in g["schemes"] if s),
                       tuple(sorted(g["versions"])), tuple(sorted(g["subgraphs"])),
                       _join_notes(list(g["notes"]))))
    rows.sort(key=lambda r: (-_BLOCKER_RANK[r[3]], -r[2], r[0]))
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"count": "int64", **{t: bool for t in targets},
         **{f"{t}_count": "int64" for t in targets}})
    frame.attrs["caption"] = partition_caption(ops)
    return frame
