"""DataFrames of a comparison: the per-output summary, the conversion/quantization split, op counts."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .metrics import CLASS_COLUMNS, HIGHER_IS_BETTER, METRIC_COLUMNS, output_metrics

_NOT_COMPUTING = ("quantize", "dequantize", "float16 weights")


def summary_frame(reference: Dict[str, np.ndarray], converted: Dict[str, np.ndarray], dtypes: Optional[Dict[str, str]] = None):
    """One row per output: shape, ``.tflite`` dtype, the error metrics (and top-k agreement for class scores).

    Parameters
    ----------
    reference, converted : dict of str to numpy.ndarray
        Outputs by name; ``converted`` already dequantized.
    dtypes : dict, optional
        The ``.tflite`` output dtype by name.

    Returns
    -------
    pandas.DataFrame
        Indexed by output name.
    """
    import pandas as pd

    rows = []
    for name, ref in reference.items():
        row = {"output": name, "shape": str(tuple(ref.shape[1:])), "dtype": (dtypes or {}).get(name, str(converted[name].dtype))}
        row.update(output_metrics(ref, converted[name]))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("output")
    present = [c for c in CLASS_COLUMNS if c in frame]
    return frame[["shape", "dtype", *METRIC_COLUMNS, *present]]


def breakdown_frame(reference, float_outputs, converted, label: str):
    """Per output, three rows: conversion error, quantization error, and both together."""
    import pandas as pd

    parts = {
        "conversion (float .tflite vs TensorFlow)": summary_frame(reference, float_outputs),
        f"quantization ({label} vs float .tflite)": summary_frame(float_outputs, converted),
        f"total ({label} vs TensorFlow)": summary_frame(reference, converted),
    }
    frame = pd.concat(parts, names=["error", "output"]).drop(columns=["dtype"])
    return frame.swaplevel().sort_index(level=0, sort_remaining=False)


def worst(summary) -> dict:
    """The worst value of each metric over all outputs (max error, min similarity/agreement)."""
    values = {}
    for column in [c for c in summary.columns if c in HIGHER_IS_BETTER]:
        series = summary[column].astype(float)
        values[column] = float(series.min() if HIGHER_IS_BETTER[column] else series.max())
    return values


def op_counts(result) -> dict:
    """``ops`` (operators), ``float_ops`` (computing in float), ``flex_ops`` (need the Flex runtime)."""
    ops = result.ops
    computing = ~ops["quant_scheme"].isin(_NOT_COMPUTING)
    return {
        "ops": int(len(ops)),
        "float_ops": int((computing & ~ops["quantized"].astype(bool)).sum()),
        "flex_ops": int((ops["kind"] == "flex").sum()),
    }


def style_metrics(frame):
    """A Styler with readable numbers (4 significant digits, percentages for agreements)."""
    formats = {c: "{:.4g}" for c in frame.columns if c in METRIC_COLUMNS}
    formats.update({c: "{:.1%}" for c in frame.columns if c in CLASS_COLUMNS})
    return frame.style.format(formats, na_rep="-")
