"""The calibrated model behind ``.layers`` and ``requantize``, and quantizing it as the converter does.

Calibration runs again with the conversion's own settings and representative dataset (a
``calibrate_only`` job of the worker pool), once per result: the calibrated, not yet
quantized model is kept on the result, and shared with the results requantized from it.
Quantizing it and the QuantizationDebugger run in a worker process too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

from ..convert import run_resolved
from ..engine import quantize_calibrated as _quantize_in_engine
from ..settings import INT16X8_OPS, ConversionSettings
from ..tflite_reader import read_model
from ..worker.pool import POOL
from .progress import progress_bar


def check_debuggable(settings: ConversionSettings, what: str = ".layers") -> None:
    """Raise ValueError unless the settings calibrate int8 activations (int8, int8-full)."""
    if INT16X8_OPS in settings.supported_ops:
        raise ValueError(
            f"{what} works on int8 models: QuantizationDebugger does not support int16x8. "
            "Compare with .summary, or sweep the modes with tj.sweep"
        )
    if not settings.uses_representative_dataset:
        raise ValueError(
            f"{what} needs a model with calibrated int8 activations (quantize='int8' or 'int8-full'); this one is "
            f"{settings.description}, whose error comes from its weights alone: see .summary"
        )


def calibrated_model(result, progress: Optional[bool] = None) -> bytes:
    """The result's model calibrated but not quantized (computed once per result).

    Parameters
    ----------
    result : ConversionResult
    progress : bool, optional
        Show a bar over the calibration samples.

    Returns
    -------
    bytes
    """
    if result.calibrated.model is not None:
        return result.calibrated.model
    check_debuggable(result.settings)
    seen = [0]

    def count(samples_so_far: int) -> None:
        bar.update(samples_so_far - seen[0])
        seen[0] = samples_so_far

    with progress_bar(result.calibration_samples or None, "calibrating", progress) as bar:
        output = run_resolved(result.source, result.settings, calibrate_only=True, on_sample=count)
    if not output.calibration_samples:
        raise ValueError(
            "the representative dataset gave no samples the second time round (a one-shot generator or "
            "iterator?): convert with a generator function, a tf.data.Dataset or an array to use .layers/requantize"
        )
    result.calibrated.model = output.tflite_model
    return output.tflite_model


def quantize_calibrated(
    calibrated: bytes,
    settings: ConversionSettings,
    *,
    denylisted_ops: Sequence[str] = (),
    denylisted_nodes: Sequence[str] = (),
    debug: bool = False,
) -> bytes:
    """:func:`tfl_jupyter.core.engine.quantize_calibrated`, run in a worker process."""
    return POOL.call(_quantize_in_engine, calibrated, replace(settings, representative_dataset=None),
                     denylisted_ops=tuple(denylisted_ops), denylisted_nodes=tuple(denylisted_nodes), debug=debug)


def calibrated_tensor_names(calibrated: bytes) -> set:
    """Names of the tensors ops produce in the calibrated model (what ``denylisted_nodes`` matches)."""
    model = read_model(calibrated)
    return {model.subgraphs[0].tensors[i].name for op in model.subgraphs[0].operators for i in op.outputs if i >= 0}
