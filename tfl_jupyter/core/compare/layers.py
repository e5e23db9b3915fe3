"""Per-layer quantization error with TensorFlow's ``QuantizationDebugger``.

The calibrated model (see :mod:`.calibration`) is quantized with NumericVerify ops and run on
a few samples, in a worker process. Each row is one quantized op output: the error of the quantized op against its
float twin fed the same input. ``rmse / scale`` is that error in quantization steps; pure
rounding gives 1/sqrt(12) ~ 0.289, and the upstream guide flags layers above 0.7.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy as np

from ..convert import run_resolved
from ..engine import layer_statistics
from ..worker.litert_engine import litert_tensor_errors
from ..settings import float_settings
from ..tflite_reader import read_model
from ..worker.pool import POOL
from .binding import bind_inputs, choose_signature
from .calibration import calibrated_model, calibrated_tensor_names, quantize_calibrated_in_worker
from .plots import SUSPECT_RATIO
from .progress import progress_bar
from .samples import SampleSet

LAYER_COLUMNS = (
    "op", "tensor", "rmse_over_scale", "suspect", "rmse", "max_abs_error", "mean_error", "stddev",
    "scale", "zero_point", "num_elements",
)


def layer_table(result, samples: SampleSet, *, max_samples: int = 16, progress: Optional[bool] = None):
    """Per-layer quantization error of ``result``, worst first.

    Parameters
    ----------
    result : ConversionResult
        An int8 / int8-full conversion with a reusable representative dataset.
    samples : SampleSet
        Debug inputs; the first ``max_samples`` are used.
    max_samples : int
        Samples to run the instrumented model on (each runs float and quantized ops).
    progress : bool, optional
        Show progress bars.

    Returns
    -------
    pandas.DataFrame
        Columns ``LAYER_COLUMNS``; ``suspect`` is ``rmse_over_scale > 0.7``. The index is the
        layer's position in execution order. ``tensor`` names are the ones
        ``requantize(denylist=...)`` accepts.
    """
    import pandas as pd

    if result.settings.quantizer == "litert":
        return _litert_layer_table(result, samples.head(max_samples), progress)
    calibrated = calibrated_model(result, progress=progress)
    # a requantized result: its float layers stay float here too
    debug_model = quantize_calibrated_in_worker(calibrated, result.settings, denylisted_ops=result.denylisted_ops,
                                                denylisted_nodes=result.denylisted_nodes, debug=True)
    debug_info = read_model(debug_model)
    if not any(op.op == "NumericVerify" for op in debug_info.subgraphs[0].operators):
        return pd.DataFrame(columns=list(LAYER_COLUMNS)).rename_axis("position")  # nothing left quantized
    feeds = _debug_feeds(debug_model, samples.head(max_samples))
    with progress_bar(len(feeds), "per-layer error", progress) as bar:
        dump = POOL.call(layer_statistics, debug_model, feeds)
        bar.update(len(feeds))
    table = pd.read_csv(io.StringIO(dump))
    return _tidy(table, debug_info, calibrated_tensor_names(calibrated))


def _litert_layer_table(result, samples: SampleSet, progress: Optional[bool]):
    """``.layers`` of a LiteRT Quantizer result: each quantized op's output error, the quantized model
    run against the float one (errors accumulate along the graph, unlike the converter's debugger)."""
    import pandas as pd

    float_model = run_resolved(result.source, float_settings(result.settings)).tflite_model  # from the cache
    feeds = [{name: samples.arrays[name][i : i + 1] for name in samples.names} for i in range(samples.n)]
    with progress_bar(len(feeds), "per-tensor error", progress) as bar:
        errors = POOL.call(litert_tensor_errors, float_model, result.tflite_model, feeds)
        bar.update(len(feeds))
    quantized = {tensor.name: tensor for tensor in result.model.subgraphs[0].tensors}
    graph = read_model(float_model).subgraphs[0]
    rows = []
    for op in graph.operators:
        for index in op.outputs:
            name = graph.tensors[index].name if index >= 0 else None
            tensor = quantized.get(name)
            if name not in errors or errors[name] is None or tensor is None or not tensor.num_scales:
                continue
            rmse = float(np.sqrt(errors[name]))
            scale = float(tensor.scale[0])
            ratio = rmse / scale if scale > 0 else np.nan
            rows.append({"op": op.op, "tensor": name, "rmse_over_scale": ratio, "suspect": ratio > SUSPECT_RATIO, "rmse": rmse,
                         "scale": scale, "zero_point": int(tensor.zero_point[0]) if tensor.zero_point else 0,
                         "num_elements": int(np.prod(tensor.shape)) if len(tensor.shape) else 1})
    table = pd.DataFrame(rows, columns=list(LAYER_COLUMNS)).rename_axis("position")
    return table.sort_values("rmse_over_scale", ascending=False, na_position="last", kind="stable")


def _debug_feeds(debug_model: bytes, samples: SampleSet) -> list:
    """One list of float arrays per sample, in the debug model's input order (what the debugger feeds)."""
    model = read_model(debug_model)
    signature = choose_signature(model)
    inputs = bind_inputs(model, signature, samples.names)
    order = sorted(inputs, key=lambda name: list(model.subgraphs[0].inputs).index(inputs[name]))
    return [[samples.arrays[name][i : i + 1].astype(np.float32) for name in order] for i in range(samples.n)]


def _tidy(table, debug_model, calibrated_names: set):
    graph = debug_model.subgraphs[0]
    tensors = [_calibrated_name(graph.tensors[int(i)].name, fallback, calibrated_names)
               for i, fallback in zip(table["tensor_idx"], table["tensor_name"])]
    rmse = np.sqrt(table["mean_squared_error"].to_numpy(dtype=float))
    scale = table["scale"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale > 0, rmse / np.where(scale > 0, scale, 1.0), np.nan)
    tidy = table.assign(op=table["op_name"], tensor=tensors, rmse=rmse, rmse_over_scale=ratio, suspect=ratio > SUSPECT_RATIO)
    tidy = tidy[list(LAYER_COLUMNS)]
    tidy.index.name = "position"
    return tidy.sort_values("rmse_over_scale", ascending=False, na_position="last", kind="stable")


def _calibrated_name(debug_name: str, fallback: str, calibrated_names: set) -> str:
    # The instrumented model suffixes each verified tensor's name with one character.
    for candidate in (debug_name[:-1], debug_name, fallback):
        if candidate in calibrated_names:
            return candidate
    return fallback


def suspects(layers) -> list:
    """Tensor names of the layers above the 0.7 rule of thumb, worst first."""
    return list(layers.loc[layers["suspect"], "tensor"])
