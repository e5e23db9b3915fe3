"""The per-operator table (``.ops``) and the per-op-type summary (``.op_summary``)."""
from __future__ import annotations

import gc
import re
from typing import Dict, List

import pandas as pd

from ..tflite_reader import ModelInfo
from .context import FLEX_PREFIX, RUNTIME_CUSTOM_OPS, GraphView, OpContext
from .gpu_rules import gpu_verdict
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


# Verdicts of these ops depend on more than the op and its tensors' signatures (graph
# neighbours, constant values, quantization scales), so they are never memoised.
_CONTEXT_DEPENDENT = frozenset({"CAST", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL",
                                "EQUAL", "NOT_EQUAL", "PAD", "STRIDED_SLICE", "QUANTIZE",
                                "LEAKY_RELU", "MEAN", "SUM", "REDUCE_MAX"})


def _tensor_signatures(view: GraphView) -> list:
    """Per tensor, everything the rules may look at except constant values and scales."""
    static = view.static
    signatures = [(t.dtype, t.shape, t.index in static, t.is_constant, len(t.scale),
                   t.quantized_dimension, bool(t.scale) and t.dtype) for t in view.tensors]
    signatures.append(None)  # index -1: an omitted input
    return signatures


def _options_key(op) -> tuple:
    table = op.builtin_options
    if table is None:
        return (op.builtin_options_type,)
    return (op.builtin_options_type, table.fields_key())


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
    columns: Dict[str, List] = {name: [] for name in OPS_COLUMNS}
    c = columns
    add_subgraph, add_index, add_op = c["subgraph"].append, c["index"].append, c["op"].append
    add_version, add_kind = c["version"].append, c["kind"].append
    add_tf_op, add_custom = c["tf_op"].append, c["custom_code"].append
    add_in_types, add_out_types = c["input_types"].append, c["output_types"].append
    add_in_shapes, add_out_shapes = c["input_shapes"].append, c["output_shapes"].append
    add_quantized, add_scheme = c["quantized"].append, c["quant_scheme"].append
    add_weights, add_activation = c["weights_quant"].append, c["activation"].append
    add_xnnpack, add_gpu, add_notes = c["xnnpack"].append, c["gpu"].append, c["notes"].append
    add_inputs, add_outputs = c["inputs"].append, c["outputs"].append
    memo: Dict[tuple, tuple] = {}
    for graph in model.subgraphs:
        view = GraphView(model, graph)
        # One past the end is None / '-', so index -1 (an omitted input) needs no test.
        dtypes = [t.dtype for t in graph.tensors] + ["-"]
        shapes = [t.shape for t in graph.tensors] + [None]
        dtype_of, shape_of = dtypes.__getitem__, shapes.__getitem__
        signature_of = _tensor_signatures(view).__getitem__
        for op in graph.operators:
            key = None
            if op.op not in _CONTEXT_DEPENDENT:
                key = (op.opcode_index, _options_key(op), tuple(map(signature_of, op.inputs)),
                       tuple(map(signature_of, op.outputs)))
                verdict = memo.get(key)
            if key is None or verdict is None:
                verdict = _verdict(OpContext(op, view))
                if key is not None:
                    memo[key] = verdict
            kind, quantized, scheme, weights, xnnpack_ok, gpu_ok, notes, activation = verdict
            if kind == "builtin":
                add_tf_op(None)
                add_custom(None)
            else:
                add_tf_op(op.custom_code[len(FLEX_PREFIX):] if kind == "flex" else None)
                add_custom(op.custom_code)
            add_subgraph(graph.index)
            add_index(op.index)
            add_op(op.op)
            add_version(op.version)
            add_kind(kind)
            add_in_types(tuple(map(dtype_of, op.inputs)))
            add_out_types(tuple(map(dtype_of, op.outputs)))
            add_in_shapes(tuple(map(shape_of, op.inputs)))
            add_out_shapes(tuple(map(shape_of, op.outputs)))
            add_quantized(quantized)
            add_scheme(scheme)
            add_weights(weights)
            add_activation(activation)
            add_xnnpack(xnnpack_ok)
            add_gpu(gpu_ok)
            add_notes(notes)
            add_inputs(op.inputs)
            add_outputs(op.outputs)
    frame = pd.DataFrame(columns, columns=OPS_COLUMNS)
    if not len(frame):
        frame = frame.astype({"subgraph": "int64", "index": "int64", "version": "int64",
                              "quantized": bool, "xnnpack": bool, "gpu": bool})
    return frame


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


_TENSOR_NUMBER = re.compile(r"tensor -?\d+")
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
