"""Summary tab: size, time, mode, inputs and outputs with their quantization, notes, error."""

from __future__ import annotations

from html import escape

import ipywidgets as w

from ....core.text import format_size, quantization_text
from ..history import OK, HistoryEntry
from ..util import message, table
from .failure import FailureView


class SummaryView:
    """What one conversion produced, or why it did not.

    Parameters
    ----------
    on_fix : callable
        Called with a fix name when a one-click fix of a failed conversion is pressed.
    """

    def __init__(self, on_fix):
        self.html = w.HTML(message("Press Convert to convert the model; results show here."))
        self.html.add_class("tfl-summary")
        self.failure = FailureView(on_fix)
        self.widget = w.VBox([self.html, self.failure.widget])

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``."""
        if entry.status != OK:
            self.html.value = ""
            self.failure.show(entry)
            return
        self.failure.clear()
        self.html.value = summary_html(entry)


def summary_html(entry: HistoryEntry) -> str:
    """The summary of a successful conversion as HTML."""
    result = entry.result
    facts = [
        ("size", f"{format_size(result.size_bytes)} ({result.size_bytes:,} bytes)"),
        ("mode", result.settings.description),
        ("time", f"{result.duration_s:.2f} s via {result.entry_point}"),
        ("source", entry.source),
    ]
    if result.calibration_samples:
        facts.append(("calibration", f"{result.calibration_samples} samples"))
    if entry.metric_text:
        facts.append(("error vs float", entry.metric_text))
    if result.output_file:
        facts.append(("saved to", result.output_file))
    partitions = result.op_summary.attrs.get("caption")  # the count the graph's gpu/xnnpack overlays show
    if partitions:
        facts.append(("partitions", partitions))
    rows = []
    for role, tensors in (("input", result.inputs), ("output", result.outputs)):
        for tensor in tensors:
            shape = list(tensor.shape_signature or tensor.shape)
            rows.append((role, tensor.name, tensor.dtype, str(shape), quantization_text(tensor) or "-"))
    facts_html = "".join(f"<div><span class='tfl-key'>{escape(k)}</span>{escape(str(v))}</div>" for k, v in facts)
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    return (
        f"<div class='tfl-facts'><b>Conversion #{entry.number}</b>{facts_html}</div>"
        + table(("", "name", "dtype", "shape", "quantization"), rows, css="tfl-io")
        + (f"<ul class='tfl-notes'>{notes}</ul>" if notes else "")
    )
