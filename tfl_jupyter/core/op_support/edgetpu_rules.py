"""Will the Edge TPU compiler map this operator? From Coral's documented rules.

Source: coral.ai/docs/edgetpu/models-intro ("Model requirements" and "Supported
operations"). No compiler runs here (``edgetpu_compiler`` is a Debian x86-64 binary
outside PyPI), so these are the documented rules only:

* every tensor the op computes on is 8-bit quantized (int8 or uint8);
* tensor sizes are constant at compile time (no dynamic dimension);
* tensors have at most 3 dimensions larger than 1, the innermost ones;
* the op is in the supported list, within its listed limits (:data:`SUPPORTED`).

The compiler maps a single part of the graph: the first op it cannot map ends it, and
that op and everything after it run on the CPU even where supported (see
:func:`mapped_part`). Float QUANTIZE ops on the model's inputs and DEQUANTIZE ops on its
outputs (float I/O around an integer model) run on the CPU at the edges without ending
it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, List, Tuple

if TYPE_CHECKING:  # annotations only: targets.py, which the magic's help reads, stays light
    import numpy as np

    from .context import OpContext
    from .targets import OpFacts, Verdict

_NO_FUSED_ACTIVATION = ("", "NONE")
_BATCH_AXIS = 0


def _no_activation(ctx: OpContext) -> str:
    act = ctx.activation
    return "" if act in _NO_FUSED_ACTIVATION else f"no fused activation allowed (has {act})"


def _concatenation(ctx: OpContext) -> str:
    reason = _no_activation(ctx)
    if not reason and any(t is not None and t.is_constant for t in ctx.inputs) \
            and len(ctx.inputs) != 2:
        reason = "with a constant input it must have exactly 2 inputs (zero padding)"
    return reason


def _conv(ctx: OpContext) -> str:
    o = ctx.options
    if o["dilation_h"] != o["dilation_w"]:
        return "dilation must be the same in x and y"
    return ""


def _depthwise(ctx: OpContext) -> str:
    o = ctx.options
    return "" if o["dilation_h"] == o["dilation_w"] == 1 else "dilated kernels are not supported"


def _fully_connected(ctx: OpContext) -> str:
    if ctx.options["weights_format"] != 0:
        return "only the default weights format is supported"
    out = ctx.outputs[0]
    if out is not None and any(d != 1 for d in out.shape[:-1]):
        return f"the output must be one-dimensional, got {list(out.shape)}"
    return ""


def _axes(ctx: OpContext, index: int = 1) -> str:
    """Reductions: no batch axis; MEAN only over x and/or y."""
    axes = ctx.input(index)
    values = ctx.graph.int_values(axes) if axes is not None else None
    if values is None:
        return "the axes must be a small constant"
    rank = len(ctx.input(0).shape) if ctx.input(0) is not None else 4
    axes_set = {a % rank if rank else a for a in values}
    if _BATCH_AXIS in axes_set and rank > 1:
        return "cannot reduce over the batch dimension"
    if ctx.name == "MEAN" and rank == 4 and not axes_set <= {1, 2}:
        return "MEAN reduces along x and/or y only"
    return ""


def _pad(ctx: OpContext) -> str:
    pads = ctx.input(1)
    values = ctx.graph.int_values(pads) if pads is not None else None
    if values is None:
        return "the paddings must be a small constant"
    pairs = [values[i:i + 2] for i in range(0, len(values), 2)]
    if len(pairs) == 4 and (any(pairs[0]) or any(pairs[3])):
        return "pads along x and/or y only (not batch or channels)"
    return ""


def _prelu(ctx: OpContext) -> str:
    alpha = ctx.input(1)
    if alpha is not None and any(d != 1 for d in alpha.shape[:-1]):
        return "alpha must be 1-D (only its last dimension above 1)"
    return ""


def _softmax(ctx: OpContext) -> str:
    x = ctx.input(0)
    if x is None:
        return ""
    if any(d != 1 for d in x.shape[:-1]):
        return "only 1-D input is supported"
    if x.shape and x.shape[-1] > 16000:
        return f"at most 16,000 elements, got {x.shape[-1]}"
    return ""


def _strided_slice(ctx: OpContext) -> str:
    o = ctx.options
    if o["ellipsis_mask"] or o["new_axis_mask"]:
        return "ellipsis_mask and new_axis_mask must be 0"
    strides = ctx.graph.int_values(ctx.input(3)) if ctx.input(3) is not None else None
    if strides is None or any(s != 1 for s in strides):
        return "all strides must be 1"
    return ""


def _pack(ctx: OpContext) -> str:
    return "cannot pack along the batch dimension" if ctx.options["axis"] == 0 else ""


def _split(ctx: OpContext) -> str:
    axis = ctx.graph.int_values(ctx.input(0)) if ctx.input(0) is not None else None
    if axis is None:
        return "the axis must be a constant"
    return "cannot split along the batch dimension" if axis and axis[0] == 0 else ""


def _ok(ctx: OpContext) -> str:
    return ""


# The documented operator list, with a check of its listed limits.
SUPPORTED: Dict[str, Callable[[OpContext], str]] = {
    "ADD": _ok, "AVERAGE_POOL_2D": _no_activation, "CONCATENATION": _concatenation,
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise, "EXPAND_DIMS": _ok,
    "FULLY_CONNECTED": _fully_connected, "L2_NORMALIZATION": _ok, "LOGISTIC": _ok,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _ok, "MAXIMUM": _ok, "MAX_POOL_2D": _no_activation,
    "MEAN": _axes, "MINIMUM": _ok, "MUL": _ok, "PACK": _pack, "PAD": _pad, "PRELU": _prelu,
    "QUANTIZE": _ok, "REDUCE_MAX": _axes, "REDUCE_MIN": _axes, "RELU": _ok, "RELU6": _ok,
    "RELU_N1_TO_1": _ok, "RESHAPE": _ok, "RESIZE_BILINEAR": _ok,
    "RESIZE_NEAREST_NEIGHBOR": _ok, "RSQRT": _ok, "SLICE": _ok, "SOFTMAX": _softmax,
    "SPACE_TO_DEPTH": _ok, "SPLIT": _split, "SQUEEZE": _ok, "STRIDED_SLICE": _strided_slice,
    "SUB": _ok, "SUM": _axes, "SQUARED_DIFFERENCE": _ok, "TANH": _ok, "TRANSPOSE": _ok,
    "TRANSPOSE_CONV": _ok,
}
# What the ops table must know to group operators (see op_support/grouping.py).
EXACT_SHAPES = frozenset({"FULLY_CONNECTED", "PRELU", "SOFTMAX"})
VALUE_DEPENDENT = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "PAD", "SPLIT",
                             "STRIDED_SLICE"})
# Inputs that hold shapes, axes or paddings (int32 is fine there), and bias inputs.
_PARAMETER_INPUTS = {"MEAN": (1,), "SUM": (1,), "REDUCE_MAX": (1,), "REDUCE_MIN": (1,),
                     "PAD": (1,), "RESHAPE": (1,), "RESIZE_BILINEAR": (1,),
                     "RESIZE_NEAREST_NEIGHBOR": (1,), "SLICE": (1, 2),
                     "STRIDED_SLICE": (1, 2, 3), "TRANSPOSE": (1,), "TRANSPOSE_CONV": (0, 3),
                     "SPLIT": (0,), "EXPAND_DIMS": (1,), "CONV_2D": (2,),
                     "DEPTHWISE_CONV_2D": (2,), "FULLY_CONNECTED": (2,)}
_EIGHT_BIT = ("int8", "uint8")
_FLOAT_EDGES = {
    "QUANTIZE": "the float input's conversion runs on the CPU, before the mapped part",
    "DEQUANTIZE": "the conversion to a float output runs on the CPU, after the mapped part",
}


def _tensors(ctx: OpContext) -> str:
    skip = _PARAMETER_INPUTS.get(ctx.name, ())
    data = [t for i, t in enumerate(ctx.inputs) if t is not None and i not in skip]
    if ctx.name == "QUANTIZE":  # int8 <-> uint8 requantization; float input is the CPU's
        data = data[:1]
    for t in data + [t for t in ctx.outputs if t is not None]:
        if t.dtype not in _EIGHT_BIT or not t.num_scales:
            # No tensor number: on a float model this note is on every row.
            return f"has {t.dtype} tensors, the Edge TPU needs 8-bit quantized ones"
        if -1 in (t.shape_signature or ()):
            return f"tensor {t.index} has a dynamic dimension (sizes must be fixed)"
        if not t.is_constant and len(t.shape) > 3 and any(d != 1 for d in t.shape[:-3]):
            return (f"tensor {t.index} {list(t.shape)}: only the 3 innermost dimensions may "
                    "be larger than 1")
    return ""


def edgetpu_verdict(ctx: OpContext, facts: OpFacts) -> Verdict:
    """Decide whether the Edge TPU compiler can map one operator, on its own.

    Whether it is mapped also depends on its place in the graph: see :func:`mapped_part`.

    Parameters
    ----------
    ctx : OpContext
    facts : OpFacts
        The registry's one verdict signature (see targets.py); these rules need only ``ctx``.

    Returns
    -------
    (supported, reason) : (bool, str)
    """
    if ctx.kind != "builtin":
        return False, f"{ctx.kind} ops never run on the Edge TPU"
    edge = _FLOAT_EDGES.get(ctx.name)
    if edge:
        converted = ctx.input(0) if ctx.name == "QUANTIZE" else ctx.outputs[0]
        if converted is not None and converted.dtype == "float32":
            return False, edge
    check = SUPPORTED.get(ctx.name)
    if check is None:
        return False, f"{ctx.name} is not in the Edge TPU's operator list"
    reason = _tensors(ctx) or check(ctx)
    return (not reason), reason


def mapped_part(ops: List[str], supported: np.ndarray, input_types: List[tuple],
                output_types: List[tuple]) -> Tuple[np.ndarray, int]:
    """Which ops of the main subgraph the compiler maps: those before the first it cannot.

    Parameters
    ----------
    ops : list of str
        Op names in execution order.
    supported : bool array
        Each op's :func:`edgetpu_verdict`.
    input_types, output_types : list of tuple of str
        Each op's tensor types (the ops table's columns).

    Returns
    -------
    (mapped, cut) : (bool array, int)
        ``cut`` is the index of the op that ended the mapped part (-1 if none did).
    """
    import numpy as np

    mapped = supported.copy()
    edge = np.array([(op == "QUANTIZE" and types[:1] == ("float32",))
                     or (op == "DEQUANTIZE" and outs[:1] == ("float32",))
                     for op, types, outs in zip(ops, input_types, output_types)] or [False],
                    bool)[:len(ops)]
    started = False
    for i in range(len(ops)):
        if mapped[i]:
            started = True
        elif edge[i] and (not started or edge[i:].all()):
            continue  # float I/O conversions at the model's edges
        elif not mapped[i]:
            mapped[i:] = False
            return mapped, i
    return mapped, -1


def mapped_columns(columns: Dict[str, np.ndarray], subgraph: int) -> None:
    """The registry's whole-graph step for the Edge TPU: the compiler maps one part of the
    main graph (after the first op it cannot map, supported ops run on the CPU too) and
    none of the other subgraphs (loop bodies), which run there. Corrects ``columns``'
    ``edgetpu`` and ``notes`` of one subgraph's finished ops table columns."""
    import numpy as np

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
