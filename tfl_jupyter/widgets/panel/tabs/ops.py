"""Ops tab: the per-op tables, blockers first (or the blocking ops of a failed conversion)."""

from __future__ import annotations

from typing import Tuple

import ipywidgets as w

from ....core.errors import ConversionError
from ....core.op_support.context import RUNTIME_CUSTOM_OPS
from ....core.op_support.targets import TARGETS
from ..history import OK, HistoryEntry
from ..util import frame_table, message


def _summary_columns() -> Tuple[str, ...]:
    """The summary columns shown: one verdict column per target of the registry the table has."""
    return ("op", "kind", "count", "blocker", *TARGETS, "quantized", "quant_scheme", "notes")


def _ops_columns() -> Tuple[str, ...]:
    """The ``.ops`` columns shown: one verdict column per target of the registry the table has."""
    return ("index", "op", "kind", "tf_op", "input_types", "output_types", "quantized", *TARGETS, "notes")


class OpsView:
    """The ops of one conversion: by op type (blockers first) or every operator."""

    def __init__(self):
        self.mode = w.ToggleButtons(options=["By op type", "Every operator"], value="By op type",
                                    style={"button_width": "9em"})
        self.html = w.HTML(message("No conversion yet."))
        self.html.add_class("tfl-ops")
        self.widget = w.VBox([self.mode, self.html])
        self._entry = None
        self.mode.observe(lambda _: self._render(), "value")

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``'s ops."""
        self._entry = entry
        self._render()

    def _render(self) -> None:
        entry = self._entry
        if entry is None:
            return
        if entry.status != OK:
            error = entry.error
            if isinstance(error, ConversionError) and error.errors:
                self.html.value = message("The ops that blocked the conversion:", "error") + frame_table(
                    error.ops, ("tf_op", "error_code", "reason", "fix", "location"), ["tfl-bad"] * len(error.ops))
            else:
                self.html.value = message(f"Conversion #{entry.number} produced no model: no ops to show.", "warn")
            return
        result = entry.result
        if self.mode.value == "By op type":
            table = result.op_summary
            classes = [_summary_class(b) for b in table["blocker"]]
            self.html.value = frame_table(table, _summary_columns(), classes)
        else:
            table = result.ops
            delegated = [t.name for t in TARGETS.values() if t.partitions and t.name in table.columns]
            classes = [_op_class(row, delegated) for _, row in table.iterrows()]
            self.html.value = frame_table(table, _ops_columns(), classes)


def _summary_class(blocker: str) -> str:
    if blocker in ("needs custom kernel", "needs Flex runtime"):
        return "tfl-bad"
    return "tfl-warn" if blocker == "no delegate" else ""


def _op_class(row, delegated) -> str:
    """``delegated``: the table's delegate columns (XNNPACK, GPU, ...): none takes it, amber."""
    if row["kind"] == "flex" or (row["kind"] == "custom" and row["custom_code"] not in RUNTIME_CUSTOM_OPS):
        return "tfl-bad"
    return "tfl-warn" if delegated and not any(row[name] for name in delegated) else ""
