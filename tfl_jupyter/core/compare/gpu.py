"""``gpu_check()``: run a ``.tflite`` on LiteRT's GPU accelerator and on the CPU, and compare.

The accelerator (ML Drift over WebGPU, in ``ai-edge-litert``) computes in fp16. This check
says which GPU ran it (and whether it is a software one: lavapipe, SwiftShader), how many
operators it took and which it refused (its own reasons), and, per output, how far the GPU
run is from a CPU run of the same file on the same samples. An output that a float->int
cast, a rounding or a comparison produces from GPU values can jump a whole step where
fp16 moves a value across it: such outputs are flagged, naming the op. Latency per invoke
is given for both, and labelled meaningless on a software adapter.

The runs happen in the pool's "litert" workers (no TensorFlow there: the accelerator
crashes where it is loaded); this module prepares the samples and reads the model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import List, Optional, Tuple

import numpy as np

from ..tflite_reader import read_model
from ..worker.litert_gpu import GpuAdapter, LiteRtGpuCompile, Refusal, run_litert_gpu
from .binding import bind_inputs, calibrated_ranges, choose_signature, specs_from_tflite, subgraph_of
from .quantization import quantize
from .samples import resolve_samples

# Ops whose output moves by a whole step when their input crosses a threshold.
STEP_OPS = frozenset({
    "ROUND", "FLOOR", "CEIL", "FLOOR_DIV", "FLOOR_MOD", "SIGN", "ARG_MAX", "ARG_MIN", "TOPK_V2",
    "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "EQUAL", "NOT_EQUAL", "CAST", "QUANTIZE",
})
_FLOAT = ("float32", "float16", "float64", "bfloat16")
_SOFTWARE_LATENCY = ("meaningless: a software adapter runs the GPU's shaders on this CPU; "
                     "measure on the device")
_HARDWARE_LATENCY = "this machine's GPU, not your device's"
OUTPUT_COLUMNS = ["output", "dtype", "shape", "max_abs_diff", "mean_abs_diff", "median_abs_diff", "range",
                  "median_of_range", "mismatched", "after_step", "note"]


@dataclass(frozen=True)
class GpuOutput:
    """One output: the GPU run against the CPU run.

    Attributes
    ----------
    name : str
    dtype : str
    shape : tuple of int
    max_abs_diff, mean_abs_diff, median_abs_diff : float
        Of ``|gpu - cpu|`` over every element of every sample (dequantized for quantized outputs).
    value_range : float
        ``max - min`` of the CPU's values.
    mismatched : float
        Share of elements where the two differ at all.
    after_step : tuple of str
        The float->int casts, roundings and comparisons the output follows, fed by GPU
        values (``"CAST (op 4)"``): fp16 can move a value across their step.
    note : str
    """

    name: str
    dtype: str
    shape: Tuple[int, ...]
    max_abs_diff: float
    mean_abs_diff: float
    median_abs_diff: float
    value_range: float
    mismatched: float
    after_step: Tuple[str, ...] = ()
    note: str = ""

    @property
    def median_of_range(self) -> float:
        """The median difference as a share of the output's range (NaN for a constant output)."""
        return self.median_abs_diff / self.value_range if self.value_range > 0 else float("nan")

    @property
    def flagged(self) -> bool:
        """A step op follows GPU values on the way to this output."""
        return bool(self.after_step)


