"""``tj.sweep``: one model through every quantization mode, one row per mode.

A Keras model is exported to a SavedModel once and each mode converts that directory with
``tj.convert(dir, quantize=mode, ...)`` (``from_keras_model`` would export it again every
time); big models convert two modes at a time in child processes. The float reference runs
once; each converted model runs on the same samples as soon as it is ready, and is timed with
a few invokes once every conversion is done, so that no conversion runs alongside the timing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
import weakref
from typing import Any, Dict, Optional, Sequence

from ..capture import capture_output
from .lanes import LANES, ModeOutcome, convert_sequential, keep_warm, open_lanes, saved_model_bytes
from .sweep_table import sweep_table

MODES = ("float", "dynamic", "float16", "int8", "int8-full", "int16x8")
_PRESETS = {"float": None, "none": None, "float32": None, "dynamic": "dynamic", "float16": "float16",
            "int8": "int8", "int8-full": "int8-full", "int16x8": "int16x8"}
_CALIBRATED = ("int8", "int8-full", "int16x8")
_CALIBRATION_LIMIT = 1000
# Relative conversion cost: the longest jobs go first, so the two lanes finish together.
_COST = {"int16x8": 5, "int8-full": 4, "int8": 4, "dynamic": 2, "float16": 1, "float": 0}


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
    progress: Optional[bool] = None,
):
    """Convert ``source`` in each mode and measure size, CPU latency and error against the float model.

    Parameters
    ----------
    source : object or str
        Anything ``tj.convert`` takes.
    modes : sequence of str
        Any of ``float``, ``dynamic``, ``float16``, ``int8``, ``int8-full``, ``int16x8``.
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
        Convert two modes at a time in two child processes, which then stay ready for the
        next sweep for two minutes. Default: for models of about 4 MB and more, on a machine
        with 2+ cores.
    signature_keys, tags : sequence of str, optional
        For SavedModel directories.
    progress : bool, optional
        Show a progress bar (default: once the sweep has run for a moment).

    Returns
    -------
    SweepTable
        A DataFrame, one row per mode: ``size_bytes``, ``size``, ``size_vs_float``,
        ``latency_ms (median of k, batch 1, t threads)``, the error metrics (worst over the
        outputs), ``ops``, ``float_ops``, ``flex_ops``, ``convert_s`` and ``error``. Displays
        with a size-vs-error plot beside it; ``.figure`` is that plot, ``.results`` the
        ConversionResults by mode, ``.notes`` what to know. Interrupting returns the rows
        finished so far.
    """
    from ..sources import resolve_source
    from .progress import progress_bar

    wanted = _check_modes(modes)
    model_source = resolve_source(source, signature_keys=signature_keys, tags=tags)
    notes: list = []
    state = _State()
    export = _ExportDir()
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress_bar(len(wanted) + 2, "sweep", progress, unit="step"))
        # Started before the export, so that the children import TensorFlow meanwhile.
        lanes = stack.enter_context(open_lanes()) if _want_parallel(parallel, model_source, wanted) else None
        try:
            target, path = _conversion_target(model_source, export.path, notes)
            data = _Data(model_source, samples, representative_dataset, n, notes)
            jobs = {mode: _job(mode, data, signature_keys, tags, by_name=path is not None) for mode in wanted}
            if lanes is not None:
                lanes.submit(path, dict(sorted(jobs.items(), key=lambda job: -_COST[job[0]])))
                notes.append(f"converted {LANES} modes at a time in child processes")
            reference = data.reference()  # with lanes, while they convert
            bar.update(1)
            finished = lanes.outcomes(_rebuilder(path, signature_keys, tags)) if lanes is not None else convert_sequential(target, jobs)
            for outcome in finished:
                state.outcomes[outcome.mode] = outcome
                _measure_error(state, outcome, data, reference)
                bar.set_postfix_str(f"{outcome.mode} done")
                bar.update(1)
            if lanes is not None:
                keep_warm(lanes)  # idle now, so nothing runs alongside the timing
            for mode in wanted:
                _measure_latency(state, mode, data, latency_runs)
            bar.update(1)
        except KeyboardInterrupt:
            missing = [m for m in wanted if m not in state.rows]
            notes.append(f"interrupted: {', '.join(missing)} not finished")
            warnings.warn(f"tj.sweep interrupted; returning the {len(state.rows)} finished row(s)", stacklevel=2)
    results = {m: o.result for m, o in state.outcomes.items() if o.result is not None}
    for result in results.values():
        weakref.finalize(result, _keep, export)  # the export lives as long as a result using it
    return sweep_table(wanted, state.rows, notes, results)


class _ExportDir:
    """A temporary folder for the SavedModel export, deleted when the last result made from it is."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="tfl_jupyter_sweep_")

    def __del__(self):
        shutil.rmtree(self.path, ignore_errors=True)


