"""The calibrated model behind ``.layers`` and ``requantize``, and quantizing it as the converter does.

Calibration runs again with the conversion's own settings and representative dataset (through
``engine.build_converter`` with ``_experimental_calibrate_only``), once per result: the
calibrated, not yet quantized model is kept for as long as the result lives.
"""

from __future__ import annotations

import weakref
from typing import Dict, Optional, Sequence, Tuple

from ..capture import capture_output
from ..settings import ConversionSettings
from ..tflite_reader import read_model
from .progress import progress_bar

_INT16X8 = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"
# By id of a live ConversionResult: its calibrated model, and what requantize kept in float.
_CALIBRATED: Dict[int, bytes] = {}
_DENYLISTS: Dict[int, Tuple[tuple, tuple]] = {}


def check_debuggable(settings: ConversionSettings, what: str = ".layers") -> None:
    """Raise ValueError unless the settings calibrate int8 activations (int8, int8-full)."""
    if _INT16X8 in settings.supported_ops:
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
    key = id(result)
    if key in _CALIBRATED:
        return _CALIBRATED[key]
    check_debuggable(result.settings)
    from ..engine import build_converter

    seen = [0]

    def count(samples_so_far: int) -> None:
        bar.update(samples_so_far - seen[0])
        seen[0] = samples_so_far

    with progress_bar(result.calibration_samples or None, "calibrating", progress) as bar:
        converter = build_converter(result.source, result.settings, on_sample=count)
        converter._experimental_calibrate_only = True  # stop after calibration, before quantization
        with capture_output():
            calibrated = bytes(converter.convert())
    if not seen[0]:
        raise ValueError(
            "the representative dataset gave no samples the second time round (a one-shot generator or "
            "iterator?): convert with a generator function, a tf.data.Dataset or an array to use .layers/requantize"
        )
    _remember(result, calibrated)
    return calibrated


def remember_requantized(result, calibrated: bytes, denylisted_ops: tuple, denylisted_nodes: tuple) -> None:
    """Record that ``result`` is ``calibrated`` quantized with this denylist (for its own ``.layers``)."""
    _remember(result, calibrated)
    _DENYLISTS[id(result)] = (tuple(denylisted_ops), tuple(denylisted_nodes))


def denylist_of(result) -> Tuple[tuple, tuple]:
    """(op types, tensor names) a requantized result keeps in float; empty for a plain conversion."""
    return _DENYLISTS.get(id(result), ((), ()))


def _remember(result, calibrated: bytes) -> None:
    key = id(result)
    if key not in _CALIBRATED:
        weakref.finalize(result, _forget, key)
    _CALIBRATED[key] = calibrated


def _forget(key: int) -> None:
    _CALIBRATED.pop(key, None)
    _DENYLISTS.pop(key, None)


def quantize_calibrated(
    calibrated: bytes,
    settings: ConversionSettings,
    *,
    denylisted_ops: Sequence[str] = (),
    denylisted_nodes: Sequence[str] = (),
    debug: bool = False,
) -> bytes:
    """Quantize a calibrated model as the converter does, optionally keeping ops/tensors float.

    With ``debug`` the model is instrumented with NumericVerify ops (float I/O, for the debugger).
    """
    from ..tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    from tensorflow.lite.python import convert as lite_convert

    attrs = dict(settings.converter_attrs)
    io_type = (lambda name: tf.float32 if debug or not name else tf.as_dtype(name))
    with capture_output():  # the quantizer prints its flags from C++
        model = lite_convert.mlir_quantize(
            calibrated,
            disable_per_channel=bool(attrs.get("_experimental_disable_per_channel", False)),
            fully_quantize=False,
            input_data_type=io_type(settings.inference_input_type),
            output_data_type=io_type(settings.inference_output_type),
            enable_numeric_verify=debug,
            denylisted_ops=list(denylisted_ops) or None,
            denylisted_nodes=list(denylisted_nodes) or None,
            disable_per_channel_for_dense_layers=bool(attrs.get("_experimental_disable_per_channel_quantization_for_dense_layers", False)),
        )
        if not debug and hasattr(lite_convert, "deduplicate_readonly_buffers"):
            model = lite_convert.deduplicate_readonly_buffers(model)  # as the converter does last
    return bytes(model)


def calibrated_tensor_names(calibrated: bytes) -> set:
    """Names of the tensors ops produce in the calibrated model (what ``denylisted_nodes`` matches)."""
    model = read_model(calibrated)
    return {model.subgraphs[0].tensors[i].name for op in model.subgraphs[0].operators for i in op.outputs if i >= 0}
