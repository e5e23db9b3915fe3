"""Graph tab: the model in Netron, created the first time the tab is opened."""

from __future__ import annotations

import ipywidgets as w

from ..history import OK, HistoryEntry
from ..util import message

HEIGHT = 400


class GraphView:
    """One Netron viewer, reused for every conversion shown (its model bytes are swapped)."""

    def __init__(self):
        self.html = w.HTML(message("No conversion yet."))
        self.widget = w.VBox([self.html])
        self.viewer = None
        self._entry = None
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
        if self.viewer is None:
            try:
                from ...netron_view import NetronView

                self.viewer = NetronView(entry.result.tflite_model, filename=name, height=HEIGHT,
                                         layout=w.Layout(width="100%"))
            except (ImportError, NotImplementedError) as exc:
                self.html.value = message(f"The graph viewer is not available in this installation: {exc}", "warn")
                self.widget.children = [self.html]
                return
        else:
            self.viewer.filename = name
            self.viewer.model_bytes = entry.result.tflite_model
        self.html.value = ""
        self.widget.children = [self.viewer]

    def close(self) -> None:
        """Close the viewer."""
        if self.viewer is not None:
            self.viewer.close()
