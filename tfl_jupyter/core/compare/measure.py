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
from .tasks import NO_TASK, TaskSpec, check_label_count, check_metrics, labels_from_pairs, split_dataset, task_spec


@dataclass
class Prepared:
    """What one comparison needs besides the converted model: inputs, samples, reference outputs."""

    signature: Optional[SignatureInfo]
    specs: List[InputSpec]
    inputs: Dict[str, int]
    samples: SampleSet
    reference: Dict[str, np.ndarray]
    reference_description: str
    task: TaskSpec = NO_TASK


def compare(
    result,
    samples: Any = None,
    n: Optional[int] = 100,
    *,
    float_tflite: bool = False,
    signature_key: Optional[str] = None,
    batch_size: Optional[int] = None,
    progress: Optional[bool] = None,
    labels: Any = None,
    metric: Any = None,
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
    labels : array, list, dict by output name, or tf.data.Dataset of (x, y) pairs, optional
        One label per sample: class ids or one-hot rows for class scores (``accuracy``,
        ``top5_accuracy``), targets otherwise (``mae``, ``rmse``). A ``tf.data.Dataset``
        gives both the samples and the labels.
    metric : callable or dict of str to callable, optional
        ``fn(y_true, y_pred) -> float``, evaluated on every model's outputs; needs ``labels``.

    Returns
    -------
    Comparison
        With ``labels``, ``.task_metrics`` has one row per model and one column per metric.
    """
    from .report import Comparison

    prepared = prepare(result, samples, n, signature_key=signature_key, batch_size=batch_size, progress=progress,
                       labels=labels, metric=metric)
    outputs = run_prepared(result.tflite_model, result.model, prepared, batch_size=batch_size, progress=progress,
                           description=result.settings.quantize)
    float_outputs = None
    if float_tflite and result.settings.quantize != "none":
        float_result = convert_float(result)
        float_outputs = run_prepared(float_result.tflite_model, float_result.model, prepared, batch_size=batch_size,
                                     progress=progress, description="float .tflite")
    return Comparison(result=result, prepared=prepared, outputs=outputs, float_outputs=float_outputs)


def prepare(result, samples, n, *, signature_key=None, batch_size=None, progress=None, labels=None, metric=None) -> Prepared:
    """Resolve the samples (and labels) against the model's inputs and run the reference on them."""
    key = signature_key or _only(result.settings.signature_keys)
    signature = choose_signature(result.model, key)
    specs, ordered = input_specs(result.source, result.model, signature)
    inputs = bind_inputs(result.model, signature, [s.name for s in specs])
    ranges = calibrated_ranges(result.model, inputs, subgraph_of(signature))
    sample_set, labels, metrics = resolve_labelled(specs, samples, labels, metric, n, ordered=ordered, ranges=ranges,
                                                   representative_dataset=result.settings.representative_dataset)
    reference = Reference(result.source, signature.key if signature is not None and result.source.kind == "saved_model" else None)
    outputs = reference.run(sample_set, batch_size=batch_size, progress=progress)
    task = task_spec(labels, metrics, outputs)
    return Prepared(signature, specs, inputs, sample_set, outputs, reference.description, task)


def resolve_labelled(specs, samples, labels, metric, n, *, ordered=True, ranges=None, representative_dataset=None) -> tuple:
    """:func:`resolve_samples` with labels: (SampleSet, labels counted against it, metrics by name).

    Everything is checked before any model runs, so a wrong label count fails at once.
    """
    metrics = check_metrics(metric)
    if metrics and labels is None:
        raise ValueError("metric= needs labels=...: the metric is called as fn(y_true, y_pred)")
    samples, labels, given = split_labelled(samples, labels, specs, n)
    sample_set = resolve_samples(specs, samples=samples, representative_dataset=representative_dataset, n=n,
                                 ordered=ordered, ranges=ranges)
    if labels is not None:
        if given is None:
            given = sample_count(samples if samples is not None else representative_dataset, len(specs))
        labels = check_label_count(labels, sample_set.n, given)
    return sample_set, labels, metrics


def split_labelled(samples, labels, specs, n) -> tuple:
    """(samples, labels, samples given) with a ``tf.data.Dataset`` of ``(x, y)`` pairs split into both."""
    from ..datasets import is_tf_dataset

    if not is_tf_dataset(labels):
        return samples, labels, None
    if samples is not None and samples is not labels:
        raise ValueError("labels= is a tf.data.Dataset, which gives the samples too: drop samples=, or pass labels as an array")
    xs, ys = split_dataset(labels, n)
    if not xs:
        raise ValueError("labels= is an empty tf.data.Dataset: give it (x, y) pairs")
    first = xs[0][specs[0].name] if isinstance(xs[0], dict) else (xs[0][0] if isinstance(xs[0], tuple) else xs[0])
    batched = bool(specs and specs[0].shape) and np.ndim(first) == len(specs[0].shape)
    y = labels_from_pairs(ys, batched)
    return xs, y, len(y)


def sample_count(samples, n_inputs: int) -> Optional[int]:
    """Samples given, for arrays, lists of samples and dicts of arrays (None where unknown)."""
    if isinstance(samples, np.ndarray):
        return len(samples)
    if isinstance(samples, dict) and samples:
        return len(next(iter(samples.values())))
    if isinstance(samples, list) and not (n_inputs > 1 and len(samples) == n_inputs):  # not [x_a, x_b]
        return len(samples)
    return None


def input_specs(source: ModelSource, model: ModelInfo, signature) -> tuple:
    """(specs, ordered): the source's own input specs, else those read from the ``.tflite``."""
    specs = source.input_specs()
    if specs:
        return list(specs), source.specs_ordered
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
