"""The float reference: the source model itself, run by TensorFlow on batches of samples.

A Keras model runs as one ``tf.function`` (``model(x, training=False)``) traced once for a
dynamic batch; a SavedModel through its signature; concrete functions as they are. Outputs
are named the way the converter names them in the ``.tflite`` signature: Keras and function
outputs ``output_0``, ``output_1``, ... (or their dict keys), SavedModel outputs by signature.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from ..capture import capture_output
from ..sources import ModelSource
from ..tensorflow_import import import_tensorflow
from .progress import progress_bar
from .samples import SampleSet

_BATCH_BYTES = 4 * 1024 * 1024


class Reference:
    """Runs the source model on SampleSets.

    Parameters
    ----------
    source : ModelSource
    signature_key : str, optional
        For a SavedModel with several signatures.
    """

    def __init__(self, source: ModelSource, signature_key: Optional[str] = None):
        self.source = source
        self.description = f"TensorFlow ({source.description})"
        self._call = _caller(source, signature_key)
        self._keep = source  # the model or loaded SavedModel must outlive its functions

    def run(self, samples: SampleSet, *, batch_size: Optional[int] = None, progress: Optional[bool] = None) -> Dict[str, np.ndarray]:
        """Return ``{output name: float array}`` with samples on the first axis."""
        size = batch_size or int(np.clip(_BATCH_BYTES // max(1, samples.bytes_per_sample()), 1, 256))
        fixed = self._call.fixed_batch
        if fixed:
            size = fixed
        names: Optional[List[str]] = None
        parts: Dict[str, list] = {}
        with progress_bar(samples.n, "reference (TensorFlow)", progress) as bar:
            for _, batch in samples.batches(size):
                count = len(next(iter(batch.values())))
                if fixed and count < fixed:  # a signature with a fixed batch: pad the last call
                    batch = {k: np.concatenate([v, np.repeat(v[-1:], fixed - count, axis=0)]) for k, v in batch.items()}
                named = self._call(batch)
                if names is None:
                    names = list(named)
                    parts = {name: [] for name in names}
                for name in names:
                    value = np.asarray(named[name])
                    parts[name].append(value[:count] if value.ndim and len(value) == len(next(iter(batch.values()))) else value)
                bar.update(count)
        return {name: np.concatenate(p) if p[0].ndim else np.stack(p) for name, p in parts.items()}


def _caller(source: ModelSource, signature_key: Optional[str]):
    tf = import_tensorflow()
    if source.kind == "keras":
        return _KerasCall(tf, source.obj)
    if source.kind == "saved_model":
        return _SignatureCall(tf, source, signature_key)
    functions = list(source.obj)
    if len(functions) != 1:
        raise ValueError(f"compare runs one function at a time; this source has {len(functions)}: convert them one by one")
    return _FunctionCall(tf, functions[0])


class _KerasCall:
    fixed_batch = 0

    def __init__(self, tf, model):
        self.tf = tf
        self.model = model
        self._function = None
        self._by_name = isinstance(getattr(model, "_inputs_struct", None), dict)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        tf = self.tf
        names = list(batch)
        if self._function is None:
            specs = [tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for v in batch.values()]
            model, by_name = self.model, self._by_name

            def call(*tensors):
                inputs = dict(zip(names, tensors)) if by_name else (list(tensors) if len(tensors) > 1 else tensors[0])
                return model(inputs, training=False)

            self._function = tf.function(call, input_signature=specs)
            with capture_output():  # tracing warnings
                return _named_outputs(tf, self._function(*batch.values()))
        return _named_outputs(tf, self._function(*batch.values()))


class _SignatureCall:
    def __init__(self, tf, source: ModelSource, signature_key: Optional[str]):
        with capture_output():
            self.loaded = tf.saved_model.load(source.path, tags=list(source.tags) if source.tags else None)
        signatures = {k: v for k, v in self.loaded.signatures.items()}
        key = signature_key or (source.signature_keys[0] if source.signature_keys and len(source.signature_keys) == 1 else None)
        if key is None:
            if "serving_default" in signatures and (len(signatures) == 1 or set(signatures) == {"serve", "serving_default"}):
                key = "serving_default"
            elif len(signatures) == 1:
                key = next(iter(signatures))
            else:
                raise ValueError(f"the SavedModel has signatures {sorted(signatures)}: pass signature_key=... to compare one")
        if key not in signatures:
            raise ValueError(f"the SavedModel has no signature {key!r}; it has {sorted(signatures)}")
        self.function = signatures[key]
        self.key = key
        specs = self.function.structured_input_signature[1]
        batch_dims = {spec.shape[0] for spec in specs.values() if spec.shape.rank}
        self.fixed_batch = next(iter(batch_dims)) if len(batch_dims) == 1 and None not in batch_dims else 0
        self.tf = tf

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        outputs = self.function(**{name: self.tf.constant(value) for name, value in batch.items()})
        return {name: value.numpy() for name, value in outputs.items()}


class _FunctionCall:
    def __init__(self, tf, function):
        self.tf = tf
        self.function = function
        specs = [s for s in tf.nest.flatten(function.structured_input_signature) if isinstance(s, tf.TensorSpec)]
        batch_dims = {s.shape[0] for s in specs if s.shape.rank}
        self.fixed_batch = next(iter(batch_dims)) if len(batch_dims) == 1 and None not in batch_dims else 0

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        return _named_outputs(self.tf, self.function(*[self.tf.constant(v) for v in batch.values()]))


def _named_outputs(tf, outputs) -> Dict[str, np.ndarray]:
    """Name outputs as the converter does: dict keys, else ``output_<i>`` in flattened order."""
    if isinstance(outputs, dict):
        return {str(k): _numpy(outputs[k]) for k in sorted(outputs)}
    flat = tf.nest.flatten(outputs)
    return {f"output_{i}": _numpy(v) for i, v in enumerate(flat)}


def _numpy(value) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)
