"""A failed conversion: the reason, the blocking ops, and one-click fixes that convert again."""

from __future__ import annotations

from html import escape
from typing import Callable, Dict, Tuple

import ipywidgets as w

from ....core.errors import STATIC_SHAPES_REASON, ConversionError
from ..history import CANCELLED, HistoryEntry
from ..util import frame_table, message

# error code -> (fix name, button label)
FIXES: Dict[str, Tuple[str, str]] = {
    "ERROR_NEEDS_FLEX_OPS": ("flex", "Allow Select TF ops (Flex) and convert again"),
    "ERROR_NEEDS_CUSTOM_OPS": ("custom", "Allow custom ops and convert again"),
    "ERROR_STATEFUL_PARTITIONED_CALL_IN_FINAL_IR": ("resource_variables", "Enable resource variables and convert again"),
}


class FailureView:
    """Why the conversion did not produce a model.

    Parameters
    ----------
    on_fix : callable
        ``on_fix(name)`` with a name of :data:`FIXES` when its button is pressed.
    """

    def __init__(self, on_fix: Callable[[str], None]):
        self._on_fix = on_fix
        self.html = w.HTML()
        self.html.add_class("tfl-failure")
        self.buttons = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([self.buttons, self.html])

    def show(self, entry: HistoryEntry) -> None:
        """Show the failure of ``entry``."""
        error = entry.error
        if entry.status == CANCELLED:
            self.html.value = message(entry.message, "warn")
            self._set_buttons({})
            return
        if isinstance(error, ConversionError) and error.errors:
            self.html.value = (message(f"Conversion #{entry.number} failed: {error.summary}", "error")
                               + frame_table(error.ops, ("tf_op", "reason", "fix", "location"),
                                             ["tfl-bad"] * len(error.ops), css="tfl-blocking"))
        else:
            self.html.value = message(f"Conversion #{entry.number} failed: {entry.message}", "error") + (
                f"<details><summary>converter log</summary><pre>{escape(error.log[-4000:])}</pre></details>"
                if isinstance(error, ConversionError) and error.log else "")
        records = error.errors if isinstance(error, ConversionError) else []
        fixes = {"batch_size": "Fix the batch size and convert again"} if any(
            e.reason == STATIC_SHAPES_REASON for e in records) else {}  # first: Flex is the costly fix
        codes = {e.error_code for e in records}
        self._set_buttons({**fixes, **{FIXES[c][0]: FIXES[c][1] for c in sorted(codes) if c in FIXES}})

    def clear(self) -> None:
        """Show nothing."""
        self.html.value = ""
        self._set_buttons({})

    def _set_buttons(self, fixes: Dict[str, str]) -> None:
        old = self.buttons.children
        buttons = []
        for name, label in fixes.items():
            button = w.Button(description=label, button_style="warning", icon="wrench",
                              layout=w.Layout(width="auto", margin="0 0.5em 0.5em 0"))
            button.add_class(f"tfl-fix-{name}")
            button.on_click(lambda _, name=name: self._on_fix(name))
            buttons.append(button)
        self.buttons.children = buttons
        for button in old:
            button.close()
