"""``tj.sweep``: one model through every quantization mode, one row per mode.

The source is resolved once and, for a Keras model or a function, exported to a SavedModel
once (the worker pool's export cache); each mode is then a job of the worker pool, several
at a time on big models. The float reference runs once, in this process, while the pool
converts; each converted model runs on the same samples as soon as it is ready, and is timed
with a few invokes once every conversion is done, so that no conversion runs alongside the
timing.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Dict, NamedTuple, Optional, Sequence

from .compare.progress import progress_bar
from .convert import convert_resolved
from .settings import PRESETS, QUANTIZERS, find_preset, resolve_settings
from .shapes import resolve_shapes
from .sources import resolve_source
from .sweep_table import sweep_table
from .text import error_text, format_size
from .worker.pool import POOL
from .prepare import NeedsLiveModel, feeds_by_name, needs_live_model
from .worker.portable import make_portable

MODES = tuple(preset.label for preset in PRESETS.values())
_CALIBRATION_LIMIT = 1000


class _Mode(NamedTuple):
    """One row of the sweep: a preset through a quantizer, or a LiteRT Quantizer recipe by name."""

    label: str
    preset: str
    quantizer: str = "converter"
    recipe: Optional[str] = None

    @property
    def calibrates(self) -> bool:
        # a recipe gets the calibration data; the quantizer uses it only if the recipe calibrates
        return PRESETS[self.preset].calibrates or self.recipe is not None


def sweep(
    source: Any,
    modes: Sequence[str] = MODES,
    *,
    representative_dataset: Any = None,
    samples: Any = None,
    n: int = 32,
    latency_runs: int = 5,
    parallel: Optional[bool] = None,
    signature_keys: Optional[Sequence[str]] = None,
    tags: Optional[Sequence[str]] = None,
    input_shapes: Any = None,
    batch_size: Optional[int] = None,
    progress: Optional[bool] = None,
    labels: Any = None,
    metric: Any = None,
    quantizers: Sequence[str] = ("converter",),
    recipes: Sequence[str] = (),
):
    """Convert ``source`` in each mode and measure size, CPU latency and error against the float model.

    Parameters
    ----------
    source : object or str
        Anything ``tj.convert`` takes.
    modes : sequence of str
        Quantization presets (``tj.convert``'s ``quantize`` names or aliases); ``float``
        is ``none``.
    representative_dataset : optional
        Calibration data for the integer modes (any form ``tj.convert`` takes); default: the
        comparison samples.
    samples : optional
        Inputs to measure the error on; default: the representative dataset, else inputs
        generated from the signature.
    n : int
        At most this many samples for the error metrics.
    latency_runs : int
        Timed invokes per model (batch 1, after one warm-up); the median is reported.
    parallel : bool, optional
        Convert several modes at a time, one per worker process of the pool (each started
        process stays ready for two minutes). Default: for models of about 4 MB and more,
        on a machine with 2+ cores.
    signature_keys, tags : sequence of str, optional
        For SavedModel directories.
    input_shapes, batch_size : optional
        Fixed input shapes, as for ``tj.convert``: every mode converts the model traced at them.
    progress : bool, optional
        Show a progress bar (default: once the sweep has run for a moment).
    labels, metric : optional
        As for ``result.compare``: one label per sample of ``samples`` (or a
        ``tf.data.Dataset`` of ``(x, y)`` pairs), and user metrics; each mode gets task
        columns (``accuracy``, ``top5_accuracy``, ``mae``, ``rmse``, the metrics by name).
    quantizers : sequence of {"converter", "litert"}
        Who quantizes each mode: ``("converter", "litert")`` puts both paths in one table,
        the LiteRT Quantizer's rows labelled ``"int8 (litert)"`` and so on; modes without a
        recipe (``float16``) are left out of its rows, with a note. Its float conversion is
        the float row's, reused from the cache.
    recipes : sequence of str
        LiteRT Quantizer recipes by name (``"dynamic_wi4_afp32"``, ``"weight_only_wi4_afp32"``,
        ...), one row each, labelled by name (static recipes calibrate on the representative dataset).

    Returns
    -------
    SweepTable
        A DataFrame, one row per mode: ``size_bytes``, ``size``, ``size_vs_float``,
        ``latency_ms (median of k, batch 1, t threads)``, the task metrics (with labels),
        the error metrics (worst over the outputs), ``ops``, ``float_ops``, ``flex_ops``,
        ``convert_s`` and ``error``. Displays with a size-vs-error plot beside it (size vs
        accuracy with labels); ``.figure`` is that plot, ``.results`` the ConversionResults
        by mode, ``.notes`` what to know. Interrupting returns the rows finished so far.
    """
    wanted = _check_modes(modes, quantizers, recipes)
    model_source = resolve_source(source, signature_keys=signature_keys, tags=tags)
    options = dict(signature_keys=signature_keys, tags=tags, input_shapes=input_shapes, batch_size=batch_size)
    shaped = resolve_settings(**options)
    if shaped.fixes_shapes:
        resolve_shapes(model_source, shaped)  # a shape that does not fit fails now, in one line
    notes: list = []
    state = _State()
    workers = min(POOL.size, len(wanted)) if _want_parallel(parallel, model_source, wanted) else 1
    if any(mode.quantizer == "litert" for mode in wanted):
        skipped = [m for m in _check_modes(modes) if m.preset != "none" and not PRESETS[m.preset].recipe]
        if "litert" in quantizers and skipped:
            notes.append(f"no LiteRT Quantizer recipe for {', '.join(m.label for m in skipped)}: converter rows only")
    cancel = threading.Event()
    with progress_bar(len(wanted) + 2, "sweep", progress, unit="step") as bar, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tfl_jupyter-sweep") as executor:
        try:
            POOL.warm_up(workers)  # the processes import TensorFlow while this one exports the model
            data = _Data(model_source, shaped, samples, representative_dataset, n, notes, labels, metric)
            portable = None if needs_live_model(model_source, shaped) else _portable(model_source, shaped)
            if portable is not None and model_source.kind != "saved_model":
                notes.append("the model was prepared for the converter once (as TensorFlow's converter prepares it), "
                             "and every mode converted from it")
            if workers > 1:
                notes.append(f"converted {workers} modes at a time in worker processes")
            order = wanted
            if workers > 1:  # the longest conversions first, so that the processes finish together
                order = sorted(wanted, key=lambda mode: (mode.quantizer == "litert", not mode.calibrates,
                                                          not PRESETS[mode.preset].optimizations))
            futures = _submit(executor, order, model_source, data, options, cancel, portable)
            reference = data.reference()  # while the pool converts
            data.task_notes(notes)
            bar.update(1)
            for future in as_completed(futures):
                mode = futures[future]
                _measure_error(state, mode.label, future.result(), data, reference)
                bar.set_postfix_str(f"{mode.label} done")
                bar.update(1)
            for mode in wanted:
                _measure_latency(state, mode.label, data, latency_runs)
            bar.update(1)
        except KeyboardInterrupt:
            cancel.set()
            executor.shutdown(wait=False, cancel_futures=True)
            missing = [m.label for m in wanted if m.label not in state.rows]
            notes.append(f"interrupted: {', '.join(missing)} not finished")
            warnings.warn(f"tj.sweep interrupted; returning the {len(state.rows)} finished row(s)", stacklevel=2)
    return sweep_table([mode.label for mode in wanted], state.rows, notes, state.results)


def _convert_mode(model_source, mode: _Mode, data: "_Data", options: dict, cancel: threading.Event,
                  portable=None) -> tuple:
    """(ConversionResult or None, error text, seconds) of one mode, converted in the pool from the
    source's one export (``portable``)."""
    started = time.perf_counter()
    try:
        litert = dict(quantizer=mode.quantizer, recipe=mode.recipe) if mode.quantizer == "litert" else {}
        settings = resolve_settings(mode.preset, representative_dataset=data.calibration if mode.calibrates else None,
                                    **options, **litert)
        return convert_resolved(model_source, settings, cancel=cancel, portable=portable), None, time.perf_counter() - started
    except (ValueError, TypeError, RuntimeError, ImportError) as exc:  # ConversionError is a RuntimeError
        return None, error_text(exc), time.perf_counter() - started


def _submit(executor, order: list, model_source, data: "_Data", options: dict, cancel: threading.Event,
            portable=None) -> dict:
    """Submit every mode. The LiteRT Quantizer's rows run one after another once the float conversion they
    all start from is done (the float row's, else one of their own): no two processes convert to float at
    once, and a static recipe reuses the calibration of the one before it."""
    futures = {}
    float_mode = next((mode for mode in order if mode.preset == "none" and mode.quantizer == "converter"), None)
    previous = None  # the last LiteRT Quantizer row's future (first: the float conversion's)
    if any(mode.quantizer == "litert" for mode in order):
        previous = executor.submit(_convert_mode, model_source, float_mode or _Mode("float", "none"), data, options,
                                   cancel, portable)
        if float_mode is not None:
            futures[previous] = float_mode
    for mode in order:
        if previous is not None and mode == float_mode:
            continue
        if mode.quantizer == "litert":
            previous = executor.submit(_after, previous, _convert_mode, model_source, mode, data, options, cancel, portable)
            futures[previous] = mode
        else:
            futures[executor.submit(_convert_mode, model_source, mode, data, options, cancel, portable)] = mode
    return futures


def _after(first, function, *args):
    first.exception()  # wait; a failed float conversion fails each row on its own
    return function(*args)


def _want_parallel(parallel: Optional[bool], model_source, modes: list) -> bool:
    """Extra worker processes pay for their start-up (importing TensorFlow) on models of a few MB and up."""
    if len(modes) < 2 or POOL.size < 2:
        return False
    if parallel is not None:
        return parallel
    if len(modes) < 3:
        return False
    if model_source.kind == "keras":
        return model_source.obj.count_params() >= 1_000_000
    if model_source.kind == "saved_model":
        return _folder_bytes(model_source.path) >= 4 * 1024 * 1024
    return False


def _folder_bytes(path: str) -> int:
    """Bytes of a SavedModel directory (its variables dominate): a proxy for conversion time."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                pass
    return total


class _State:
    def __init__(self):
        self.rows: Dict[str, dict] = {}  # mode label -> row
        self.results: Dict[str, Any] = {}  # mode label -> ConversionResult
        self.runners: Dict[str, tuple] = {}  # mode label -> (result, signature, inputs), to time at the end


def _portable(model_source, settings):
    """The source prepared once for every mode; None where each mode converts the live model."""
    try:
        return make_portable(model_source, settings, [])
    except NeedsLiveModel:
        return None


class _Data:
    """The samples to measure on, the calibration data, and the reference outputs."""

    def __init__(self, model_source, settings, samples, representative_dataset, n, notes, labels=None, metric=None):
        from .compare.measure import resolve_labelled
        from .compare.samples import resolve_samples

        self.source = model_source
        specs = model_source.input_specs()
        if not specs:
            raise ValueError("tj.sweep needs a source whose inputs are known (a Keras model, one SavedModel signature or one function)")
        ordered = model_source.specs_ordered
        self.samples, self._labels, self._metrics = resolve_labelled(
            specs, samples, labels, metric, n, ordered=ordered, representative_dataset=representative_dataset)
        self.task = None
        notes.append(f"error measured on {self.samples.origin}")
        if representative_dataset is not None:
            calibration = resolve_samples(specs, samples=representative_dataset, n=_CALIBRATION_LIMIT, ordered=ordered)
            arrays = calibration.arrays
            overlap = " (the error is measured on calibration samples: pass samples=... held-out data for an unbiased number)"
            notes.append(f"calibrated on the representative dataset ({calibration.n} samples)" + (overlap if samples is None else ""))
        else:
            arrays = self.samples.arrays
            notes.append("calibrated on the same samples the error is measured on (pass representative_dataset=... to separate them)")
        # A dict by input name where the source takes names; one list per sample in input order otherwise.
        self.calibration = arrays if feeds_by_name(model_source, settings) else [
            [a[i : i + 1] for a in arrays.values()] for i in range(len(next(iter(arrays.values()))))
        ]
        self._reference = None

    def reference(self) -> dict:
        """The reference outputs by name (run once)."""
        from .compare.reference import Reference

        if self._reference is None:
            from .compare.tasks import task_spec

            self._reference = Reference(self.source).run(self.samples, progress=False)
            self.task = task_spec(self._labels, self._metrics, self._reference)
        return self._reference

    def task_notes(self, notes: list) -> None:
        """Say what the TensorFlow model itself scores, the row every mode is measured against."""
        from .compare.tasks import task_row

        if self.task:
            scores = task_row(self.task, self._reference, "reference")
            notes.append("TensorFlow reference: " + ", ".join(
                f"{k} {v:.2%}" if k.endswith("accuracy") else f"{k} {v:.4g}" for k, v in scores.items()))


def _check_modes(modes: Sequence[str], quantizers: Sequence[str] = ("converter",), recipes: Sequence[str] = ()) -> list:
    """The rows asked for, in order, each once: every mode through each quantizer, then the recipes."""
    if isinstance(quantizers, str):
        quantizers = [quantizers]
    unknown = [q for q in quantizers if q not in QUANTIZERS]
    if unknown or not quantizers:
        raise ValueError(f"unknown quantizer {unknown[0] if unknown else None!r}: quantizers takes {', '.join(QUANTIZERS)}")
    if isinstance(recipes, str):
        recipes = [recipes]
    if isinstance(modes, str):
        modes = [m.strip() for m in modes.split(",") if m.strip()]
    wanted = []
    for mode in modes:
        try:
            name = find_preset(str(mode)).name
        except ValueError:
            raise ValueError(f"unknown mode {mode!r}: choose from {', '.join(MODES)}") from None
        if name not in wanted:
            wanted.append(name)
    if not wanted and not recipes:
        raise ValueError(f"no modes to sweep: choose from {', '.join(MODES)}")
    rows = []
    for quantizer in quantizers:
        for name in wanted:
            preset = PRESETS[name]
            if quantizer == "converter" or name == "none":
                rows.append(_Mode(preset.label, name))
            elif preset.recipe:
                rows.append(_Mode(f"{preset.label} (litert)", name, "litert"))
    rows += [_Mode(str(recipe), "none", "litert", str(recipe)) for recipe in recipes]
    return list({row.label: row for row in rows}.values())


def _measure_error(state: _State, name: str, outcome: tuple, data: _Data, reference: dict) -> None:
    """Size, op counts and error metrics of one converted mode (a row of the table)."""
    from .compare.binding import bind_inputs, bind_outputs, choose_signature
    from .compare.tflite_runner import TFLiteRunner
    from .compare.tables import op_counts, summary_frame, worst
    from .compare.tasks import task_row

    result, error, seconds = outcome
    row: Dict[str, Any] = {"mode": name, "convert_s": seconds}
    state.rows[name] = row
    if result is None:
        row["error"] = error or "not converted"
        return
    state.results[name] = result
    row.update(size_bytes=result.size_bytes, size=format_size(result.size_bytes), **op_counts(result))
    try:
        signature = choose_signature(result.model)
        inputs = bind_inputs(result.model, signature, data.samples.names)
        outputs = bind_outputs(result.model, signature, list(reference))
        # One thread: other conversions may be running; latency is timed later, with all threads.
        runner = TFLiteRunner(result.tflite_model, result.model, signature, num_threads=1)
        converted = runner.run(data.samples, inputs, outputs, progress=False)
        if data.task:
            row.update(task_row(data.task, converted, name))
        row.update(worst(summary_frame(reference, converted)))
        state.runners[name] = (result, signature, inputs)
    except (RuntimeError, ValueError) as exc:
        row["error"] = error_text(exc)


def _measure_latency(state: _State, name: str, data: _Data, runs: int) -> None:
    from .compare.tflite_runner import TFLiteRunner

    if name not in state.runners:
        return
    result, signature, inputs = state.runners.pop(name)
    runner = TFLiteRunner(result.tflite_model, result.model, signature)
    state.rows[name][_latency_column(runs, runner.num_threads)] = runner.latency_ms(data.samples, inputs, runs)


def _latency_column(runs: int, threads: int) -> str:
    return f"latency_ms (median of {runs}, batch 1, {threads} thread{'s' if threads != 1 else ''})"
