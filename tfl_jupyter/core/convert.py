"""``convert``: the one call behind ``tj.convert``, the magic and the panel.

``convert`` checks the user's arguments; ``convert_resolved`` does the work for a source
and settings already resolved (compare, requantize and the sweep call it directly), and
``run_resolved`` is the one place that chooses between the worker pool and this process.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Callable, Optional, Sequence

from .calibration_checks import check_dataset
from .engine import ConverterOutput, run_conversion
from .errors import ConversionError
from .files import check_writable, write_atomically
from .prepare import NeedsLiveModel, needs_live_model
from .result import ConversionResult
from .settings import ConversionSettings, float_settings, resolve_settings
from .shapes import dynamic_shape_notes, resolve_shapes, with_shape_fix
from .sources import ModelSource, resolve_source
from .tflite_reader import read_model
from .worker.conversions import convert_in_worker
from .worker.litert import quantize_with_litert, resolve_recipe
from .worker.pool import POOL
from .worker.process import NO_DEADLINE, Deadline


def convert(
    source: Any,
    *,
    quantize: Optional[str] = None,
    representative_dataset: Any = None,
    supported_ops: Optional[Sequence] = None,
    supported_types: Optional[Sequence] = None,
    inference_input_type: Any = None,
    inference_output_type: Any = None,
    allow_custom_ops: bool = False,
    experimental_new_converter: bool = True,
    signature_keys: Optional[Sequence[str]] = None,
    tags: Optional[Sequence[str]] = None,
    input_shapes: Any = None,
    batch_size: Optional[int] = None,
    quantizer: Optional[str] = None,
    recipe: Any = None,
    output_file: Optional[str] = None,
    optimizations: Optional[Sequence] = None,
    customize: Optional[Callable[[Any], None]] = None,
    customize_source: Optional[str] = None,
    source_name: Optional[str] = None,
    dataset_name: Optional[str] = None,
    capture_log: bool = True,
    in_process: bool = False,
    timeout: Optional[float] = None,
    on_sample: Optional[Callable[[int], None]] = None,
    **converter_attrs: Any,
) -> ConversionResult:
    """Convert a TensorFlow model to TensorFlow Lite.

    Parameters
    ----------
    source : object or str
        A Keras model, a SavedModel directory, a ``.keras``/``.h5`` file, a ``tf.function``
        with an input signature, a ConcreteFunction, a ``tf.Module`` or a list of functions.
    quantize : {None, "none", "dynamic", "float16", "int8", "int8-full", "int16x8"}
        A preset that sets optimizations, supported ops/types and I/O types together.
        Explicit arguments below override what the preset sets.
    representative_dataset : generator function, tf.data.Dataset, ndarray, list or dict
        Calibration samples; the first is checked against the model's inputs.
    supported_ops : sequence of str or tf.lite.OpsSet
        ``TFLITE_BUILTINS``, ``TFLITE_BUILTINS_INT8``, ``SELECT_TF_OPS``,
        ``EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8``.
    supported_types : sequence of str or tf.DType
        e.g. ``["float16"]``.
    inference_input_type, inference_output_type : str or tf.DType
        ``float32``, ``int8``, ``uint8`` (``int16`` for int16x8).
    allow_custom_ops, experimental_new_converter : bool
        As on ``tf.lite.TFLiteConverter``.
    signature_keys, tags : sequence of str
        For SavedModel directories.
    input_shapes : dict or list, optional
        Fixed input shapes, ``{name: [1, 16, 6]}`` or a list in input order (None keeps a
        dimension dynamic): the model is traced again at them before it is converted, which
        recurrent layers need to convert to builtin ops. ``.code`` shows how.
    batch_size : int, optional
        Fix the first dimension of every input (``batch_size=1``); the shorthand for
        ``input_shapes`` when only the batch is dynamic.
    quantizer : {"converter", "litert"}, optional
        ``"litert"`` converts to float, then quantizes with the LiteRT Quantizer (``pip install
        'tfl_jupyter[quantizer]'``): ``dynamic``, ``int8`` (float I/O), ``int8-full`` (int8 I/O)
        and ``int16x8`` map to its recipes ``dynamic_wi8_afp32``, ``static_wi8_ai8`` and
        ``static_wi8_ai16``; ``float16`` has none. The float conversion (and, per in-memory
        dataset, the calibration) is reused across recipes.
    recipe : str or list, optional
        With ``quantizer="litert"``, instead of ``quantize``: a recipe name (e.g.
        ``"dynamic_wi4_afp32"``, ``"weight_only_wi4_afp32"``, ``"dynamic_wi8_afp32_hadamard"``),
        a ``.json`` file, JSON text (``result.recipe``) or the list of rules.
    output_file : str, optional
        Write the model here, atomically: a failed conversion leaves no file and does
        not touch an existing one.
    optimizations : sequence of str or tf.lite.Optimize
        Overrides the preset's (``["DEFAULT"]`` for any quantization).
    customize : callable, optional
        Called with the configured converter just before ``convert()``.
    customize_source : str, optional
        The Python that ``customize`` runs (the magic's cell body), copied into ``.code``.
    source_name, dataset_name : str, optional
        Variable names used in the generated ``.code``.
    capture_log : bool
        Capture the converter's output into ``.log`` (default) instead of printing it.
    in_process : bool
        Convert in this process instead of the warm worker process. Faster to start, but
        a converter crash takes the kernel with it, memory grows with each conversion, and
        there is no timeout. ``customize`` (the cell form of the magic) implies it.
    timeout : float, optional
        Stop the conversion after this many seconds (worker only).
    on_sample : callable, optional
        Called with the number of calibration samples fed so far (for progress bars).
    **converter_attrs
        Any other converter attribute, e.g. ``experimental_enable_resource_variables=True``
        or ``_experimental_disable_per_channel=True``.

    Returns
    -------
    ConversionResult

    Raises
    ------
    tfl_jupyter.ConversionError
        The converter rejected the model; ``.errors`` and ``.ops`` say which ops and why.
    ValueError, TypeError
        A mistake in the arguments; the message names the fix.
    """
    settings = resolve_settings(
        quantize,
        representative_dataset=representative_dataset,
        optimizations=optimizations,
        supported_ops=supported_ops,
        supported_types=supported_types,
        inference_input_type=inference_input_type,
        inference_output_type=inference_output_type,
        allow_custom_ops=allow_custom_ops,
        experimental_new_converter=experimental_new_converter,
        signature_keys=signature_keys,
        tags=tags,
        input_shapes=input_shapes,
        batch_size=batch_size,
        converter_attrs=converter_attrs,
        quantizer=quantizer,
        recipe=recipe,
    )
    if output_file is not None:
        check_writable(output_file)  # before minutes of conversion, not after
    # The cell form's body needs the live converter, which only exists in this process.
    worker_wanted = not in_process and customize is None and capture_log
    if timeout is not None and not (worker_wanted and POOL.available):
        raise ValueError(
            "timeout needs the worker process, and this conversion runs in the kernel (in_process=True, "
            "the cell form, capture_log=False, or a platform without worker processes): drop the timeout, or those"
        )
    deadline = Deadline(timeout)  # from here on, the whole call counts
    settings = resolve_recipe(settings, in_process=not worker_wanted)  # a bad recipe fails before the conversion
    if worker_wanted and POOL.available:
        POOL.warm_up()  # it imports TensorFlow while this process resolves the source
    model_source = resolve_source(source, signature_keys=settings.signature_keys, tags=settings.tags)
    if settings.fixes_shapes:
        resolve_shapes(model_source, settings)  # a shape that does not fit fails now, in one line
    return convert_resolved(
        model_source,
        settings,
        output_file=output_file,
        customize=customize,
        customize_source=customize_source,
        source_name=source_name,
        dataset_name=dataset_name,
        capture_log=capture_log,
        in_process=not worker_wanted,
        deadline=deadline,
        on_sample=on_sample,
    )


def convert_resolved(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    output_file: Optional[str] = None,
    customize: Optional[Callable[[Any], None]] = None,
    customize_source: Optional[str] = None,
    source_name: Optional[str] = None,
    dataset_name: Optional[str] = None,
    capture_log: bool = True,
    in_process: bool = False,
    deadline: Deadline = NO_DEADLINE,
    on_sample: Optional[Callable[[int], None]] = None,
    cancel=None,
    portable=None,
) -> ConversionResult:
    """Convert a resolved source with resolved settings: :func:`convert` without the argument checks.

    Parameters
    ----------
    source : ModelSource
    settings : ConversionSettings
    deadline : Deadline
        When the call must end.
    cancel : threading.Event, optional
        Set it to stop the conversion (worker only).
    portable : PortableSource, optional
        ``make_portable(source, ...)`` already made by the caller for this unchanged source
        (worker only): the model is not fingerprinted again.
    Other parameters
        As for :func:`convert`.

    Returns
    -------
    ConversionResult
    """
    settings = resolve_recipe(settings, in_process=in_process)
    output = run_resolved(source, settings, customize=customize, capture_log=capture_log, in_process=in_process,
                          deadline=deadline, on_sample=on_sample, cancel=cancel, portable=portable)
    written = str(write_atomically(output_file, output.tflite_model)) if output_file is not None else None
    return ConversionResult(
        tflite_model=output.tflite_model,
        settings=settings,
        source=source,
        entry_point=output.entry_point,
        duration_s=output.duration_s,
        log=output.log,
        notes=output.notes + dynamic_shape_notes(read_model(output.tflite_model)),
        output_file=written,
        calibration_samples=output.calibration_samples,
        source_name=source_name,
        dataset_name=dataset_name,
        customize_source=customize_source,
        dataset_check=_check_dataset(source, settings, output.calibration_samples),
    )


def _check_dataset(source: ModelSource, settings: ConversionSettings, samples_seen: int):
    """The representative dataset's check (after the conversion, which has validated its form)."""
    if not settings.uses_representative_dataset:
        return None
    return check_dataset(settings.representative_dataset, source.inputs, ordered=source.specs_ordered,
                         samples_seen=samples_seen)


def run_resolved(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    calibrate_only: bool = False,
    customize: Optional[Callable[[Any], None]] = None,
    capture_log: bool = True,
    in_process: bool = False,
    deadline: Deadline = NO_DEADLINE,
    on_sample: Optional[Callable[[int], None]] = None,
    cancel=None,
    portable=None,
) -> ConverterOutput:
    """Run the converter for ``source``: in a worker process where it can, else in this one.

    ``portable`` is as for :func:`convert_resolved`.

    Returns
    -------
    ConverterOutput
        The model bytes (calibrated only, with ``calibrate_only``), log and notes.
    """
    if not in_process and not POOL.available:
        _warn_no_worker()
        in_process = True
    if settings.quantizer == "litert":
        if calibrate_only:
            raise ValueError("a LiteRT Quantizer result has no converter-calibrated model: its .layers and "
                             "requantize() use the quantizer's own calibration")
        float_output = run_resolved(source, float_settings(settings), customize=customize, capture_log=capture_log,
                                    in_process=in_process, deadline=deadline, cancel=cancel, portable=portable)
        return quantize_with_litert(source, settings, float_output, in_process=in_process, deadline=deadline, cancel=cancel)
    live_only = None if in_process else needs_live_model(source, settings)
    try:
        if not in_process and not live_only:
            try:
                output = convert_in_worker(source, settings, calibrate_only=calibrate_only, deadline=deadline,
                                           on_sample=on_sample, cancel=cancel, portable=portable)
            except NeedsLiveModel as exc:
                live_only = str(exc)
        if in_process or live_only:
            output = run_conversion(source, settings, customize=customize, capture=capture_log,
                                    calibrate_only=calibrate_only, on_sample=on_sample)
    except ConversionError as error:
        raise with_shape_fix(error, source, settings) from None
    if live_only:
        output = replace(output, notes=output.notes + (f"converted in the kernel's process: {live_only}",))
    return output


_WARNED: list = []


def _warn_no_worker() -> None:
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn(
            "tfl_jupyter converts in the kernel's own process on this platform (worker processes need POSIX): "
            "a converter crash takes the kernel with it, memory grows with each conversion, and timeout= "
            "and Cancel do not work",
            RuntimeWarning,
            stacklevel=3,
        )
