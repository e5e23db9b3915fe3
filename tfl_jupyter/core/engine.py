"""The one seam where tfl_jupyter calls TensorFlow's converter and its quantization tools.

``run_conversion`` takes a resolved source and validated settings and returns the
``.tflite`` bytes plus what the converter printed (or, with ``calibrate_only``, the
calibrated model before quantization); ``quantize_calibrated`` quantizes such a model as the
converter does, optionally keeping ops in float; ``layer_statistics`` runs TensorFlow's
QuantizationDebugger. Nothing else in the package touches ``tf.lite``'s converter, and these
functions normally run in a worker process (:mod:`tfl_jupyter.core.worker`): the kernel
imports this module but calls it only for ``in_process=True`` conversions.
"""

from __future__ import annotations

import difflib
import functools
import io
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

from .capture import capture_output, run_captured
from .datasets import CalibrationData, DatasetError
from .errors import ConversionError, explain_missing_ranges, translate_converter_error
from .prepare import debug_info_without_loading, feeds_by_name, prepared_converter
from .settings import ConversionSettings
from .shapes import with_fixed_shapes
from .sources import ModelSource, saved_model_signature_specs
from .tensorflow_import import import_tensorflow
from .text import first_line


@dataclass(frozen=True)
class ConverterOutput:
    """What one converter run produced."""

    tflite_model: bytes
    entry_point: str  # "from_keras_model", "from_saved_model" or "from_concrete_functions"
    log: str
    notes: tuple
    duration_s: float
    calibration_samples: int


def run_conversion(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    customize: Optional[Callable[[Any], None]] = None,
    capture: bool = True,
    calibrate_only: bool = False,
    on_sample: Optional[Callable[[int], None]] = None,
) -> ConverterOutput:
    """Convert ``source`` with ``settings``.

    Parameters
    ----------
    source : ModelSource
        From :func:`tfl_jupyter.core.sources.resolve_source`.
    settings : ConversionSettings
        From :func:`tfl_jupyter.core.settings.resolve_settings`.
    customize : callable, optional
        Called with the configured ``TFLiteConverter`` just before ``convert()``; the cell
        magic runs the cell body here.
    capture : bool
        Capture the converter's output into the result instead of letting it print.
    calibrate_only : bool
        Stop after calibration: ``tflite_model`` is the calibrated, not yet quantized model
        (what ``quantize_calibrated`` and the QuantizationDebugger start from).
    on_sample : callable, optional
        Called with the number of calibration samples fed so far.

    Returns
    -------
    ConverterOutput

    Raises
    ------
    ConversionError
        The converter rejected the model; ``.errors`` holds its structured errors.
    ValueError, TypeError
        Bad settings or a representative dataset that does not fit the model.
    """
    started = time.perf_counter()
    if settings.fixes_shapes and not source.shapes_fixed:
        export_log: list = []
        with tempfile.TemporaryDirectory(prefix="tfl_jupyter_shapes_") as folder:
            fixed = run_captured(export_log, with_fixed_shapes, source, settings, folder, enabled=capture)
            output = run_conversion(fixed, settings, customize=customize, capture=capture,
                                    calibrate_only=calibrate_only, on_sample=on_sample)
        return replace(output, log="".join(export_log) + output.log, duration_s=time.perf_counter() - started)
    tf = import_tensorflow()
    from tensorflow.lite.python.convert_phase import ConverterError

    calibration = _calibration_data(source, settings, on_sample)
    if calibrate_only:
        if calibration is None:
            raise ValueError(f"{settings.description} does not calibrate: nothing to calibrate")
        customize = _then_calibrate_only(customize)
    notes = list(settings.notes)
    log_parts: list = []
    try:
        tflite_model, entry_point = _convert_with_fallback(
            tf, source, settings, calibration, customize, notes, functools.partial(run_captured, log_parts, enabled=capture)
        )
    except _UserCodeFailed as failed:
        raise failed.original  # the cell body's own error, with its own traceback
    except (DatasetError, KeyboardInterrupt):
        raise
    except ConverterError as exc:
        raise translate_converter_error(exc, "".join(log_parts)) from None
    except ValueError as exc:
        raise explain_value_error(exc) from None
    except TypeError:
        raise
    except Exception as exc:  # calibration and MLIR failures arrive as plain exceptions
        raise ConversionError(
            f"the converter failed: {type(exc).__name__}: {first_line(exc)}", (), "".join(log_parts)
        ) from None
    return ConverterOutput(
        tflite_model=bytes(tflite_model),
        entry_point=entry_point,
        log="".join(log_parts),
        notes=tuple(notes),
        duration_s=time.perf_counter() - started,
        calibration_samples=calibration.samples_seen if calibration else 0,
    )


def _calibration_data(source, settings, on_sample) -> Optional[CalibrationData]:
    """The checked representative dataset, or None where the settings do not calibrate."""
    if not settings.uses_representative_dataset:
        return None
    return CalibrationData(
        settings.representative_dataset,
        source.input_specs(),
        by_name=feeds_by_name(source, settings),
        ordered=source.specs_ordered,
        on_sample=on_sample,
    )


