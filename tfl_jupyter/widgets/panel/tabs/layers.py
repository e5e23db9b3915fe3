"""Layers tab: per-layer quantization error, with checkboxes to keep chosen layers in float."""

from __future__ import annotations

from html import escape
from typing import Callable, List

import ipywidgets as w

from ..history import OK, HistoryEntry
from ..util import message

MAX_ROWS = 60
_SUSPECT = 0.7


class LayersView:
    """The per-layer error of one conversion (``comparison.layers``), worst first.

    Parameters
    ----------
    on_compute : callable
        ``on_compute()`` computes the table for the shown conversion in the background.
    on_requantize : callable
        ``on_requantize(tensor_names)`` converts again with those tensors kept in float.
    """

    def __init__(self, on_compute: Callable[[], None], on_requantize: Callable[[List[str]], None]):
        self.html = w.HTML(message("No conversion yet."))
        self.html.add_class("tfl-layers")
        self.compute = w.Button(description="Compute the per-layer error", icon="search",
                                layout=w.Layout(width="auto", align_self="flex-start"))
        self.compute.add_class("tfl-layers-compute")
        self.compute.on_click(lambda _: on_compute())
        self.rows = w.VBox(layout=w.Layout(width="100%"))
        self.rows.add_class("tfl-layer-rows")
        self.requantize = w.Button(description="Keep ticked layers in float and convert again", icon="repeat",
                                   button_style="primary", layout=w.Layout(width="auto", align_self="flex-start"))
        self.requantize.add_class("tfl-requantize")
        self.requantize.on_click(lambda _: on_requantize(self.ticked()))
        self.boxes: List[w.Checkbox] = []
        self.tensors: List[str] = []
        self.kept: set = set()  # ticked in the Graph tab, not among the rows shown
        self.widget = w.VBox([self.html, self.compute, self.rows, self.requantize])
        self._hide(self.compute, self.requantize)

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``'s per-layer table, or how to get it."""
        self._set_rows([], [])
        self._hide(self.compute, self.requantize)
        if entry.status != OK:
            self.html.value = message(f"Conversion #{entry.number} produced no model.", "warn")
        elif entry.layers_error:
            self.html.value = message(entry.layers_error, "warn")
        elif entry.layers is None:
            self.html.value = message(
                "The error each quantized layer adds, measured with TensorFlow's QuantizationDebugger "
                "(for int8 and int8-full conversions; takes a few seconds).", "info")
            self._show(self.compute)
        else:
            self._render(entry)

    def ticked(self) -> List[str]:
        """Tensor names of the ticked rows (and of layers ticked in the Graph tab beyond them)."""
        return [tensor for box, tensor in zip(self.boxes, self.tensors) if box.value] + sorted(self.kept)

    def keep(self, tensor: str, on: bool) -> None:
        """Tick or untick the layer of ``tensor`` (the Graph tab's "keep in float")."""
        if tensor in self.tensors:
            self.boxes[self.tensors.index(tensor)].value = on
        elif on:
            self.kept.add(tensor)
        else:
            self.kept.discard(tensor)

    def _render(self, entry: HistoryEntry) -> None:
        layers = entry.layers
        shown = layers.head(MAX_ROWS)
        suspects = int(layers["suspect"].sum()) if "suspect" in layers else 0
        more = f" ({len(layers) - MAX_ROWS} more in <code>panel.history[{entry.number - 1}].layers</code>)" if len(layers) > MAX_ROWS else ""
        self.html.value = (
            f"<div><b>{len(layers)} quantized layers</b>, worst first{more}. rmse/scale is the error in "
            f"quantization steps: about 0.289 is rounding alone, above {_SUSPECT} is suspect ({suspects} here, "
            "ticked). Tick the layers to keep in float.</div>"
            "<div class='tfl-layer-row tfl-layer-head'><span></span><span>op</span><span>tensor</span>"
            "<span>rmse/scale</span><span>max |error|</span></div>")
        boxes, rows = [], []
        for _, row in shown.iterrows():
            suspect = bool(row.get("suspect", False))
            box = w.Checkbox(value=suspect, indent=False, layout=w.Layout(width="2em", margin="0"),
                             tooltip=str(row["tensor"]))
            text = w.HTML(f"<span>{escape(str(row['op']))}</span><span title='{escape(str(row['tensor']))}'>"
                          f"{escape(str(row['tensor']))}</span><span>{row['rmse_over_scale']:.3f}</span>"
                          f"<span>{row['max_abs_error']:.4g}</span>", layout=w.Layout(flex="1 1 auto"))
            text.add_class("tfl-layer-cells")
            line = w.HBox([box, text], layout=w.Layout(width="100%", align_items="center"))
            line.add_class("tfl-layer-row")
            if suspect:
                line.add_class("tfl-warn")
            boxes.append(box)
            rows.append(line)
        self._set_rows(rows, boxes, list(shown["tensor"]))
        self._show(self.requantize)

    def _set_rows(self, rows, boxes, tensors=()) -> None:
        old = self.rows.children
        self.rows.children = rows
        self.boxes, self.tensors, self.kept = boxes, list(tensors), set()
        for line in old:
            for child in line.children:
                child.close()
            line.close()

    @staticmethod
    def _hide(*widgets) -> None:
        for widget in widgets:
            widget.layout.display = "none"

    @staticmethod
    def _show(*widgets) -> None:
        for widget in widgets:
            widget.layout.display = None
