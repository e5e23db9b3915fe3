"""Graph tab: the model in Netron, created the first time the tab is opened.

The nodes are coloured by an overlay (per-layer error once the Layers tab measured it, else
where the GPU delegate runs each op); clicking a node shows its ``.ops`` and ``.layers`` rows
beside the graph, with "keep in float" for quantized ops, ticked in the Layers tab's list.
"""

from __future__ import annotations

from html import escape
from typing import Callable, List, Optional, Tuple

import ipywidgets as w

from ....core.op_support.targets import TARGETS
from ..history import OK, HistoryEntry
from ..util import message, table

HEIGHT = 400
LAYER_COLUMNS = ("tensor", "rmse_over_scale", "suspect", "max_abs_error")


class GraphView:
    """One Netron viewer, reused for every conversion shown (its model bytes are swapped).

    Parameters
    ----------
    keep : callable, optional
        ``keep(tensor, on)`` ticks or unticks a layer to keep in float (the Layers tab's list).
    kept : callable, optional
        ``kept()``: the tensors ticked so far.
    """

    def __init__(self, keep: Optional[Callable[[str, bool], None]] = None,
                 kept: Optional[Callable[[], List[str]]] = None):
        self.html = w.HTML(message("No conversion yet."))
        self.detail = w.HTML(layout=w.Layout(width="100%"))
        self.detail.add_class("tfl-graph-detail")
        self.keep_box = w.Checkbox(description="keep in float", indent=False,
                                   layout=w.Layout(display="none", width="auto"))
        self.keep_box.add_class("tfl-graph-keep")
        self.keep_box.observe(self._keep_changed, "value")
        self.side = w.VBox([self.detail, self.keep_box],
                           layout=w.Layout(width="32%", min_width="220px", overflow="auto"))
        self.widget = w.VBox([self.html])
        self.viewer = None
        self._entry = None
        self._keep, self._kept = keep, kept
        self._tensor = None  # the selected op's layer, while "keep in float" is offered
        self.active = False

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``'s graph (now if the tab is open, else when it is opened)."""
        self._entry = entry
        if self.active:
            self._render()

    def activate(self) -> None:
        """The tab was opened: build the viewer if it is not there yet."""
        self.active = True
        self._render()

    def _render(self) -> None:
        entry = self._entry
        if entry is None:
            return
        if entry.status != OK:
            self.html.value = message(f"Conversion #{entry.number} produced no model: no graph to show.", "warn")
            self.widget.children = [self.html]
            return
        name = f"conversion_{entry.number}.tflite"
        overlay = "error" if entry.layers is not None and len(entry.layers) else "gpu"
        if self.viewer is None:
            try:
                from ...netron_view import NetronView

                self.viewer = NetronView.of(entry.result, overlay=overlay, layers=entry.layers,
                                            filename=name, height=HEIGHT)
                self.viewer.layout = w.Layout(width="68%")
                self.viewer.observe(self._selected, "selected")
                self.body = w.HBox([self.viewer, self.side], layout=w.Layout(width="100%"))
            except (ImportError, NotImplementedError) as exc:
                self.html.value = message(f"The graph viewer is not available in this installation: {exc}", "warn")
                self.widget.children = [self.html]
                return
        else:
            from ...netron_view import overlay_tables

            self.viewer.filename = name
            self.viewer.model_bytes = entry.result.tflite_model
            self.viewer.set_overlays(overlay_tables(entry.result, entry.layers), overlay)
            self.viewer.selected = {}
        self.html.value = ""
        self._describe(None)
        self._mark()
        self.widget.children = [self.body]

    def _selected(self, change) -> None:
        self._describe(change["new"] or None)

    def _describe(self, selected: Optional[dict]) -> None:
        """Show the selected op's rows of ``.ops`` and ``.layers``, and offer to keep it in float."""
        self._tensor = None
        self.keep_box.layout.display = "none"
        entry = self._entry
        if not selected or entry is None or entry.status != OK:
            self.detail.value = message("Click a node to see its op and its error here.")
            return
        ops = entry.result.ops
        row = ops[(ops["subgraph"] == selected.get("subgraph")) & (ops["index"] == selected.get("index"))]
        parts = [f"<b>{escape(str(selected.get('op', '')))} (op {selected.get('index')})</b>",
                 _pairs(row, _ops_columns(), "ops")]
        layers = entry.layers
        tensor = selected.get("tensor", "")
        layer = layers[layers["tensor"] == tensor] if layers is not None and tensor else None
        if layer is not None and len(layer):
            parts.append(_pairs(layer, LAYER_COLUMNS, "layers"))
        elif layers is None and len(row) and bool(row["quantized"].iloc[0]):
            parts.append(message("Compute the per-layer error in the Layers tab to see this op's "
                                 "error and keep it in float."))
        self.detail.value = "".join(parts)
        if layer is not None and len(layer) and self._keep is not None:
            self._tensor = None  # no echo while the box follows the Layers tab
            self.keep_box.value = tensor in (self._kept() if self._kept else [])
            self._tensor = tensor
            self.keep_box.layout.display = None

    def _keep_changed(self, change) -> None:
        if self._tensor is not None and self._keep is not None:
            self._keep(self._tensor, bool(change["new"]))
            self._mark()

    def _mark(self) -> None:
        """Outline the ops whose layers are ticked to stay in float."""
        rows = self.viewer.overlays.get("error", {}).get("rows")
        kept = set(self._kept()) if self._kept and rows else set()
        self.viewer.marked = [[s, i] for s, i, t in zip(rows["subgraph"], rows["index"], rows["tensor"])
                              if t in kept] if kept else []

    def close(self) -> None:
        """Close the viewer."""
        if self.viewer is not None:
            self.viewer.close()


def _ops_columns() -> Tuple[str, ...]:
    """The ``.ops`` columns shown for a clicked node: what it is, where the delegates of the
    registry (XNNPACK, GPU, ...) run it, and why not."""
    return ("op", "kind", "quant_scheme", *(t.name for t in TARGETS.values() if t.partitions), "notes")


def _pairs(frame, columns, title: str) -> str:
    """The first row of ``frame`` as a two-column table, one line per column present."""
    if not len(frame):
        return ""
    row = frame.iloc[0]
    return table((f".{title}", ""), [(c, row[c]) for c in columns if c in frame.columns])
