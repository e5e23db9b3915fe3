"""``SweepTable``: the DataFrame ``tj.sweep`` returns, displayed with its plot beside it."""

from __future__ import annotations

from typing import Dict, List

_TABLE_CLASS = None


def sweep_table(modes: List[str], rows: Dict[str, dict], notes: List[str], results: dict):
    """Build the SweepTable: one row per finished mode, in the order of ``modes``.

    Parameters
    ----------
    modes : list of str
    rows : dict of str to dict
        Column values by mode.
    notes : list of str
        What to know about the numbers.
    results : dict of str to ConversionResult

    Returns
    -------
    SweepTable
    """
    import pandas as pd

    from .compare.metrics import CLASS_COLUMNS, METRIC_COLUMNS

    frame = pd.DataFrame([rows[m] for m in modes if m in rows])
    if frame.empty:
        frame = pd.DataFrame({"mode": []})
    latency = [c for c in frame.columns if str(c).startswith("latency_ms")]
    float_size = frame.loc[frame["mode"] == "float", "size_bytes"] if "size_bytes" in frame else []
    if len(float_size) and float_size.notna().all():
        frame["size_vs_float"] = frame["size_bytes"] / float(float_size.iloc[0])
    if "error" not in frame:
        frame["error"] = None
    rest = [*METRIC_COLUMNS, *CLASS_COLUMNS, "ops", "float_ops", "flex_ops", "convert_s", "error"]
    known = {"mode", "size_bytes", "size", "size_vs_float", *latency, *rest}
    task = [c for c in frame.columns if c not in known]  # accuracy, mae, ... and the user's metrics (with labels)
    order = ["size_bytes", "size", "size_vs_float", *latency, *task, *rest]
    frame = frame.set_index("mode")[[c for c in order if c in frame]]
    table = sweep_table_class()(frame)
    table.notes = list(notes)
    table.results = dict(results)
    return table


def sweep_table_class():
    """The SweepTable class (a DataFrame subclass, made on first use so that pandas loads lazily)."""
    global _TABLE_CLASS
    if _TABLE_CLASS is None:
        _TABLE_CLASS = _make_table_class()
    return _TABLE_CLASS


def _make_table_class():
    from html import escape

    import pandas as pd

    from .compare.plots import png_data_uri, sweep_figure
    from .compare.tables import style_metrics
    from .compare.tasks import task_formats

    class SweepTable(pd.DataFrame):
        """One row per mode (index ``mode``); ``.figure`` plots size vs error and latency."""

        _metadata = ["notes", "results"]

        @property
        def _constructor(self):
            return pd.DataFrame  # slices and computations are plain DataFrames

        @property
        def figure(self):
            """Size vs accuracy (with labels) or error (sqnr_db) per mode, and latency per mode (a matplotlib Figure)."""
            accuracy = next((c for c in self.columns if str(c).endswith("/accuracy") or c == "accuracy"), None)
            return sweep_figure(pd.DataFrame(self).reset_index(), error_column=accuracy or "sqnr_db")

        def _repr_html_(self) -> str:
            plain = pd.DataFrame(self)
            styled = style_metrics(plain).format({"size_bytes": "{:,}", "size_vs_float": "{:.2f}", "convert_s": "{:.1f}",
                                                 **task_formats(plain.columns),
                                                 **{c: "{:.2f}" for c in plain.columns if str(c).startswith("latency_ms")}},
                                                na_rep="-")
            figure = f"<img alt='size vs error and latency' src='{png_data_uri(self.figure)}'/>" if len(plain) else ""
            notes = "".join(f"<li>{escape(n)}</li>" for n in (getattr(self, "notes", None) or []))
            return (
                "<div class='tfl-jupyter-sweep'>"
                "<div style='display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start'>"
                f"<div style='overflow-x:auto;max-width:100%'>{styled.to_html()}</div><div>{figure}</div></div>"
                f"<ul>{notes}</ul></div>"
            )

    return SweepTable
