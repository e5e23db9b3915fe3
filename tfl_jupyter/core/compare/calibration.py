"""The calibrated model behind ``.layers`` and ``requantize``, and quantizing it as the converter does.

Calibration runs again with the conversion's own settings and representative dataset (a
``calibrate_only`` job of the worker pool): the calibrated, not yet quantized model is
memoised here for the last few (source, settings) pairs, so the results requantized from a
result (same source, same settings) reuse it. Quantizing it and the QuantizationDebugger run
in a worker process too.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
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


class CalibratedModels:
    """The last ``size`` calibrated models, by the identity of the source and settings they came from.

    Identity, not equality: a ModelSource leaves its model object out of equality and the
    settings their representative dataset, so equal keys may calibrate differently. The key
    objects are held weakly (a result keeps them alive), and an entry whose objects are gone
    never matches, so a reused ``id`` cannot hit it.
    """

    def __init__(self, size: int = 4):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source, settings) -> Optional[bytes]:
        """The calibrated model of ``(source, settings)``, or None."""
        key = (id(source), id(settings))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0]() is not source or entry[1]() is not settings:
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, source, settings, model: bytes) -> None:
        """Remember ``model`` for ``(source, settings)``, forgetting the least recently used beyond ``size``."""
        key = (id(source), id(settings))
        with self._lock:
            self._entries[key] = (weakref.ref(source), weakref.ref(settings), model)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CALIBRATED = CalibratedModels()


def known_calibrated_model(result) -> Optional[bytes]:
    """The result's calibrated model if ``.layers`` or ``requantize`` computed it (and it is still cached), else None."""
    return _CALIBRATED.get(result.source, result.settings)


def calibrated_model(result, progress: Optional[bool] = None) -> bytes:
    """The result's model calibrated but not quantized (computed on first use, then cached).

    Results requantized from a result share its source and settings, so its calibrated model.

    Parameters
    ----------
    result : ConversionResult
    progress : bool, optional
        Show a bar over the calibration samples.

    Returns
    -------
    bytes
    """
    known = known_calibrated_model(result)
    if known is not None:
        return known
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
    _CALIBRATED.put(result.source, result.settings, output.tflite_model)
    return output.tflite_model


def quantize_calibrated_in_worker(
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
