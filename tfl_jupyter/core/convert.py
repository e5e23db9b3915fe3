"""``convert``: the one call behind ``tj.convert``, the magic and the panel."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from .engine import run_conversion
from .files import check_writable, write_atomically
from .result import ConversionResult
from .settings import resolve_settings
from .sources import resolve_source
from .worker.client import WORKER
from .worker.run import convert_in_worker


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
        converter_attrs=converter_attrs,
    )
    if output_file is not None:
        check_writable(output_file)  # before minutes of conversion, not after
    # The cell form's body needs the live converter, which only exists in this process.
    worker_wanted = not in_process and customize is None and capture_log
    if timeout is not None and not worker_wanted:
        raise ValueError(
            "timeout needs the worker process, and this conversion runs in the kernel (in_process=True, "
            "the cell form, or capture_log=False): drop the timeout, or those"
        )
    if worker_wanted:
        WORKER.start()  # it imports TensorFlow while this process resolves and exports the model
    model_source = resolve_source(source, signature_keys=settings.signature_keys, tags=settings.tags)
    output = None
    if worker_wanted:
        output = convert_in_worker(model_source, settings, timeout=timeout, on_sample=on_sample)
    if output is None:
        output = run_conversion(model_source, settings, customize=customize, capture=capture_log, on_sample=on_sample)
    written = str(write_atomically(output_file, output.tflite_model)) if output_file is not None else None
    return ConversionResult(
        tflite_model=output.tflite_model,
        settings=settings,
        source=model_source,
        entry_point=output.entry_point,
        duration_s=output.duration_s,
        log=output.log,
        notes=output.notes,
        output_file=written,
        calibration_samples=output.calibration_samples,
        source_name=source_name,
        dataset_name=dataset_name,
        customize_source=customize_source,
    )
