"""``convert_in_worker``: the worker-process path of ``tj.convert``, with its caches."""

from __future__ import annotations

import atexit
import time
from dataclasses import replace
from typing import Callable, Optional

from ..datasets import SampleStream, is_tf_dataset
from ..engine import ConverterOutput
from ..errors import ConversionError, with_source_lines
from ..settings import ConversionSettings
from ..sources import ModelSource
from .cache import ResultCache
from .client import WORKER
from .fingerprints import dataset_fingerprint, text_fingerprint
from .portable import EXPORTS, make_portable
from .protocol import ConversionJob

RESULTS = ResultCache()


def _shut_down() -> None:
    """At exit: delete the exports first, then kill the worker (it would exit with its pipe
    anyway). A kernel has a few seconds between a shutdown request and SIGTERM."""
    EXPORTS.clear()
    WORKER.stop(force=True)


atexit.register(_shut_down)
_ENTRY_POINTS = {"keras": "from_keras_model", "concrete_functions": "from_concrete_functions", "saved_model": "from_saved_model"}


def convert_in_worker(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    timeout: Optional[float] = None,
    on_sample: Optional[Callable[[int], None]] = None,
) -> Optional[ConverterOutput]:
    """Convert in the warm worker; None where the source can only be converted in-process.

    The same model (same weights) with the same settings and an in-memory dataset with the
    same values is served from a cache; another setting reuses the model's SavedModel export.
    """
    started = time.perf_counter()
    WORKER.start()  # the worker imports TensorFlow while this process exports the model
    log_parts: list = []
    portable = make_portable(source, log_parts)
    if portable is None:
        return None
    dataset = settings.representative_dataset if settings.uses_representative_dataset else None
    key = _cache_key(portable.fingerprint, settings, dataset)
    cached = RESULTS.get(key)
    if cached is not None:
        return replace(
            cached,
            duration_s=time.perf_counter() - started,
            notes=cached.notes + ("served from the cache: converted before with the same model, weights and settings",),
        )
    job = ConversionJob(
        portable=portable,
        description=source.description,
        settings=replace(settings, representative_dataset=None),
        has_samples=dataset is not None,
        samples_from_tf_data=is_tf_dataset(dataset),
        fault=_take_fault(),
    )
    samples = None
    if dataset is not None:
        specs = source.input_specs() if source.kind != "saved_model" else None  # no TensorFlow import for a path
        samples = SampleStream.of(dataset, specs).make_iterator
    try:
        output = WORKER.run(job, samples, timeout=timeout, on_sample=on_sample)
    except ConversionError as error:
        raise with_source_lines(error) from None
    output = replace(
        output,
        entry_point=_ENTRY_POINTS[source.kind],
        log="".join(log_parts) + output.log,
        duration_s=time.perf_counter() - started,
    )
    RESULTS.put(key, output)
    return output


def _cache_key(model_fingerprint: str, settings: ConversionSettings, dataset) -> Optional[str]:
    data = dataset_fingerprint(dataset)
    if data is None:
        return None
    return text_fingerprint(model_fingerprint, settings.as_dict(), data)


def _take_fault() -> Optional[str]:
    from . import client

    fault, client.FAULT_INJECTION = client.FAULT_INJECTION, None
    return fault