def _keep(*_) -> None:
    """A finalizer that does nothing but hold its arguments until its object is collected."""


def _want_parallel(parallel: Optional[bool], model_source, modes: list) -> bool:
    """Two lanes pay for their start-up (importing TensorFlow twice) on models of a few MB and up."""
    if model_source.kind == "concrete_functions" or len(modes) < 2:
        return False
    if parallel is not None:
        return parallel
    if len(modes) < 3 or (os.cpu_count() or 1) < 2:
        return False
    if model_source.kind == "keras":
        return model_source.obj.count_params() >= 1_000_000
    return saved_model_bytes(model_source.path) >= 4 * 1024 * 1024


class _State:
    def __init__(self):
        self.outcomes: Dict[str, ModeOutcome] = {}
        self.rows: Dict[str, dict] = {}
        self.runners: Dict[str, tuple] = {}  # mode -> (result, signature, inputs), to time at the end


class _Data:
    """The samples to measure on, the calibration data, and the reference outputs."""

    def __init__(self, model_source, samples, representative_dataset, n, notes):
        from .samples import resolve_samples

        self.source = model_source
        specs = model_source.input_specs()
        if not specs:
            raise ValueError("tj.sweep needs a source whose inputs are known (a Keras model, one SavedModel signature or one function)")
        ordered = getattr(model_source, "specs_ordered", model_source.kind != "saved_model")
        self.samples = resolve_samples(specs, samples=samples, representative_dataset=representative_dataset, n=n, ordered=ordered)
        notes.append(f"error measured on {self.samples.origin}")
        if representative_dataset is not None:
            calibration = resolve_samples(specs, samples=representative_dataset, n=_CALIBRATION_LIMIT, ordered=ordered)
            self.calibration = calibration.arrays
            overlap = " (the error is measured on calibration samples: pass samples=... held-out data for an unbiased number)"
            notes.append(f"calibrated on the representative dataset ({calibration.n} samples)" + (overlap if samples is None else ""))
        else:
            self.calibration = self.samples.arrays
            notes.append("calibrated on the same samples the error is measured on (pass representative_dataset=... to separate them)")
        self._reference = None

    def reference(self) -> dict:
        """The reference outputs by name (run once)."""
        from .reference import Reference

        if self._reference is None:
            self._reference = Reference(self.source).run(self.samples, progress=False)
        return self._reference


def _check_modes(modes: Sequence[str]) -> list:
    if isinstance(modes, str):
        modes = [m.strip() for m in modes.split(",") if m.strip()]
    wanted = []
    for mode in modes:
        key = str(mode).strip().lower().replace("_", "-")
        if key not in _PRESETS:
            raise ValueError(f"unknown mode {mode!r}: choose from {', '.join(MODES)}")
        key = "float" if _PRESETS[key] is None else key
        if key not in wanted:
            wanted.append(key)
    if not wanted:
        raise ValueError(f"no modes to sweep: choose from {', '.join(MODES)}")
    return wanted


