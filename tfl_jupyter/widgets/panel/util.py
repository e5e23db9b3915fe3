"""Small helpers shared by the panel's views: HTML snippets and widget clean-up."""

from __future__ import annotations

from html import escape
from typing import Iterable, Sequence

import ipywidgets as w


def close_tree(widget: w.Widget) -> None:
    """Close ``widget`` and every widget below it."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


def message(text: str, kind: str = "info") -> str:
    """A message box: ``kind`` is ``info``, ``ok``, ``warn`` or ``error``."""
    return f"<div class='tfl-msg tfl-msg-{kind}'>{escape(text)}</div>"


def table(header: Sequence[str], rows: Iterable[Sequence], row_classes: Iterable[str] = (), css: str = "") -> str:
    """An HTML table with escaped cells (``row_classes`` colours rows, e.g. ``tfl-bad``)."""
    classes = list(row_classes)
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css_class = f" class='{classes[i]}'" if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css_class}>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
    return f"<table class='tfl-table {css}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


def frame_table(frame, columns: Sequence[str] = (), row_classes: Iterable[str] = (), index: bool = False,
                css: str = "") -> str:
    """A DataFrame as :func:`table` (``columns`` picks and orders them; missing ones are skipped)."""
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    header = ([frame.index.name or ""] if index else []) + list(columns)
    rows = []
    for label, row in frame[columns].iterrows():
        rows.append(([label] if index else []) + [row[c] for c in columns])
    return table(header, rows, row_classes, css)
