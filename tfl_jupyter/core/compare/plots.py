"""Figures: float vs converted scatter and error histogram per output, per-layer error bars, the sweep.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, so nothing is shown twice and
no global state is touched) and carry ``_repr_png_``, so a returned figure displays as an
image in any notebook; :func:`png_data_uri` embeds them in HTML that survives export.
"""

from __future__ import annotations

import base64
import io
from typing import Dict

import numpy as np

HEALTHY_RATIO = 0.289  # rmse/scale of pure rounding error: 1/sqrt(12)
SUSPECT_RATIO = 0.7  # upstream rule of thumb: above this, a layer is a denylist candidate
_MAX_POINTS = 20000
_MAX_OUTPUTS = 4


_FIGURE_CLASS = None


def new_figure(width: float, height: float):
    """A pyplot-free Figure that displays itself as PNG."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class InlineFigure(Figure):
            def _repr_png_(self) -> bytes:
                return figure_png(self)

        _FIGURE_CLASS = InlineFigure
    return _FIGURE_CLASS(figsize=(width, height), layout="constrained")


def figure_png(figure, dpi: int = 96) -> bytes:
    """The figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_data_uri(figure) -> str:
    """``data:image/png;base64,...`` of the figure, for an ``<img>`` that survives HTML export."""
    return "data:image/png;base64," + base64.b64encode(figure_png(figure)).decode("ascii")


def outputs_figure(reference: Dict[str, np.ndarray], converted: Dict[str, np.ndarray], label: str = "converted"):
    """Per output: converted vs reference values (scatter, with y = x) and the error histogram.

    Parameters
    ----------
    reference, converted : dict of str to numpy.ndarray
        Outputs by name, same shapes.
    label : str
        Name of the converted model on the axes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    names = list(reference)[:_MAX_OUTPUTS]
    figure = new_figure(9, 3.2 * len(names))
    axes = figure.subplots(len(names), 2, squeeze=False)
    rng = np.random.default_rng(0)
    for row, name in enumerate(names):
        ref = np.asarray(reference[name], dtype=np.float64).ravel()
        out = np.asarray(converted[name], dtype=np.float64).ravel()
        pick = rng.choice(ref.size, _MAX_POINTS, replace=False) if ref.size > _MAX_POINTS else slice(None)
        scatter, histogram = axes[row]
        scatter.scatter(ref[pick], out[pick], s=4, alpha=0.4, color="tab:blue", linewidths=0)
        low, high = _limits(ref[pick], out[pick])
        scatter.plot([low, high], [low, high], color="0.3", linewidth=1, linestyle="--", label="y = x")
        scatter.set_xlabel("reference (TensorFlow)")
        scatter.set_ylabel(label)
        scatter.set_title(f"{name}: values", fontsize=10)
        scatter.legend(loc="upper left", fontsize=8)
        error = out - ref
        histogram.hist(error, bins=60, color="tab:orange")
        histogram.axvline(0, color="0.3", linewidth=1)
        histogram.set_xlabel(f"{label} - reference")
        histogram.set_ylabel("count")
        histogram.set_title(f"{name}: error (rmse {np.sqrt(np.mean(error ** 2)):.3g})", fontsize=10)
        for axis in (scatter, histogram):
            axis.xaxis.set_major_locator(MaxNLocator(5))
    if len(reference) > _MAX_OUTPUTS:
        figure.suptitle(f"first {_MAX_OUTPUTS} of {len(reference)} outputs", fontsize=10)
    return figure


def layers_figure(layers, top: int = 20):
    """Horizontal bars of ``rmse/scale`` for the ``top`` worst layers, with the rule-of-thumb lines.

    Parameters
    ----------
    layers : pandas.DataFrame
        The per-layer table (columns ``op``, ``tensor``, ``rmse_over_scale``).
    top : int
        How many layers to show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = layers.head(top).iloc[::-1]
    figure = new_figure(9, 0.9 + 0.28 * max(1, len(rows)))
    axis = figure.subplots()
    ratios = rows["rmse_over_scale"].to_numpy(dtype=float)
    colors = ["tab:red" if r > SUSPECT_RATIO else "tab:blue" for r in ratios]
    labels = [f"{op}  {_short(tensor)}" for op, tensor in zip(rows["op"], rows["tensor"])]
    axis.barh(range(len(rows)), ratios, color=colors)
    axis.set_yticks(range(len(rows)), labels, fontsize=8)
    axis.axvline(HEALTHY_RATIO, color="tab:green", linestyle="--", linewidth=1, label=f"{HEALTHY_RATIO} rounding only")
    axis.axvline(SUSPECT_RATIO, color="tab:red", linestyle="--", linewidth=1, label=f"{SUSPECT_RATIO} suspect")
    axis.set_xlabel("rmse / scale (per-layer quantization error in quantization steps)")
    axis.set_title(f"per-layer error, worst {len(rows)} of {len(layers)}", fontsize=10)
    axis.legend(loc="lower right", fontsize=8)
    return figure


def sweep_figure(table, error_column: str = "sqnr_db"):
    """Size against error per mode (left) and latency per mode (right).

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep table (``mode``, ``size_bytes``, ``error_column``, a ``latency_ms...`` column).
    error_column : str
        The error metric to plot against size.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = new_figure(9, 3.4)
    left, right = figure.subplots(1, 2)
    ok = table[table["error"].isna()] if "error" in table else table
    sizes = ok["size_bytes"].to_numpy(dtype=float) / 1024
    values = ok[error_column].to_numpy(dtype=float) if error_column in ok else np.full(len(ok), np.nan)
    finite = np.isfinite(values)
    left.scatter(sizes[finite], values[finite], color="tab:blue")
    placed: list = []
    close = 2.0 if error_column == "sqnr_db" else 0.05 * (float(np.ptp(values[finite])) if finite.any() else 0.0) or 0.01
    for mode, x, y, good in zip(ok["mode"], sizes, values, finite):
        if good:
            # modes that land on the same spot (int8 and int8-full) get their labels stacked
            near = sum(1 for px, py in placed if abs(px - x) <= 0.03 * (sizes.max() or 1) and abs(py - y) <= close)
            placed.append((x, y))
            left.annotate(str(mode), (x, y), textcoords="offset points", xytext=(4, 4 - 11 * near), fontsize=8)
    exact = [str(m) for m, v in zip(ok["mode"], values) if np.isposinf(v)]
    left.set_xlabel("size (KiB)")
    better = error_column in ("sqnr_db", "cosine_similarity") or error_column.endswith("accuracy")
    left.set_ylabel(error_column + (" (higher is better)" if better else ""))
    left.set_title(f"size vs {'accuracy' if error_column.endswith('accuracy') else 'error'}" + (f" ({', '.join(exact)}: exact)" if exact else ""), fontsize=10)
    latency = next((c for c in table.columns if str(c).startswith("latency_ms")), None)
    if latency is not None:
        right.bar([str(m) for m in ok["mode"]], ok[latency].to_numpy(dtype=float), color="tab:orange")
        right.set_ylabel("ms per inference")
        right.set_title(latency, fontsize=9)
        right.tick_params(axis="x", labelrotation=30, labelsize=8)
    return figure


def _limits(*arrays) -> tuple:
    values = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.zeros(1)
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _short(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else "..." + name[-(limit - 3):]
