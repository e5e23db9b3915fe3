"""Render ops / summary tables as pandas Stylers: blockers highlighted, long lists folded."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from .context import RUNTIME_CUSTOM_OPS
from .targets import TARGETS, delegates

MAX_ITEMS = 3       # tensors shown per cell before folding
MAX_NOTE_CHARS = 90  # note text shown before folding; the full text is in the tooltip

_BLOCKER_ROW = "background-color: #fde2e1"      # needs a custom kernel / Flex runtime
_CPU_ONLY_ROW = "background-color: #fff4d6"     # runs, but on no delegate
_NO = "color: #b42318; font-weight: 600"
_YES = "color: #067647"
_TABLE_STYLES = [
    {"selector": "th", "props": "text-align: left; position: sticky; top: 0; "
                                "background: white; font-size: 0.85em"},
    {"selector": "td", "props": "text-align: left; vertical-align: top; font-size: 0.85em; "
                                "padding: 2px 6px"},
]


def _shape(shape) -> str:
    if shape is None:
        return "-"
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _fold(items, render=str) -> str:
    items = list(items)
    shown = ", ".join(render(x) for x in items[:MAX_ITEMS])
    if len(items) > MAX_ITEMS:
        shown += f", … (+{len(items) - MAX_ITEMS})"
    return shown


def _fold_text(text) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= MAX_NOTE_CHARS else text[:MAX_NOTE_CHARS - 1] + "…"


def _row_style(row: pd.Series, delegated: Sequence[str] = ()):
    """``delegated``: the table's delegate columns (an ops table's)."""
    if "blocker" in row.index:  # an op summary
        needs_work = row["blocker"] in ("needs custom kernel", "needs Flex runtime")
        cpu_only = row["blocker"] == "no delegate"
    else:  # an ops table
        needs_work = row["kind"] == "flex" or (
            row["kind"] == "custom" and row["custom_code"] not in RUNTIME_CUSTOM_OPS)
        cpu_only = bool(delegated) and not any(row[name] for name in delegated)
    style = _BLOCKER_ROW if needs_work else (_CPU_ONLY_ROW if cpu_only else "")
    return [style] * len(row)


def _verdict(value) -> str:
    return _YES if value is True or value == 1 else _NO


def style_ops(df: pd.DataFrame) -> Styler:
    """Style an ops table or an op summary for display in a notebook.

    Rows that cannot run without extra work (custom kernels, Flex runtime) are red,
    rows no delegate takes are amber; the per-target verdicts are coloured; tensor
    lists and long notes are folded, with the full note in the cell's tooltip. A
    summary's ``attrs["caption"]`` (its delegate partitions) becomes the caption.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`ops_table` or :func:`op_summary`.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    view = df.reset_index(drop=True)
    styler = view.style
    formatters = {}
    for col in ("input_types", "output_types"):
        if col in view:
            formatters[col] = _fold
    for col in ("input_shapes", "output_shapes"):
        if col in view:
            formatters[col] = lambda shapes: _fold(shapes, _shape)
    for col in ("inputs", "outputs", "versions", "subgraphs"):
        if col in view:
            formatters[col] = lambda items: _fold(items)
    for col in ("tf_op", "custom_code"):
        if col in view:
            formatters[col] = lambda v: "" if v is None or v != v else v
    if "notes" in view:
        formatters["notes"] = _fold_text
    styler = styler.format(formatters)
    if len(view):
        delegated = [t.name for t in delegates(view.columns)]
        styler = styler.apply(_row_style, axis=1, delegated=delegated)
        verdicts = [c for c in TARGETS if c in view]
        if verdicts:
            styler = styler.map(_verdict, subset=verdicts)
        if "notes" in view:
            long_notes = view["notes"].where(view["notes"].str.len() > MAX_NOTE_CHARS, "")
            tips = pd.DataFrame("", index=view.index, columns=view.columns)
            tips["notes"] = long_notes
            styler = styler.set_tooltips(tips)
    if "notes" in view:
        styler = styler.set_properties(subset=["notes"], **{"min-width": "28em"})
    if df.attrs.get("caption"):
        styler = styler.set_caption(df.attrs["caption"])
    return styler.hide(axis="index").set_table_styles(_TABLE_STYLES)
