"""Conversions through the worker pool: export once, serve repeats from the cache, run the job."""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import replace
from typing import Callable, Optional

from ..datasets import SampleStream, is_tf_dataset
from ..engine import ENTRY_POINTS, ConverterOutput
from ..errors import ConversionError, with_source_lines
from ..settings import ConversionSettings
from ..sources import ModelSource
from .cache import ResultCache
from .fingerprints import dataset_fingerprint, text_fingerprint
from .pool import POOL
from .portable import EXPORTS, PortableSource, make_portable
from .process import NO_DEADLINE, Deadline
from .protocol import ConversionJob

RESULTS = ResultCache()


def convert_in_worker(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    calibrate_only: bool = False,
    deadline: Deadline = NO_DEADLINE,
    on_sample: Optional[Callable[[int], None]] = None,
    cancel: Optional[threading.Event] = None,
    portable: Optional[PortableSource] = None,
) -> ConverterOutput:
    """Convert in a worker process (not a source that :func:`~tfl_jupyter.core.prepare.needs_live_model`).

    The same model (same graph, weights and captured values) with the same settings and an
    in-memory dataset with the same values is served from the cache; another setting reuses
    the model's prepared folder. ``deadline`` covers the whole call, the export included.
    ``portable``, from :func:`make_portable` on this source and shapes, skips fingerprinting
    the model again (the sweep's modes: one unchanged model, many settings).
    """
    started = time.perf_counter()
    POOL.warm_up()  # the worker imports TensorFlow while this process exports the model
    log_parts: list = []
    if portable is None or not os.path.isdir(portable.directory):  # evicted meanwhile: export again
        portable = make_portable(source, settings, log_parts, deadline)
    dataset = settings.representative_dataset if settings.uses_representative_dataset else None
    key = _cache_key(portable.fingerprint, settings, dataset, calibrate_only)
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
        calibrate_only=calibrate_only,
    )
    samples = SampleStream.of(dataset, source.inputs).make_iterator if dataset is not None else None
    try:
        # The kernel's deferred garbage collection (see EXPORTS) runs while the worker converts.
        output = POOL.run(("convert", job), samples, deadline=deadline, on_sample=on_sample, cancel=cancel,
                          while_waiting=EXPORTS.collect_garbage)
    except ConversionError as error:
        raise with_source_lines(error) from None
    output = replace(
        output,
        entry_point=ENTRY_POINTS[source.kind],
        log="".join(log_parts) + output.log,
        duration_s=time.perf_counter() - started,
    )
    RESULTS.put(key, output)
    return output


def _cache_key(model_fingerprint: Optional[str], settings: ConversionSettings, dataset, calibrate_only: bool) -> Optional[str]:
    data = dataset_fingerprint(dataset)
    if data is None or model_fingerprint is None:
        return None
    return text_fingerprint(model_fingerprint, settings.as_dict(), data, "calibrate-only" if calibrate_only else "")


def _delete_files() -> None:
    """At exit: the exports and the cached models are temporary files of this session."""
    EXPORTS.clear()
    RESULTS.clear()


atexit.register(_delete_files)