@dataclass(frozen=True)
class GpuCheck:
    """What LiteRT's GPU accelerator did with a model (see :func:`gpu_check`).

    Attributes
    ----------
    available : bool
        A GPU adapter exists (a software one counts); without one the rest is empty and
        ``unavailable`` says what to install.
    adapter : GpuAdapter or None
        ``name``, ``software`` (lavapipe/llvmpipe, SwiftShader: on this CPU), ``backend``.
    unavailable : str
        One line where no adapter exists.
    error : str
        Why the model could not be compiled or run ('' when it was).
    gpu_ops, cpu_ops : int or None
        Operators of the main subgraph on the GPU and on the CPU.
    gpu_indices : tuple of int or None
        Which ones ran on the GPU (its largest partition), where derivable.
    refusals : tuple of Refusal
        Each op type it refused, with its reason as it printed it and the operators it applies to.
    outputs : tuple of GpuOutput
        Per output, the GPU run against the CPU run.
    samples : int
        Samples run.
    samples_origin : str
        Where they came from.
    gpu_ms, cpu_ms : float or None
        Median wall time per invoke (inputs written and outputs read included).
    latency_note : str
        What the latency means here (nothing on a software adapter).
    notes : tuple of str
    compile : LiteRtGpuCompile
        The accelerator's compile report, its log included.
    """

    available: bool
    adapter: Optional[GpuAdapter] = None
    unavailable: str = ""
    error: str = ""
    gpu_ops: Optional[int] = None
    cpu_ops: Optional[int] = None
    gpu_indices: Optional[Tuple[int, ...]] = None
    refusals: Tuple[Refusal, ...] = ()
    outputs: Tuple[GpuOutput, ...] = ()
    samples: int = 0
    samples_origin: str = ""
    gpu_ms: Optional[float] = None
    cpu_ms: Optional[float] = None
    latency_note: str = ""
    notes: Tuple[str, ...] = ()
    compile: Optional[LiteRtGpuCompile] = field(default=None, repr=False)

    @property
    def flagged(self) -> Tuple[str, ...]:
        """Names of the outputs that follow a step op fed by GPU values."""
        return tuple(o.name for o in self.outputs if o.flagged)

    @property
    def summary(self):
        """pandas.DataFrame: one row per output (columns ``OUTPUT_COLUMNS``)."""
        import pandas as pd

        rows = [(o.name, o.dtype, str(list(o.shape)), o.max_abs_diff, o.mean_abs_diff, o.median_abs_diff,
                 o.value_range, o.median_of_range, o.mismatched, ", ".join(o.after_step), o.note)
                for o in self.outputs]
        return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)

    @property
    def refused(self):
        """pandas.DataFrame: one row per refusal line: ``op``, ``reason``, ``indices``."""
        import pandas as pd

        return pd.DataFrame([(r.op, r.reason, r.indices) for r in self.refusals if r.subgraph == 0],
                            columns=["op", "reason", "indices"])

    def _lines(self) -> List[str]:
        if not self.available:
            return [f"GpuCheck: no GPU adapter: {self.unavailable}"]
        lines = [f"GpuCheck on {self.adapter.name}: "
                 f"{'software (on this CPU)' if self.adapter.software else 'hardware GPU'}, {self.adapter.backend}"]
        if self.gpu_ops is None:
            return lines + [f"  the model did not compile: {self.error}"]
        total = self.gpu_ops + self.cpu_ops
        placed = f"  ops: {self.gpu_ops} of {total} on the GPU, {self.cpu_ops} on the CPU"
        if self.gpu_indices:
            placed += f" (GPU: {_spans(self.gpu_indices)})"
        lines.append(placed)
        for refusal in sorted(self.refusals, key=lambda r: (r.indices or (1 << 30,), r.op)):
            if refusal.subgraph == 0:
                where = f" (op {_spans(refusal.indices)})" if refusal.indices else ""
                lines.append(f"  refused {refusal.op}{where}: {refusal.reason}")
        if self.error:
            return lines + [f"  not run: {self.error}"]
        lines.append(f"  outputs against a CPU run of the same file ({self.samples_origin}):")
        for o in self.outputs:
            if o.note and math.isnan(o.max_abs_diff):
                lines.append(f"    {o.name} {o.dtype}{list(o.shape)}: {o.note}")
                continue
            text = (f"    {o.name} {o.dtype}{list(o.shape)}: max |diff| {o.max_abs_diff:.3g}, "
                    f"median {o.median_abs_diff:.3g}")
            if not math.isnan(o.median_of_range):
                text += f" ({o.median_of_range:.2g} of its range)"
            if o.dtype not in _FLOAT or o.after_step:
                text += f", {o.mismatched:.1%} of values differ"
            if o.after_step:
                text += f"; after {', '.join(o.after_step)}: fp16 can move a value across its step"
            lines.append(text)
        if self.gpu_ms is not None:
            lines.append(f"  latency per invoke: GPU {self.gpu_ms:.3g} ms, CPU {self.cpu_ms:.3g} ms "
                         f"({self.latency_note})")
        lines += [f"  note: {n}" for n in self.notes]
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        lines = self._lines()
        parts = [f"<div class='tfl-jupyter-gpu-check'><b>{escape(lines[0])}</b><ul>"]
        parts += [f"<li>{escape(line.strip())}</li>" for line in lines[1:] if not line.startswith("    ")]
        parts.append("</ul>")
        if self.outputs:
            parts.append(_styled(self.summary).to_html())
        parts.append("</div>")
        return "".join(parts)


