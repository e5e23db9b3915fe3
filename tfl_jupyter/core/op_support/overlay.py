"""Graph overlays: one value, label and colour per operator, for painting the graph.

``overlay_table(ops, name, ...)`` gives the data behind one overlay of the Netron view as a
plain DataFrame, so the numbers can be tested and used without a browser; the widget only
applies the ``color`` column to the nodes. Colours come from the Okabe-Ito palette and a
yellow-to-dark-red ramp, both readable with the common colour-vision deficiencies.

=============  ==========================================================================
overlay        ``value`` / ``label``
=============  ==========================================================================
``error``      ``rmse_over_scale`` of the op's output from ``comparison.layers`` (NaN and
               "not measured" where there is none: those nodes keep Netron's colours)
``gpu``        the delegated partition the op belongs to (-1 and "CPU" off the delegate)
``xnnpack``    the same for XNNPACK, and for every target of the registry that
               partitions like a delegate (``Target.partitions`` in targets.py)
``kind``       0 builtin, 1 flex, 2 custom
``quantized``  the op's integer width (8, 16), 32 for float and 0 for (de)quantize
=============  ==========================================================================
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
import pandas as pd

from ..tflite_reader import ModelInfo
from .partitions import check_delegate, node_subsets
from .targets import TARGETS, delegates


def overlay_names(columns: Optional[Iterable[str]] = None) -> Tuple[str, ...]:
    """The overlays, in the viewer's order: ``error``, one per delegate of the registry
    (of those whose column is in ``columns``, e.g. an ops table's), ``kind``, ``quantized``."""
    return ("error", *(t.name for t in delegates(columns)), "kind", "quantized")


#: Every overlay (every delegate of the registry, as imported): see :func:`overlay_names`.
OVERLAYS = overlay_names()
OVERLAY_COLUMNS = ["subgraph", "index", "op", "value", "label", "color", "tensor", "reason"]

# rmse/scale of pure rounding error (1/sqrt(12)) and the upstream "denylist candidate" line;
# the same numbers as compare.plots (which this layer may not import).
ROUNDING_FLOOR = 0.289
SUSPECT = 0.7
# The error ramp: value -> colour, linear in between, clipped at both ends (ColorBrewer
# YlOrRd, a sequential scheme that stays ordered in grey and for colour-blind readers).
ERROR_STOPS = ((0.0, "#ffffcc"), (ROUNDING_FLOOR, "#fed976"), (0.5, "#fd8d3c"),
               (SUSPECT, "#e31a1c"), (1.0, "#bd0026"), (1.4, "#67000d"))
# Okabe-Ito. Consecutive delegated partitions alternate two blues so each one's extent shows.
PARTITION_COLORS = ("#0072B2", "#56B4E9")
CPU_COLOR = "#E69F00"
KIND_COLORS = {"builtin": "#999999", "flex": "#D55E00", "custom": "#CC79A7"}
KIND_VALUES = {"builtin": 0, "flex": 1, "custom": 2}
QUANTIZED_COLORS = {"int8": "#009E73", "int16": "#56B4E9", "float": "#E69F00",
                    "(de)quantize": "#999999"}
QUANTIZED_VALUES = {"int8": 8, "int16": 16, "float": 32, "(de)quantize": 0}
# The titles of the overlays that are not a delegate's (those are Target.overlay_title).
_TITLES = {
    "error": "per-layer error (rmse / scale)",
    "kind": "op kind",
    "quantized": "arithmetic",
}


def check_overlay(name: str) -> str:
    """``name`` lower-cased, or a ValueError naming the overlays."""
    key = str(name).lower()
    names = overlay_names()
    if key not in names:
        raise ValueError(f"unknown overlay {name!r}: use one of {', '.join(map(repr, names))}")
    return key


def _is_delegate(name: str) -> bool:
    target = TARGETS.get(name)
    return target is not None and target.partitions


def error_colors(values) -> List[str]:
    """The error ramp's colours for ``rmse_over_scale`` values ("" for NaN: neutral)."""
    values = np.asarray(values, dtype=float)
    xs = [x for x, _ in ERROR_STOPS]
    channels = [np.rint(np.interp(values, xs, [int(c[i:i + 2], 16) for _, c in ERROR_STOPS]))
                for i in (1, 3, 5)]
    return ["" if v != v else "#{:02x}{:02x}{:02x}".format(int(r), int(g), int(b))
            for v, r, g, b in zip(values.tolist(), *channels)]


def error_color(value: float) -> str:
    """The error ramp's colour for one ``rmse_over_scale`` ("" for NaN: neutral)."""
    return error_colors([value])[0]


def overlay_legend(name: str, table: Optional[pd.DataFrame] = None) -> dict:
    """What the viewer's legend shows for an overlay.

    Parameters
    ----------
    name : str
        One of :func:`overlay_names`.
    table : pandas.DataFrame, optional
        The overlay's table; for a delegate's (``gpu``, ``xnnpack``, ...) the legend then
        counts partitions.

    Returns
    -------
    dict
        ``title``; ``entries`` (``label``, ``color``); for ``error`` also ``scale``
        (``stops`` and the ``marks`` at the rounding floor and the suspect line); for the
        delegates ``partitions``, the number of delegated partitions per subgraph.
    """
    name = check_overlay(name)
    delegate = TARGETS[name] if _is_delegate(name) else None
    legend: dict = {"title": delegate.overlay_title if delegate else _TITLES[name], "entries": []}
    if name == "error":
        legend["scale"] = {"stops": [list(stop) for stop in ERROR_STOPS],
                           "marks": [[ROUNDING_FLOOR, "rounding floor"], [SUSPECT, "suspect"]]}
        legend["entries"] = [{"label": "not measured", "color": ""}]
    elif delegate is not None:
        legend["entries"] = [{"label": f"{delegate.label} partitions 1, 3, …", "color": PARTITION_COLORS[0]},
                             {"label": "2, 4, …", "color": PARTITION_COLORS[1]},
                             {"label": "CPU", "color": CPU_COLOR}]
        if table is not None:
            delegated = table[table["value"] >= 0]
            legend["partitions"] = {str(int(s)): int(n) for s, n in
                                    delegated.groupby("subgraph")["value"].nunique().items()}
    else:
        colors = KIND_COLORS if name == "kind" else QUANTIZED_COLORS
        legend["entries"] = [{"label": label, "color": color} for label, color in colors.items()]
    return legend


def output_names(ops: pd.DataFrame, model: ModelInfo) -> List[str]:
    """Each op's first output tensor's name ("" where it has none), in ``ops`` order."""
    graphs = [graph.tensors for graph in model.subgraphs]
    return [graphs[s][out[0]].name if len(out) and 0 <= out[0] < len(graphs[s]) else ""
            for s, out in zip(ops["subgraph"].tolist(), ops["outputs"].tolist())]


def overlay_table(ops: pd.DataFrame, name: str, model: ModelInfo,
                  layers: Optional[pd.DataFrame] = None,
                  tensors: Optional[List[str]] = None) -> pd.DataFrame:
    """One row per operator with the overlay's value, label and colour.

    Parameters
    ----------
    ops : pandas.DataFrame
        From :func:`ops_table`.
    name : str
        One of :func:`overlay_names`: ``'error'``, ``'kind'``, ``'quantized'``, or a
        delegate's (``'gpu'``, ``'xnnpack'``, ...) whose column ``ops`` has.
    model : ModelInfo
        The model ``ops`` describes (for the ``tensor`` column: each op's first output).
    layers : pandas.DataFrame, optional
        ``comparison.layers`` (``tensor``, ``rmse_over_scale``); needed for ``error``.
    tensors : list of str, optional
        :func:`output_names` of ``ops``, when the caller keeps them for several overlays.

    Returns
    -------
    pandas.DataFrame
        Columns ``OVERLAY_COLUMNS``: ``subgraph``, ``index``, ``op``, ``value`` (float),
        ``label``, ``color`` (``#rrggbb``, "" to leave the node as Netron draws it),
        ``tensor`` and ``reason`` (the op's ``notes``).

    Raises
    ------
    ValueError
        An unknown overlay, a delegate ``ops`` has no column for, or ``error`` without
        ``layers``.
    """
    name = check_overlay(name)
    tensors = output_names(ops, model) if tensors is None else tensors
    if name == "error":
        if layers is None:
            raise ValueError("the error overlay needs a comparison's per-layer error: use "
                             "comparison.netron(), or pass layers=comparison.layers")
        values, labels, colors, tensors = _error(ops["op"].tolist(), tensors, layers)
    elif _is_delegate(name):
        values, labels, colors = _delegate(ops, check_delegate(name, ops).name)
    elif name == "kind":
        labels = ops["kind"].tolist()
        values = [KIND_VALUES.get(k, np.nan) for k in labels]
        colors = [KIND_COLORS.get(k, "") for k in labels]
    else:
        labels = [_arithmetic(q, s) for q, s in zip(ops["quantized"].tolist(),
                                                     ops["quant_scheme"].tolist())]
        values = [QUANTIZED_VALUES[k] for k in labels]
        colors = [QUANTIZED_COLORS[k] for k in labels]
    return pd.DataFrame({
        "subgraph": ops["subgraph"].to_numpy(dtype=np.int64),
        "index": ops["index"].to_numpy(dtype=np.int64),
        "op": ops["op"].to_numpy(),
        "value": np.asarray(values, dtype=float),
        "label": labels, "color": colors, "tensor": tensors,
        "reason": ops["notes"].to_numpy(),
    }, columns=OVERLAY_COLUMNS)


def _error(names: List[str], tensors: List[str], layers: pd.DataFrame):
    """Values per op from ``layers``, and the tensor names the layers use (``requantize``'s)."""
    exact = {}
    for row, key in enumerate(zip(names, tensors)):
        exact.setdefault(key, row)
    values = [np.nan] * len(names)
    tensors = list(tensors)
    for op, tensor, ratio in zip(layers["op"].tolist(), layers["tensor"].tolist(),
                                 layers["rmse_over_scale"].tolist()):
        row = exact.get((op, tensor))
        if row is None:
            # An output renamed in the final model ("...:0" -> "...:01", the original name
            # going to the DEQUANTIZE after it): the op of that type whose name extends it.
            row = next((i for i, (n, t) in enumerate(zip(names, tensors))
                        if n == op and t.startswith(tensor) and values[i] != values[i]), None)
        if row is not None and values[row] != values[row]:
            values[row] = ratio
            tensors[row] = tensor
    labels = ["not measured" if v != v else "suspect" if v > SUSPECT else
              "rounding only" if v <= ROUNDING_FLOOR * 1.25 else "above rounding"
              for v in values]
    return values, labels, error_colors(values), tensors


def _delegate(ops: pd.DataFrame, name: str):
    values = np.full(len(ops), -1.0)
    supported = ops[name].to_numpy(dtype=bool)
    for subgraph, rows in ops.groupby("subgraph", sort=False).indices.items():
        subsets = node_subsets(supported[rows].tolist(), ops["inputs"].iloc[rows].tolist(),
                               ops["outputs"].iloc[rows].tolist())
        delegated = [members for kind, members in subsets if kind]
        for k, members in enumerate(delegated):
            values[rows[members]] = k
    label = TARGETS[name].label
    labels = [label if v >= 0 else "CPU" for v in values]
    colors = [PARTITION_COLORS[int(v) % 2] if v >= 0 else CPU_COLOR for v in values]
    return values, labels, colors


def _arithmetic(quantized: bool, scheme: str) -> str:
    if scheme in ("quantize", "dequantize"):
        return "(de)quantize"
    if quantized:
        return "int16" if scheme == "int16x8" else "int8"
    return "float"
