"""Compare tab: the converted model's outputs against the float model's, as metrics and plots."""

from __future__ import annotations

import io
from html import escape
from typing import Callable

import ipywidgets as w

from ..history import OK, HistoryEntry
from ..util import frame_table, message

METRIC_COLUMNS = ("shape", "dtype", "max_abs_error", "mean_abs_error", "rmse", "cosine_similarity", "sqnr_db",
                  "top1_agreement", "top5_agreement")


class CompareView:
    """Float vs converted for one conversion.

    Parameters
    ----------
    on_run : callable
        ``on_run()`` measures the shown conversion (the panel runs ``result.compare()``
        in the background and calls :meth:`show` again).
    """

    def __init__(self, on_run: Callable[[], None]):
        self.html = w.HTML(message("No conversion yet."))
        self.html.add_class("tfl-compare")
        self.plot = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.run = w.Button(description="Measure the error now", icon="balance-scale",
                            layout=w.Layout(width="auto", align_self="flex-start"))
        self.run.add_class("tfl-compare-run")
        self.run.on_click(lambda _: on_run())
        self.widget = w.VBox([self.html, self.run, self.plot])

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``'s comparison, or how to get one."""
        self.plot.layout.display = "none"
        self.run.layout.display = "none"
        if entry.status != OK:
            self.html.value = message(f"Conversion #{entry.number} produced no model: nothing to compare.", "warn")
            return
        comparison = entry.comparison
        if comparison is None:
            reason = entry.compare_error or "The error was not measured for this conversion."
            self.html.value = message(reason, "warn" if entry.compare_error else "info")
            self.run.layout.display = "none" if entry.compare_error and "not available" in reason else None
            return
        self.html.value = comparison_html(entry, comparison)
        png = plot_png(comparison)
        if png:
            self.plot.value = png
            self.plot.layout.display = None


def comparison_html(entry: HistoryEntry, comparison) -> str:
    """Heading, the task metrics (with labels), calibration warnings, notes and the per-output metric table."""
    n = getattr(comparison, "n_samples", "?")
    reference = escape(str(getattr(comparison, "reference", "the source model")))
    notes = "".join(f"<li>{escape(str(note))}</li>" for note in getattr(comparison, "notes", []))
    task = getattr(comparison, "task_metrics", None)
    warnings = getattr(getattr(comparison, "calibration_report", None), "warnings", [])
    return (f"<div><b>#{entry.number} {escape(entry.settings.get('quantize', ''))} .tflite vs {reference}</b>"
            f" &middot; {n} samples</div>"
            + (frame_table(task, index=True, css="tfl-task") if task is not None else "")
            + "".join(message(f"calibration: {warning}", "warn") for warning in warnings)
            + frame_table(comparison.summary, METRIC_COLUMNS, index=True, css="tfl-metrics")
            + (f"<ul class='tfl-notes'>{notes}</ul>" if notes else ""))


def plot_png(comparison) -> bytes:
    """``comparison.plot()`` as PNG bytes, or ``b""`` when it cannot plot."""
    try:
        figure = comparison.plot()
    except ValueError:  # nothing to plot
        return b""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()