def _styled(frame):
    formats = {c: "{:.3g}" for c in ("max_abs_diff", "mean_abs_diff", "median_abs_diff", "range", "median_of_range")}
    formats["mismatched"] = "{:.1%}"
    styler = frame.style.format(formats, na_rep="-").hide(axis="index")
    flagged = frame["after_step"] != ""
    return styler.apply(lambda row: ["background-color: #fef0c7" if flagged[row.name] else "" for _ in row], axis=1)


def gpu_check(model_bytes: bytes, samples=None, n: int = 100, *, signature_key: Optional[str] = None,
              timeout: Optional[float] = 300) -> GpuCheck:
    """Run a model on LiteRT's GPU accelerator and on the CPU, in a worker without TensorFlow.

    Parameters
    ----------
    model_bytes : bytes
    samples : array, list, dict by input name, tf.data.Dataset or generator function, optional
        Default: inputs generated from the model's signature (in the calibrated range of a
        quantized input), seeded.
    n : int
        At most this many samples.
    signature_key : str, optional
        For models with several signatures.
    timeout : float, optional
        Seconds before the worker is stopped.

    Returns
    -------
    GpuCheck
        Where no GPU adapter exists, ``available`` is False and ``unavailable`` says what
        to install.
    """
    model = read_model(model_bytes)
    signature = choose_signature(model, signature_key)
    s = subgraph_of(signature)
    graph = model.subgraphs[s]
    specs = specs_from_tflite(model, signature)
    inputs = bind_inputs(model, signature, [spec.name for spec in specs])
    not_run, origin = "", ""
    try:
        sample_set = resolve_samples(specs, samples=samples, n=n, ranges=calibrated_ranges(model, inputs, s))
        feeds, notes = _feeds(graph, sample_set, inputs)
        origin = sample_set.origin
    except ValueError as exc:  # no samples can be generated (a string input): the compile still says something
        if samples is not None:
            raise
        feeds, notes, not_run = [], [], str(exc)
    dequantize = {t: (graph.tensors[t].scale[0], graph.tensors[t].zero_point[0] if graph.tensors[t].zero_point else 0)
                  for t in graph.outputs if t >= 0 and graph.tensors[t].dtype not in _FLOAT and graph.tensors[t].scale}
    run = run_litert_gpu(model_bytes, signature.key if signature is not None else None, feeds, dequantize,
                         timeout=timeout)
    report = run.compile
    if not report.available:
        return GpuCheck(False, unavailable=report.unavailable, compile=report)
    notes += list(report.notes)
    if report.fully_accelerated and report.cpu_ops:
        notes.append(f"the runtime's is_fully_accelerated() says True, yet {report.cpu_ops} of the ops ran on the "
                     "CPU (as the accelerator printed): it is not to be trusted alone")
    on_gpu = _gpu_ops(report, s, len(graph.operators))
    outputs = []
    for difference in run.outputs:
        steps = _steps_before(graph, difference.tensor, on_gpu) if difference.tensor in set(graph.outputs) else ()
        outputs.append(GpuOutput(difference.name, difference.dtype, difference.shape, difference.max_abs,
                                 difference.mean_abs, difference.median_abs, difference.value_range,
                                 difference.mismatched, steps, difference.note))
    software = report.adapter.software
    return GpuCheck(
        True, adapter=report.adapter, error=run.error or report.error or not_run, gpu_ops=report.gpu_ops,
        cpu_ops=report.cpu_ops, gpu_indices=report.gpu_indices, refusals=report.refusals, outputs=tuple(outputs),
        samples=len(feeds) * _batch(graph, inputs), samples_origin=origin, gpu_ms=run.gpu_ms,
        cpu_ms=run.cpu_ms, latency_note=_SOFTWARE_LATENCY if software else _HARDWARE_LATENCY, notes=tuple(notes),
        compile=report)


