"""``compare``: run the source model and the converted model on the same samples, and measure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np

from ..sources import InputSpec, ModelSource
from ..tflite_reader import ModelInfo, SignatureInfo
from .binding import bind_inputs, bind_outputs, calibrated_ranges, choose_signature, specs_from_tflite, subgraph_of
from .reference import Reference
from .tflite_runner import TFLiteRunner
from .samples import SampleSet, resolve_samples


@dataclass
class Prepared:
    """What one comparison needs besides the converted model: inputs, samples, reference outputs."""

    signature: Optional[SignatureInfo]
    specs: List[InputSpec]
    inputs: Dict[str, int]
    samples: SampleSet
    reference: Dict[str, np.ndarray]
    reference_description: str


def compare(
    result,
    samples: Any = None,
    n: Optional[int] = 100,
    *,
    float_tflite: bool = False,
    signature_key: Optional[str] = None,
    batch_size: Optional[int] = None,
    progress: Optional[bool] = None,
):
    """Run the source model and ``result``'s ``.tflite`` on the same inputs; measure the difference.

    Parameters
    ----------
    result : ConversionResult
    samples : array, list, dict, tf.data.Dataset or generator function, optional
        Inputs to compare on. Default: the representative dataset, else random inputs
        generated from the input signature (the report says which).
    n : int or None
        At most this many samples (None: all given).
    float_tflite : bool
        Also convert the source to a float ``.tflite`` and compare it, to tell conversion
        error (float .tflite vs TensorFlow) from quantization error (this model vs float .tflite).
    signature_key : str, optional
        The signature to compare, for models with several.
    batch_size : int, optional
        Samples per call; default about 4 MB of input per batch.
    progress : bool, optional
        Progress bars: True/False, or None for long runs only.

    Returns
    -------
    Comparison
    """
    from .report import Comparison

    prepared = prepare(result, samples, n, signature_key=signature_key, batch_size=batch_size, progress=progress)
    outputs = run_prepared(result.tflite_model, result.model, prepared, batch_size=batch_size, progress=progress,
                           description=result.settings.quantize)
    float_outputs = None
    if float_tflite and result.settings.quantize != "none":
        float_result = convert_float(result)
        float_outputs = run_prepared(float_result.tflite_model, float_result.model, prepared, batch_size=batch_size,
                                     progress=progress, description="float .tflite")
    return Comparison(result=result, prepared=prepared, outputs=outputs, float_outputs=float_outputs)


def prepare(result, samples, n, *, signature_key=None, batch_size=None, progress=None) -> Prepared:
    """Resolve the samples against the model's inputs and run the reference on them."""
    key = signature_key or _only(result.settings.signature_keys)
    signature = choose_signature(result.model, key)
    specs, ordered = input_specs(result.source, result.model, signature)
    inputs = bind_inputs(result.model, signature, [s.name for s in specs])
    ranges = calibrated_ranges(result.model, inputs, subgraph_of(signature))
    sample_set = resolve_samples(
        specs, samples=samples, representative_dataset=result.settings.representative_dataset, n=n, ordered=ordered, ranges=ranges
    )
    reference = Reference(result.source, signature.key if signature is not None and result.source.kind == "saved_model" else None)
    outputs = reference.run(sample_set, batch_size=batch_size, progress=progress)
    return Prepared(signature, specs, inputs, sample_set, outputs, reference.description)


def input_specs(source: ModelSource, model: ModelInfo, signature) -> tuple:
    """(specs, ordered): the source's own input specs, else those read from the ``.tflite``."""
    specs = source.input_specs()
    if specs:
        return list(specs), getattr(source, "specs_ordered", source.kind != "saved_model")
    return specs_from_tflite(model, signature), True


def run_tflite(tflite_model: bytes, model: ModelInfo, samples: SampleSet, output_names: List[str], *,
               signature_key: Optional[str] = None, batch_size=None, progress=None,
               description: str = ".tflite") -> Dict[str, np.ndarray]:
    """Run a ``.tflite`` on ``samples``; outputs named as the reference names them (``output_names``)."""
    signature = choose_signature(model, signature_key)
    inputs = bind_inputs(model, signature, samples.names)
    outputs = bind_outputs(model, signature, output_names)
    runner = TFLiteRunner(tflite_model, model, signature)
    return runner.run(samples, inputs, outputs, batch_size=batch_size, progress=progress, description=description)


def run_prepared(tflite_model: bytes, model: ModelInfo, prepared: Prepared, **options) -> Dict[str, np.ndarray]:
    """:func:`run_tflite` on a comparison's prepared samples and signature."""
    key = prepared.signature.key if prepared.signature is not None else None
    return run_tflite(tflite_model, model, prepared.samples, list(prepared.reference), signature_key=key, **options)


def convert_float(result):
    """The same source converted without quantization (for the conversion-error split)."""
    from ..convert import convert_resolved
    from ..settings import resolve_settings

    settings = resolve_settings(None, signature_keys=result.settings.signature_keys, tags=result.settings.tags)
    return convert_resolved(result.source, settings)


def _only(keys) -> Optional[str]:
    return keys[0] if keys and len(keys) == 1 else None