def _then_calibrate_only(customize):
    def customize_and_stop_after_calibration(converter):
        if customize is not None:
            customize(converter)
        converter._experimental_calibrate_only = True

    return customize_and_stop_after_calibration


class _UserCodeFailed(Exception):
    """Carries an exception raised by ``customize`` (user code) past the converter's error handling."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


def _convert_with_fallback(tf, source, settings, calibration, customize, notes, quiet):
    """Convert through the source's entry point; for Keras, fall back to export + SavedModel."""
    from tensorflow.lite.python.convert_phase import ConverterError

    converter, entry_point = _make_converter(tf, source)
    _prepare(tf, converter, settings, calibration, customize)
    if entry_point != "from_keras_model" or source.prepared:
        return quiet(converter.convert), entry_point
    try:
        return quiet(converter.convert), entry_point
    except (ConverterError, DatasetError, KeyboardInterrupt):
        raise
    except Exception as exc:  # Keras 3 on older TF fails here with _get_save_spec and friends
        if calibration is not None and calibration.samples_seen:
            raise  # it got as far as calibrating: the entry point was not the problem
        notes.append(
            f"from_keras_model failed ({type(exc).__name__}: {first_line(exc)}); "
            "converted through model.export() + from_saved_model instead"
        )
    with tempfile.TemporaryDirectory(prefix="tfl_jupyter_export_") as export_dir:
        quiet(source.obj.export, export_dir)
        converter = tf.lite.TFLiteConverter.from_saved_model(export_dir)
        _prepare(tf, converter, settings, calibration, customize)
        return quiet(converter.convert), "from_saved_model"


def _prepare(tf, converter, settings, calibration, customize) -> None:
    _configure(tf, converter, settings, calibration)
    if customize is not None:
        try:
            customize(converter)
        except Exception as exc:
            raise _UserCodeFailed(exc) from exc


ENTRY_POINTS = {"keras": "from_keras_model", "concrete_functions": "from_concrete_functions", "saved_model": "from_saved_model"}


def _make_converter(tf, source: ModelSource):
    lite = tf.lite.TFLiteConverter
    if source.prepared:
        return prepared_converter(source), ENTRY_POINTS[source.kind]
    if source.kind == "keras":
        return lite.from_keras_model(source.obj), "from_keras_model"
    if source.kind == "saved_model":
        keys = list(source.signature_keys) if source.signature_keys else None
        tags = set(source.tags) if source.tags else None
        converter = _saved_model_converter_without_loading(source.path, keys, tags)
        if converter is None:
            converter = lite.from_saved_model(source.path, signature_keys=keys, tags=tags)
        return converter, "from_saved_model"
    return lite.from_concrete_functions(list(source.obj), source.trackable), "from_concrete_functions"


def _saved_model_converter_without_loading(path: str, keys, tags):
    """What ``from_saved_model`` returns, without its extra load of the whole SavedModel.

    ``from_saved_model`` loads the model once just to list its signatures, and ``convert()``
    loads it again (1.6 s of a MobileNetV2's conversion). With the keys known, the converter
    class can be built directly; its ``convert()`` skips the second load where it can
    (:func:`_saved_model_converter_class`). It is TensorFlow's private class: fall back when it moved.
    """
    if not keys:
        return None
    saved_model_signature_specs(path, keys, tags)  # from_saved_model's key check: a wrong key names the valid ones
    try:
        from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata
        from tensorflow.lite.python.lite import TFLiteConverterBase

        TFLiteConverterBase._set_original_model_type(metadata.ModelType.TF_SAVED_MODEL)
        converter = _saved_model_converter_class()(path, tags or {"serve"}, keys)
    except (ImportError, AttributeError, TypeError):
        return None
    return converter if converter.saved_model_dir else None


@functools.lru_cache(maxsize=None)
def _saved_model_converter_class():
    """``TFLiteSavedModelConverterV2`` whose ``convert()`` does not load the whole SavedModel just for its debug info.

    TensorFlow's ``convert()`` loads the model (0.8 s of a MobileNetV2's conversion) only to
    read ``graph_debug_info``, which for a TF2 SavedModel the loader rebuilds from the debug
    file: the file list, plus the legacy per-node traces renamed. Without such traces that is
    the file list alone, read here from the file (:func:`~tfl_jupyter.core.prepare.debug_info_without_loading`);
    anything else takes TensorFlow's own path.

    Raises
    ------
    AttributeError
        A private name it uses moved (another TensorFlow version): the caller falls back
        to the public converter.
    """
    from tensorflow.lite.python import lite
    from tensorflow.python.saved_model import loader_impl

    base = lite.TFLiteSavedModelConverterV2
    for owner, name in ((lite, "_export_metrics"), (lite, "_get_debug_info"), (lite, "_convert_debug_info_func"),
                        (base.convert, "__wrapped__"), (base, "_load_saved_model"),
                        (base, "_convert_from_saved_model"), (loader_impl, "parse_saved_model_with_debug_info")):
        getattr(owner, name)  # fail here, where the caller falls back, not inside convert()

    class SavedModelConverter(lite.TFLiteSavedModelConverterV2):
        @lite._export_metrics
        def convert(self):
            debug_info = debug_info_without_loading(self.saved_model_dir, self._saved_model_tags)
            if debug_info is None or not self.experimental_new_converter:
                return lite.TFLiteSavedModelConverterV2.convert.__wrapped__(self)
            graph_def, _, _ = self._load_saved_model(self.saved_model_dir, self._saved_model_tags)
            self._debug_info = lite._get_debug_info(lite._convert_debug_info_func(debug_info), graph_def)
            return self._convert_from_saved_model(graph_def)

    return SavedModelConverter