def _conversion_target(model_source, folder: str, notes: list):
    """(what tj.convert gets, the SavedModel path or None): a Keras model is exported once, into ``folder``."""
    from .run import user_source

    if model_source.kind == "keras":
        path = os.path.join(folder, "saved_model")
        with capture_output():
            model_source.obj.export(path, verbose=False)
        notes.append("the Keras model was exported to a SavedModel once, and every mode converted from it")
        return path, path
    if model_source.kind == "saved_model":
        return model_source.path, model_source.path
    return user_source(model_source), None


def _job(mode: str, data: _Data, signature_keys, tags, by_name: bool) -> dict:
    options = {"quantize": _PRESETS[mode]}
    if mode in _CALIBRATED:
        arrays = data.calibration
        # A SavedModel signature takes its inputs by name; functions take them by position.
        options["representative_dataset"] = arrays if by_name else [
            [a[i : i + 1] for a in arrays.values()] for i in range(len(next(iter(arrays.values()))))
        ]
    if signature_keys:
        options["signature_keys"] = list(signature_keys)
    if tags:
        options["tags"] = list(tags)
    return options


def _rebuilder(path: str, signature_keys, tags):
    """Turn a child's payload into a ConversionResult of this process (settings and source resolved here)."""
    from ..result import ConversionResult
    from ..settings import resolve_settings
    from ..sources import resolve_source

    source = resolve_source(path, signature_keys=signature_keys, tags=tags)

    def rebuild(mode: str, options: dict, payload: tuple):
        _, model, (entry_point, log, notes, calibration_samples), seconds = payload
        settings = resolve_settings(options.get("quantize"), representative_dataset=options.get("representative_dataset"),
                                    signature_keys=signature_keys, tags=tags)
        return ConversionResult(tflite_model=model, settings=settings, source=source, entry_point=entry_point,
                                duration_s=seconds, log=log, notes=tuple(notes), calibration_samples=calibration_samples)

    return rebuild


def _measure_error(state: _State, outcome: ModeOutcome, data: _Data, reference: dict) -> None:
    """Size, op counts and error metrics of one converted mode (a row of the table)."""
    from ..result import format_size
    from .binding import bind_inputs, bind_outputs, choose_signature
    from .runner import TFLiteRunner
    from .tables import op_counts, summary_frame, worst

    row: Dict[str, Any] = {"mode": outcome.mode, "convert_s": outcome.seconds}
    state.rows[outcome.mode] = row
    if outcome.result is None:
        row["error"] = outcome.error or "not converted"
        return
    result = outcome.result
    row.update(size_bytes=result.size_bytes, size=format_size(result.size_bytes), **op_counts(result))
    try:
        signature = choose_signature(result.model)
        inputs = bind_inputs(result.model, signature, data.samples.names)
        outputs = bind_outputs(result.model, signature, list(reference))
        # One thread: other conversions may be running; latency is timed later, with all threads.
        runner = TFLiteRunner(result.tflite_model, result.model, signature, num_threads=1)
        row.update(worst(summary_frame(reference, runner.run(data.samples, inputs, outputs, progress=False))))
        state.runners[outcome.mode] = (result, signature, inputs)
    except (RuntimeError, ValueError) as exc:
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:400]


def _measure_latency(state: _State, mode: str, data: _Data, runs: int) -> None:
    from .runner import TFLiteRunner

    if mode not in state.runners:
        return
    result, signature, inputs = state.runners.pop(mode)
    runner = TFLiteRunner(result.tflite_model, result.model, signature)
    state.rows[mode][_latency_column(runs, runner.num_threads)] = runner.latency_ms(data.samples, inputs, runs)


def _latency_column(runs: int, threads: int) -> str:
    return f"latency_ms (median of {runs}, batch 1, {threads} thread{'s' if threads != 1 else ''})"
