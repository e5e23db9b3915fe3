"""The result tabs: Summary, Ops, Graph, Compare, Layers, Code."""

from __future__ import annotations

import ipywidgets as w

from ..history import HistoryEntry
from .code import CodeView
from .compare import CompareView
from .graph import GraphView
from .layers import LayersView
from .ops import OpsView
from .summary import SummaryView

TITLES = ("Summary", "Ops", "Graph", "Compare", "Layers", "Code")
GRAPH = TITLES.index("Graph")


class ResultTabs:
    """Every view of one conversion, in tabs of a fixed height (so nothing jumps).

    Parameters
    ----------
    on_fix, on_compare, on_layers, on_requantize : callable
        The panel's handlers for the buttons inside the tabs.
    """

    def __init__(self, *, on_fix, on_compare, on_layers, on_requantize):
        self.summary = SummaryView(on_fix)
        self.ops = OpsView()
        self.compare = CompareView(on_compare)
        self.layers = LayersView(on_layers, on_requantize)
        self.graph = GraphView(keep=self.layers.keep, kept=self.layers.ticked)
        self.code = CodeView()
        views = (self.summary, self.ops, self.graph, self.compare, self.layers, self.code)
        pages = []
        for title, view in zip(TITLES, views):
            view.widget.layout.width = "100%"
            page = w.Box([view.widget], layout=w.Layout(height="440px", overflow="auto", width="100%"))
            page.add_class("tfl-page")
            page.add_class(f"tfl-page-{title.lower()}")
            pages.append(page)
        self.widget = w.Tab(pages, titles=TITLES, selected_index=0, layout=w.Layout(width="100%"))
        self.widget.add_class("tfl-tabs")
        self.widget.observe(self._tab_changed, "selected_index")
        self.entry = None

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry`` in every tab."""
        self.entry = entry
        for view in (self.summary, self.ops, self.graph, self.compare, self.layers, self.code):
            view.show(entry)

    def select(self, title: str) -> None:
        """Open the tab called ``title``."""
        self.widget.selected_index = TITLES.index(title)

    def _tab_changed(self, change) -> None:
        if change["new"] == GRAPH:
            self.graph.activate()

    def close(self) -> None:
        """Close the Netron viewer (the rest closes with the panel)."""
        self.graph.close()