def _batch(graph, inputs: dict) -> int:
    """Samples per invoke: the inputs' fixed batch size (1 for a dynamic one)."""
    shapes = [graph.tensors[t].shape for t in inputs.values()]
    sizes = {int(shape[0]) for shape in shapes if len(shape)}
    return sizes.pop() if len(sizes) == 1 and min(sizes or {1}) > 0 else 1


def _feeds(graph, sample_set, inputs: dict) -> Tuple[list, List[str]]:
    """One ``{tensor index: array}`` per invoke, in the tensors' own dtype (quantized where they are)."""
    batch = _batch(graph, inputs)
    notes = []
    usable = sample_set.n - sample_set.n % batch
    if usable < sample_set.n:
        notes.append(f"the model runs {batch} samples per invoke: the last {sample_set.n - usable} were left out")
    feeds = []
    for start in range(0, usable, batch):
        feed = {}
        for name, index in inputs.items():
            tensor = graph.tensors[index]
            values = sample_set.arrays[name][start:start + batch]
            if tensor.dtype not in _FLOAT and tensor.scale and values.dtype.kind == "f":
                values = quantize(values, tensor.scale[0], tensor.zero_point[0] if tensor.zero_point else 0,
                                  np.dtype(tensor.dtype))
            shape = tuple(batch if d < 0 else d for d in tensor.shape)
            feed[index] = np.ascontiguousarray(values, dtype=tensor.dtype).reshape(shape)
        feeds.append(feed)
    return feeds, notes


def _gpu_ops(report: LiteRtGpuCompile, s: int, count: int) -> Optional[set]:
    """The operators of subgraph ``s`` that ran on the GPU (None: not known, so assume any may have)."""
    if s == 0:
        return set(report.gpu_indices) if report.gpu_indices is not None else None
    flags = [v.on_gpu for v in report.verdicts if v.subgraph == s]
    return None if len(flags) != count or None in flags else {i for i, f in enumerate(flags) if f}


def _is_step(graph, operator) -> bool:
    if operator.op not in STEP_OPS:
        return False
    floats = [t for t in operator.inputs if t >= 0 and graph.tensors[t].dtype in _FLOAT]
    if not floats:
        return False  # an integer comparison or cast moves nothing
    if operator.op in ("CAST", "QUANTIZE"):
        return all(graph.tensors[t].dtype not in _FLOAT for t in operator.outputs if t >= 0)
    return True


def _steps_before(graph, tensor: int, on_gpu: Optional[set]) -> Tuple[str, ...]:
    """The step ops on the way to ``tensor`` whose float inputs the GPU computed (or may have)."""
    producer = {t: i for i, op in enumerate(graph.operators) for t in op.outputs if t >= 0}
    upstream, stack = set(), [tensor]
    while stack:
        t = stack.pop()
        i = producer.get(t)
        if i is None or i in upstream:
            continue
        upstream.add(i)
        stack.extend(x for x in graph.operators[i].inputs if x >= 0)
    steps = []
    for i in sorted(upstream):
        operator = graph.operators[i]
        if not _is_step(graph, operator):
            continue
        if on_gpu is None or i in on_gpu or _fed_by(graph, operator, producer, on_gpu):
            steps.append(f"{operator.op} (op {i})")
    return tuple(steps)


def _fed_by(graph, operator, producer: dict, on_gpu: set) -> bool:
    """Some operator on the GPU computes a value this one reads (directly or further up)."""
    seen, stack = set(), [t for t in operator.inputs if t >= 0]
    while stack:
        i = producer.get(stack.pop())
        if i is None or i in seen:
            continue
        if i in on_gpu:
            return True
        seen.add(i)
        stack.extend(x for x in graph.operators[i].inputs if x >= 0)
    return False


def _spans(indices) -> str:
    """``(0, 1, 2, 5)`` -> ``"0-2, 5"``."""
    indices = sorted(indices)
    spans, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            spans.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ", ".join(spans)


__all__ = ["GpuCheck", "GpuOutput", "gpu_check", "STEP_OPS"]