def _configure(tf, converter, settings: ConversionSettings, calibration: Optional[CalibrationData]) -> None:
    converter.optimizations = [getattr(tf.lite.Optimize, name) for name in settings.optimizations]
    if calibration is not None:
        converter.representative_dataset = calibration
    if settings.supported_ops:
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in settings.supported_ops]
    if settings.supported_types:
        converter.target_spec.supported_types = [tf.as_dtype(name) for name in settings.supported_types]
    if settings.inference_input_type:
        converter.inference_input_type = tf.as_dtype(settings.inference_input_type)
    if settings.inference_output_type:
        converter.inference_output_type = tf.as_dtype(settings.inference_output_type)
    converter.allow_custom_ops = settings.allow_custom_ops
    converter.experimental_new_converter = settings.experimental_new_converter
    for name, value in settings.converter_attrs:
        owner, attribute = _attribute_owner(converter, name)
        setattr(owner, attribute, value)


def _attribute_owner(converter, name: str):
    """``"target_spec.x"`` -> (converter.target_spec, "x"); check the attribute exists."""
    owner, _, attribute = name.rpartition(".")
    target = converter
    if owner:
        if owner != "target_spec":
            raise TypeError(f"unknown converter attribute {name!r}: only target_spec.<name> may be dotted")
        target = converter.target_spec
    if not hasattr(target, attribute):
        known = [a for a in vars(target) if not a.startswith("__")]
        close = difflib.get_close_matches(attribute, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"TFLiteConverter has no attribute {name!r}{hint}; check the spelling against the converter's documentation")
    return target, attribute


_INPUT_SHAPE_HINT = (
    "give every input a full shape except the batch dimension, e.g. keras.Input((224, 224, 3)) "
    "or tf.TensorSpec([None, 224, 224, 3])"
)


def explain_value_error(exc: ValueError) -> ValueError:
    """Give TensorFlow's documented converter ValueErrors a message that names the fix."""
    text = str(exc)
    missing_ranges = explain_missing_ranges(text)
    if missing_ranges:
        return ValueError(missing_ranges)
    if "None is only supported in the 1st dimension" in text or "input shape" in text.lower():
        return ValueError(f"{first_line(exc)}: {_INPUT_SHAPE_HINT}")
    if "single ConcreteFunction" in text:
        return ValueError(f"{first_line(exc)}: convert one function at a time, or save them as signatures with tf.saved_model.save")
    if "quantiz" in text.lower():
        return ValueError(f"{first_line(exc)}: check quantize, inference_input_type/inference_output_type and supported_ops together")
    return ValueError(first_line(exc))


def quantize_calibrated(
    calibrated: bytes,
    settings: ConversionSettings,
    *,
    denylisted_ops: Sequence[str] = (),
    denylisted_nodes: Sequence[str] = (),
    debug: bool = False,
) -> bytes:
    """Quantize a calibrated model as the converter does, optionally keeping ops/tensors float.

    Parameters
    ----------
    calibrated : bytes
        From ``run_conversion(..., calibrate_only=True)``.
    settings : ConversionSettings
        The conversion's settings (I/O types, per-channel attributes).
    denylisted_ops, denylisted_nodes : sequence of str
        Op types and tensor names to keep in float.
    debug : bool
        Instrument the model with NumericVerify ops and float I/O (for the debugger).

    Returns
    -------
    bytes
    """
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


def layer_statistics(debug_model: bytes, feeds: list) -> str:
    """Run TensorFlow's QuantizationDebugger on an instrumented model; its per-layer CSV.

    Parameters
    ----------
    debug_model : bytes
        From ``quantize_calibrated(..., debug=True)``.
    feeds : list of list of ndarray
        One list of float inputs per sample, in the model's input order.

    Returns
    -------
    str
        ``layer_statistics_dump``'s CSV text.
    """
    tf = import_tensorflow()
    with capture_output():  # the debugger's interpreter warns that it is deprecated
        debugger = tf.lite.experimental.QuantizationDebugger(
            quant_debug_model_content=debug_model, debug_dataset=lambda: iter(feeds)
        )
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    return dump.getvalue()
