"""The history section: every conversion made here, one to show or save, two to compare."""

from __future__ import annotations

from typing import Callable

import ipywidgets as w

from ...core.text import format_size
from .history import OK, History
from .util import frame_table, message, table


class HistoryView:
    """A table of the panel's conversions with Show, Save and Compare controls.

    Parameters
    ----------
    history : History
    on_show : callable
        ``on_show(number)``: show that conversion in the tabs.
    """

    def __init__(self, history: History, on_show: Callable[[int], None]):
        self.history = history
        self._on_show = on_show
        self.table = w.HTML(message("No conversions yet."), layout=w.Layout(max_height="11em", overflow="auto"))
        self.table.add_class("tfl-history-table")
        self.pick = w.Dropdown(options=[], layout=w.Layout(flex="1 1 16em", max_width="24em", min_width="10em"))
        self.pick.add_class("tfl-history-pick")
        self.show_button = w.Button(description="Show", layout=w.Layout(width="5.5em"))
        self.path = w.Text(placeholder="file.tflite", layout=w.Layout(width="14em"))
        self.path.add_class("tfl-save-path")
        self.save_button = w.Button(description="Save", icon="save", layout=w.Layout(width="6em"))
        self.save_button.add_class("tfl-save")
        self.first = w.Dropdown(options=[], layout=w.Layout(flex="1 1 14em", max_width="20em", min_width="10em"))
        self.first.add_class("tfl-compare-a")
        self.second = w.Dropdown(options=[], layout=w.Layout(flex="1 1 14em", max_width="20em", min_width="10em"))
        self.second.add_class("tfl-compare-b")
        self.compare_button = w.Button(description="Compare", icon="columns", layout=w.Layout(width="8em"))
        self.compare_button.add_class("tfl-history-compare")
        self.output = w.HTML(layout=w.Layout(max_height="16em", overflow="auto"))
        self.output.add_class("tfl-history-output")
        self.show_button.on_click(lambda _: self._show())
        self.save_button.on_click(lambda _: self._save())
        self.compare_button.on_click(lambda _: self._compare())
        row = dict(layout=w.Layout(flex_flow="row wrap", align_items="center", width="100%"))
        self.widget = w.VBox([
            w.HTML("<b>History</b>"),
            self.table,
            w.HBox([self.pick, self.show_button, w.HTML("&nbsp;save it to&nbsp;"), self.path, self.save_button], **row),
            w.HBox([w.HTML("compare&nbsp;"), self.first, w.HTML("&nbsp;with&nbsp;"), self.second, self.compare_button],
                   **row),
            self.output,
        ], layout=w.Layout(width="100%"))
        self.widget.add_class("tfl-history")
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table and the menus from the history."""
        entries = list(self.history)
        if entries:
            rows = [(e.number, e.status, e.source, e.description, format_size(e.size_bytes) if e.size_bytes else "-",
                     e.metric_text or "-", f"{e.duration_s:.1f} s", e.message) for e in reversed(entries)]
            classes = ["" if e.status == OK else "tfl-bad" for e in reversed(entries)]
            self.table.value = table(("#", "status", "source", "mode", "size", "error vs float", "time", "note"),
                                     rows, classes, css="tfl-history-rows")
        options = [(e.label, e.number) for e in reversed(self.history.successful())]
        for menu, default in ((self.pick, 0), (self.first, 1), (self.second, 0)):
            current = menu.value
            menu.options = options
            numbers = [n for _, n in options]
            if current in numbers:
                menu.value = current
            elif numbers:
                menu.value = numbers[min(default, len(numbers) - 1)]
        disabled = not options
        self.show_button.disabled = self.save_button.disabled = self.compare_button.disabled = disabled

    def _show(self) -> None:
        if self.pick.value is not None:
            self._on_show(self.pick.value)

    def _save(self) -> None:
        path = self.path.value.strip()
        if self.pick.value is None or not path:
            self.output.value = message("Pick a conversion and type a file name to save it to.", "warn")
            return
        try:
            written = self.history.save(self.pick.value, path)
        except (OSError, ValueError, KeyError) as exc:
            self.output.value = message(f"Could not save #{self.pick.value}: {exc}", "error")
            return
        self.output.value = message(f"Saved #{self.pick.value} to {written}", "ok")

    def _compare(self) -> None:
        a, b = self.first.value, self.second.value
        if a is None or b is None:
            return
        if a == b:
            self.output.value = message("Pick two different conversions to compare.", "warn")
            return
        frame = self.history.compare(a, b)
        self.output.value = (f"<div><b>#{a} vs #{b}</b> (settings that differ, then the outcome)</div>"
                             + frame_table(frame, index=True, css="tfl-history-diff"))

    def close(self) -> None:
        """Nothing to release beyond the widgets (closed with the panel)."""
