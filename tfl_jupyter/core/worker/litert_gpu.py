"""LiteRT's GPU accelerator, run for real: which operators it takes, and what it computes.

LiteRT 2.x compiles a model with ``HardwareAccelerator.GPU | HardwareAccelerator.CPU``
(the ``CompiledModel`` API): its GPU accelerator (ML Drift over WebGPU, shipped in the
``ai-edge-litert`` wheel as ``libLiteRtWebGpuAccelerator.so``) takes the largest partition
of the operators it supports, the CPU runs the rest. On a machine without a GPU it runs on
Mesa's software Vulkan driver (lavapipe), which makes it an oracle everywhere, CI included.

It crashes in a process where TensorFlow is loaded, so everything here runs in the pool's
"litert" workers (``POOL.call(..., flavour="litert")``), which never import TensorFlow:
:func:`measure_litert_gpu` and :func:`run_litert_gpu` are what the kernel calls;
:func:`compile_on_gpu` and :func:`run_on_gpu_and_cpu` are the jobs.

What the accelerator says comes from what it prints while compiling (captured from the
native stderr): "Following operations are not supported by GPU delegate:", one line per
refused op type and reason, then "N operations will run on the GPU, and the remaining M
operations will run on the CPU." (nothing at all when it takes every operator), once per
subgraph it judges. ``IsFullyAccelerated()`` is not trusted alone: it says True on a model
whose only operator it refused (a rank-5 ADD). The lines name op types, not operators; the
per-operator verdicts are derived (see :func:`_judge`): a reason that ends with a tensor
name belongs to the operator that reads or writes it, "Operation is not supported." to every
operator of the type, the only operator of a type to that type's lines; the rest is decided
by the GPU op count (the runtime's partitioning, fed each candidate set of verdicts, must
reproduce it) and, where that leaves a choice, by compiling the operator alone.

Measured with ai-edge-litert 2.3 on Debian 12: Mesa 22's lavapipe is refused by Dawn
("Vulkan shaderUniform*ArrayDynamicIndexing required"), Mesa 25's works; one check of a
small model takes about half a second in a fresh worker, a few milliseconds in a warm one.
"""
from __future__ import annotations

import itertools
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .process import LITERT

#: What to install where no adapter exists (Linux); the README's test command runs it too.
VULKAN_INSTALL = ("install Mesa's Vulkan driver, 25 or newer (Debian/Ubuntu: apt-get install mesa-vulkan-drivers "
                  "libvulkan1; on Debian 12 from bookworm-backports), or a GPU's own Vulkan driver")
_MESA_TOO_OLD = ("the Vulkan driver is too old for LiteRT's GPU accelerator (Dawn wants "
                 "shaderUniform*ArrayDynamicIndexing; Mesa 22's lavapipe lacks it): ")
_BLOCK_START = "Following operations are not supported by GPU delegate:"
_COUNTS = re.compile(r"(\d+) operations will run on the GPU, and the remaining (\d+) operations will run on the CPU")
_NONE_ON_GPU = re.compile(r"No operations will run on the GPU, and all (\d+) operations will run on the CPU")
_REFUSAL = re.compile(r"^([A-Za-z][A-Za-z0-9_]*): (.*)$")
_ADAPTER = re.compile(r"Selected adapter: (?P<name>.*?), arch=(?P<arch>[^,]*), vendor=(?P<vendor>[^,]*), "
                      r"backend=(?P<backend>[^,]*), adapterType=(?P<kind>.*)$", re.MULTILINE)
_NO_ADAPTER = ("No adapters found", "Failed to initialize WebGPU environment", "Found no drivers")
_SOFTWARE_NAMES = ("llvmpipe", "lavapipe", "swiftshader", "software")
_TYPE_LEVEL = "Operation is not supported."
_LOG_LEVELS = ("INFO", "WARNING", "ERROR", "VERBOSE", "Warning", "Error")
# Candidate verdict sets tried against the GPU op count, at most.
_MAX_ENUMERATED = 1 << 10
# Operators compiled alone where the count leaves a choice, at most.
_MAX_PROBES = 32
_ADAPTER_SEEN: Dict[str, object] = {}  # this process's adapter, printed once, when the environment is made
_ENVIRONMENT = []


@dataclass(frozen=True)
class GpuAdapter:
    """The GPU the accelerator picked (Dawn's "Selected adapter").

    Attributes
    ----------
    name : str
        E.g. ``"llvmpipe (LLVM 15.0.6, 256 bits)"``.
    software : bool
        A software rasterizer on this CPU (lavapipe/llvmpipe, SwiftShader), not a GPU.
    backend, vendor, adapter_type : str
        As Dawn names them (``"Vulkan"``, ``"mesa"``, ``"CPU / Software"``).
    """

    name: str
    software: bool
    backend: str = ""
    vendor: str = ""
    adapter_type: str = ""

    def __str__(self) -> str:
        kind = "software, on the CPU" if self.software else "hardware GPU"
        return f"{self.name} ({kind}; {self.backend or 'unknown backend'})"


@dataclass(frozen=True)
class Refusal:
    """One line the accelerator printed under "Following operations are not supported".

    Attributes
    ----------
    op : str
        The op type (``"CUMSUM"``).
    reason : str
        Its reason, as printed.
    subgraph : int or None
        The subgraph it was printed for (None where it could not be matched to one).
    indices : tuple of int
        The operators of that subgraph it applies to, where derived.
    """

    op: str
    reason: str
    subgraph: Optional[int] = 0
    indices: Tuple[int, ...] = ()


@dataclass(frozen=True)
class OpVerdict:
    """What the accelerator made of one operator.

    Attributes
    ----------
    subgraph, index : int
    op : str
    supported : bool or None
        It takes the operator (None: not derivable from what it printed).
    reason : str
        Why not, as printed ('' when supported); for an operator compiled alone to decide,
        the reason says so.
    on_gpu : bool or None
        The operator is in the partition that ran on the GPU (None: not derivable).
    """

    subgraph: int
    index: int
    op: str
    supported: Optional[bool]
    reason: str = ""
    on_gpu: Optional[bool] = None


@dataclass(frozen=True)
class LiteRtGpuCompile:
    """One compile of a model with ``GPU | CPU``: what LiteRT's GPU accelerator took.

    Attributes
    ----------
    compiled : bool
        The model compiled (with the GPU, or, where no adapter exists, not at all).
    adapter : GpuAdapter or None
        The GPU it ran on; None where none exists.
    unavailable : str
        One line, where no adapter exists: why, and what to install ('' otherwise).
    error : str
        Why the compile failed ('' when it compiled).
    refusals : tuple of Refusal
        Every line it printed, with the operators each applies to.
    gpu_ops, cpu_ops : int or None
        Operators of the main subgraph on the GPU and on the CPU, as it printed them (or
        all on the GPU when it printed nothing); None when it did not compile.
    verdicts : tuple of OpVerdict
        One per operator of every subgraph.
    gpu_indices : tuple of int or None
        The main subgraph's operators that ran on the GPU (its largest partition), where derivable.
    fully_accelerated : bool or None
        What ``IsFullyAccelerated()`` said (it says True even when it took nothing).
    notes : tuple of str
        Where a verdict was decided by compiling the operator alone, or could not be derived.
    compile_s : float
        The compile's wall time (the first in a process also makes the GPU environment).
    version : str
        The ``ai-edge-litert`` that ran it.
    log : str
        Everything it printed.
    """

    compiled: bool
    adapter: Optional[GpuAdapter]
    unavailable: str = ""
    error: str = ""
    refusals: Tuple[Refusal, ...] = ()
    gpu_ops: Optional[int] = None
    cpu_ops: Optional[int] = None
    verdicts: Tuple[OpVerdict, ...] = ()
    gpu_indices: Optional[Tuple[int, ...]] = None
    fully_accelerated: Optional[bool] = None
    notes: Tuple[str, ...] = ()
    compile_s: float = 0.0
    version: str = ""
    log: str = field(default="", repr=False)

    @property
    def available(self) -> bool:
        """An adapter exists, so the verdicts are the accelerator's own."""
        return self.adapter is not None and not self.unavailable

    @property
    def measured(self) -> Dict[Tuple[int, int], Tuple[bool, str]]:
        """``{(subgraph, index): (supported, reason)}`` for every operator with a derived verdict
        (the ``measured=`` form of the ops table)."""
        return {(v.subgraph, v.index): (v.supported, v.reason) for v in self.verdicts if v.supported is not None}

    def __repr__(self) -> str:
        if not self.available:
            return f"LiteRtGpuCompile: no GPU adapter: {self.unavailable}"
        if not self.compiled:
            return f"LiteRtGpuCompile on {self.adapter}: the model did not compile: {self.error}"
        refused = "; ".join(f"{r.op}: {r.reason}" for r in self.refusals) or "none"
        return (f"LiteRtGpuCompile on {self.adapter}: {self.gpu_ops} ops on the GPU, {self.cpu_ops} on the CPU; "
                f"refused: {refused}")


def measure_litert_gpu(model_bytes: bytes, timeout: Optional[float] = 120) -> LiteRtGpuCompile:
    """Compile a model with LiteRT's GPU accelerator in a "litert" worker and report what it took.

    Parameters
    ----------
    model_bytes : bytes
    timeout : float, optional
        Seconds before the worker is stopped.

    Returns
    -------
    LiteRtGpuCompile
        Where no adapter exists, ``available`` is False and ``unavailable`` says what to install.

    Raises
    ------
    InvalidModelError
        The bytes are not a valid ``.tflite`` (checked before the runtime sees them).
    WorkerDied, TimeoutError
        The runtime crashed, or took longer than ``timeout``.
    """
    from .pool import POOL

    return POOL.call(compile_on_gpu, bytes(model_bytes), timeout=timeout, flavour=LITERT)


def run_litert_gpu(model_bytes: bytes, signature: Optional[str], feeds: List[Dict[int, object]],
                   outputs: Dict[int, tuple], timeout: Optional[float] = 300) -> "GpuRun":
    """:func:`run_on_gpu_and_cpu` in a "litert" worker (see there)."""
    from .pool import POOL

    return POOL.call(run_on_gpu_and_cpu, bytes(model_bytes), signature, feeds, outputs, timeout=timeout,
                     flavour=LITERT)


# ---------------------------------------------------------------------------------------
# The jobs (run in a worker without TensorFlow)


def compile_on_gpu(model_bytes: bytes) -> LiteRtGpuCompile:
    """Compile ``model_bytes`` with ``GPU | CPU`` here and report what the accelerator took.

    Runs in a "litert" worker (module level, so that ``POOL.call`` can name it); the model
    is validated by :func:`~tfl_jupyter.core.tflite_reader.read_model` before the runtime sees it.
    """
    from ..tflite_reader import read_model

    model = read_model(model_bytes)
    compiled, log, seconds = _compile_captured(model_bytes, gpu=True)
    return _report(model, compiled, log, seconds)


def _report(model, compiled, log: str, seconds: float) -> LiteRtGpuCompile:
    """The compile report from what the compile returned (or raised) and printed."""
    adapter = _adapter(log)
    version = _litert_version()
    missing = _no_adapter(log)
    if missing:
        return LiteRtGpuCompile(compiled=False, adapter=None, unavailable=missing, log=log, version=version,
                                compile_s=seconds)
    if isinstance(compiled, BaseException):
        return LiteRtGpuCompile(compiled=False, adapter=adapter, error=_compile_error(compiled, log), log=log,
                                version=version, compile_s=seconds)
    blocks = _blocks(log)
    assigned, notes = _assign(model, blocks)
    refusals, verdicts, gpu_indices, more_notes = [], [], None, []
    probe = _probe_alone(model)
    for s in range(len(model.subgraphs)):
        judged = _judge(model, s, assigned.get(s), probe)
        refusals += judged.refusals
        verdicts += judged.verdicts
        more_notes += judged.notes
        if s == 0:
            gpu_indices = judged.gpu_indices
    main = assigned.get(0)
    gpu_ops = main[1] if main is not None else len(model.subgraphs[0].operators)
    cpu_ops = main[2] if main is not None else 0
    return LiteRtGpuCompile(
        compiled=True, adapter=adapter, refusals=tuple(refusals), gpu_ops=gpu_ops, cpu_ops=cpu_ops,
        verdicts=tuple(verdicts), gpu_indices=gpu_indices, fully_accelerated=bool(compiled.IsFullyAccelerated()),
        notes=tuple(notes + more_notes), compile_s=seconds, version=version, log=log)


@dataclass(frozen=True)
class OutputDifference:
    """One output of the model, the GPU run against the CPU run on the same samples.

    Values are compared as floats (dequantized for quantized outputs).

    Attributes
    ----------
    name : str
        The output's signature name.
    tensor : int
        Its tensor index in the signature's subgraph.
    dtype : str
    shape : tuple of int
        One invoke's shape.
    compared : bool
        Both runs gave it (False: ``note`` says why not).
    max_abs, mean_abs, median_abs : float
        Of ``|gpu - cpu|`` over every element of every sample.
    value_range : float
        ``max - min`` of the CPU's values (0 for a constant output).
    mismatched : float
        Share of elements where the two differ at all.
    note : str
    """

    name: str
    tensor: int
    dtype: str
    shape: Tuple[int, ...]
    compared: bool = True
    max_abs: float = float("nan")
    mean_abs: float = float("nan")
    median_abs: float = float("nan")
    value_range: float = float("nan")
    mismatched: float = float("nan")
    note: str = ""


@dataclass(frozen=True)
class GpuRun:
    """The model run on the GPU (``GPU | CPU``) and on the CPU alone, on the same samples.

    Attributes
    ----------
    compile : LiteRtGpuCompile
    signature : str
        The signature run.
    outputs : tuple of OutputDifference
    invokes : int
        Invokes per run (one per sample, or per batch of the model's fixed batch size).
    gpu_ms, cpu_ms : float or None
        Median wall time of one invoke, writing inputs and reading outputs included.
    error : str
        Why the runs did not happen ('' when they did).
    """

    compile: LiteRtGpuCompile
    signature: str = ""
    outputs: Tuple[OutputDifference, ...] = ()
    invokes: int = 0
    gpu_ms: Optional[float] = None
    cpu_ms: Optional[float] = None
    error: str = ""


def run_on_gpu_and_cpu(model_bytes: bytes, signature: Optional[str], feeds: List[Dict[int, object]],
                       outputs: Dict[int, tuple]) -> GpuRun:
    """Compile the model twice (``GPU | CPU``, then ``CPU``), invoke both on ``feeds``, compare.

    Runs in a "litert" worker.

    Parameters
    ----------
    model_bytes : bytes
    signature : str or None
        The signature to run (None: the first).
    feeds : list of dict
        One invoke each: ``{input tensor index: array}``, arrays of the input's own dtype
        and shape.
    outputs : dict
        ``{output tensor index: (scale, zero_point)}`` to dequantize an output before
        comparing (the others are compared as they are).
    """
    import numpy as np

    from ..tflite_reader import read_model

    model = read_model(model_bytes)
    compiled, log, seconds = _compile_captured(model_bytes, gpu=True)
    report = _report(model, compiled, log, seconds)
    if not report.available or not report.compiled:
        return GpuRun(report, error=report.unavailable or report.error)
    if not feeds:
        return GpuRun(report)
    cpu, cpu_log, _ = _compile_captured(model_bytes, gpu=False)
    if isinstance(cpu, BaseException):
        return GpuRun(report, error="the CPU alone could not compile it: " + _compile_error(cpu, cpu_log))
    keys = list(compiled.GetSignatureList())
    key = signature if signature is not None else keys[0]
    if key not in keys:
        return GpuRun(report, error=f"the model has no signature {key!r}; it has {keys}")
    try:
        gpu_values, skipped, gpu_ms = _invoke_all(compiled, key, feeds)
        cpu_values, _, cpu_ms = _invoke_all(cpu, key, feeds)
    except (RuntimeError, ValueError, TypeError) as exc:
        return GpuRun(report, signature=key, error=f"{type(exc).__name__}: {exc}")
    details = compiled.GetOutputTensorDetails(key)
    differences = []
    for name in compiled.GetSignatureList()[key]["outputs"]:
        detail = details[name]
        gpu, cpu_out = gpu_values.get(name), cpu_values.get(name)
        common = dict(name=name, tensor=int(detail["index"]), dtype=str(detail["dtype"]),
                      shape=tuple(int(d) for d in detail["shape"]))
        if not gpu or not cpu_out:
            differences.append(OutputDifference(**common, compared=False, note=skipped.get(name, "not read")))
            continue
        scale, zero = outputs.get(common["tensor"], (None, None))
        a, b = (np.concatenate(gpu).astype(np.float64), np.concatenate(cpu_out).astype(np.float64))
        if scale:
            a, b = (a - zero) * scale, (b - zero) * scale
        diff = np.abs(a - b)
        differences.append(OutputDifference(
            **common, max_abs=float(diff.max()) if diff.size else 0.0, mean_abs=float(diff.mean()) if diff.size else 0.0,
            median_abs=float(np.median(diff)) if diff.size else 0.0,
            value_range=float(b.max() - b.min()) if b.size else 0.0,
            mismatched=float(np.mean(a != b)) if diff.size else 0.0))
    return GpuRun(report, signature=key, outputs=tuple(differences), invokes=len(feeds), gpu_ms=gpu_ms, cpu_ms=cpu_ms)


def _invoke_all(compiled, key: str, feeds) -> Tuple[Dict[str, list], Dict[str, str], Optional[float]]:
    """Invoke once per feed: ``({output name: [array per invoke]}, {output not read: why}, median ms
    per invoke)``."""
    import numpy as np

    runtime = _runtime()
    index = compiled.GetSignatureIndex(key)
    names = compiled.GetSignatureList()[key]
    input_details = compiled.GetInputTensorDetails(key)
    output_details = compiled.GetOutputTensorDetails(key)
    inputs = compiled.CreateInputBuffers(index)
    outputs = compiled.CreateOutputBuffers(index)
    values: Dict[str, list] = {}
    skipped = {name: f"{output_details[name]['dtype']} outputs cannot be read through LiteRT's CompiledModel"
               for name in names["outputs"] if output_details[name]["dtype"] not in runtime.dtypes}
    times = []
    for feed in feeds:
        started = time.perf_counter()
        for name, buffer in zip(names["inputs"], inputs):
            dtype = input_details[name]["dtype"]
            if dtype not in runtime.dtypes:
                raise ValueError(f"input {name!r} is {dtype}, which LiteRT's CompiledModel cannot be fed from Python")
            array = np.ascontiguousarray(feed[int(input_details[name]["index"])], dtype=dtype).reshape(-1)
            runtime.write(buffer, array, dtype)
        compiled.RunByIndex(index, inputs, outputs)
        for name, buffer in zip(names["outputs"], outputs):
            if name in skipped:
                continue
            detail = output_details[name]
            result = np.empty(int(np.prod(detail["shape"], dtype=np.int64)), dtype=detail["dtype"])
            runtime.read(buffer, result, detail["dtype"])
            values.setdefault(name, []).append(result.reshape(detail["shape"]))
        times.append(time.perf_counter() - started)
    return values, skipped, (float(np.median(times)) * 1000 if times else None)


# ---------------------------------------------------------------------------------------
# The runtime: LiteRT's compiled-model bindings, without its Python wrapper where possible


class _Runtime:
    """``ai_edge_litert``'s compiled-model and tensor-buffer bindings.

    Its ``compiled_model`` module imports ``ml_dtypes``, whose import takes 1.3 s with NumPy
    2.4 (it registers hundreds of ufunc loops), longer than a whole check: the bindings it
    wraps are used directly, the same calls it makes; where a later ``ai-edge-litert``
    renames them, its public wrapper is used instead.
    """

    dtypes = ("float32", "float16", "int32", "int8", "uint8", "bool")

    def __init__(self):
        import ai_edge_litert
        from ai_edge_litert.environment import Environment, EnvironmentOptions
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import CpuOptions, Options

        self.environment = Environment.create(options=EnvironmentOptions(
            runtime_path=os.path.dirname(os.path.abspath(ai_edge_litert.__file__))))
        self._options = {gpu: Options(hardware_accelerators=(HardwareAccelerator.GPU | HardwareAccelerator.CPU
                                                             if gpu else HardwareAccelerator.CPU),
                                      cpu_options=CpuOptions(num_threads=1)) for gpu in (True, False)}
        try:
            from ai_edge_litert import _pywrap_litert_compiled_model_wrapper as bindings
            from ai_edge_litert import _pywrap_litert_tensor_buffer_wrapper as buffers

            self._create, self._write, self._read = (
                bindings.CreateCompiledModelFromBuffer, buffers.WriteTensorBuffer, buffers.ReadTensorToBuffer)
            self._flat = {gpu: options._as_flat_kwargs() for gpu, options in self._options.items()}
            self.public = False
        except (ImportError, AttributeError):
            self.public = True

    def compile(self, model_bytes: bytes, gpu: bool):
        """The compiled model's binding object (``GetSignatureList``, ``RunByIndex``, ...)."""
        if not self.public:
            return self._create(self.environment.capsule, model_bytes, **self._flat[gpu])
        from ai_edge_litert.compiled_model import CompiledModel

        return CompiledModel.from_buffer(model_bytes, environment=self.environment, options=self._options[gpu])._model

    def write(self, capsule, array, dtype: str) -> None:
        if not self.public:
            return self._write(capsule, array, dtype)
        from ai_edge_litert.tensor_buffer import TensorBuffer

        TensorBuffer(capsule, self.environment).write(array)

    def read(self, capsule, result, dtype: str) -> None:
        if not self.public:
            return self._read(capsule, result, dtype)
        from ai_edge_litert.tensor_buffer import TensorBuffer

        result[:] = TensorBuffer(capsule, self.environment).read(result.size, result.dtype)


def _runtime() -> _Runtime:
    if not _ENVIRONMENT:
        _ENVIRONMENT.append(_Runtime())
    return _ENVIRONMENT[0]


def _compile_captured(model_bytes: bytes, gpu: bool):
    """``(compiled model or the exception, what it printed, seconds)``."""
    from ..capture import capture_output

    started = time.perf_counter()
    compiled = None
    with capture_output() as captured:
        try:
            compiled = _runtime().compile(model_bytes, gpu)
        except Exception as exc:  # the runtime's RuntimeError, or anything its wrapper raises
            compiled = exc
    return compiled, captured.text, time.perf_counter() - started


def _litert_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return ""


def _adapter(log: str) -> Optional[GpuAdapter]:
    """The adapter Dawn selected; printed once per process, so remembered."""
    match = _ADAPTER.search(log)
    if match:
        kind = match["kind"].strip()
        software = ("software" in (match["arch"] + kind).lower()
                    or any(s in match["name"].lower() for s in _SOFTWARE_NAMES))
        _ADAPTER_SEEN["adapter"] = GpuAdapter(match["name"].strip(), software, match["backend"].strip(),
                                              match["vendor"].strip(), kind)
    return _ADAPTER_SEEN.get("adapter")


def _no_adapter(log: str) -> str:
    """One line where no GPU adapter exists, naming what to install ('' where one does)."""
    if not any(marker in log for marker in _NO_ADAPTER) or "Selected adapter" in log:
        return ""
    if "ArrayDynamicIndexing" in log:
        return _MESA_TOO_OLD + VULKAN_INSTALL
    if sys.platform.startswith("linux"):
        return "LiteRT's GPU accelerator found no GPU adapter (no Vulkan driver): " + VULKAN_INSTALL
    return "LiteRT's GPU accelerator found no GPU adapter (Dawn found no Metal, D3D12 or Vulkan device)"


def _compile_error(exc: BaseException, log: str) -> str:
    lines = [line.strip() for line in log.splitlines()
             if line.startswith("ERROR:") and "compiler_plugin" not in line and _BLOCK_START not in line]
    return "; ".join(dict.fromkeys(lines)) or f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------
# From what it printed to each operator's verdict


def _blocks(log: str) -> List[tuple]:
    """Every block it printed, in order: ``((op, reason) pairs, gpu ops, cpu ops)``."""
    blocks, current = [], None
    for line in log.splitlines():
        line = line.rstrip()
        if line.endswith(_BLOCK_START):
            current = []
            continue
        counts = _COUNTS.search(line)
        none = _NONE_ON_GPU.search(line)
        if counts or none:
            gpu, cpu = (int(counts[1]), int(counts[2])) if counts else (0, int(none[1]))
            blocks.append((tuple(current or ()), gpu, cpu))
            current = None
            continue
        if current is not None:
            refusal = _REFUSAL.match(line)
            if refusal and refusal[1] not in _LOG_LEVELS:  # another thread's log line is no refusal
                current.append((refusal[1], refusal[2].strip()))
    return blocks


def _op_names(graph) -> List[str]:
    return [op.op for op in graph.operators]


def _assign(model, blocks) -> Tuple[Dict[int, tuple], List[str]]:
    """Which block belongs to which subgraph. Blocks come in subgraph order, one per subgraph
    with a refused operator (repeated when a subgraph is judged again); a block fits a
    subgraph whose operator count is its GPU + CPU count and which has its op types."""
    assigned, k = {}, 0
    for s, graph in enumerate(model.subgraphs):
        if k >= len(blocks):
            break
        refused, gpu, cpu = blocks[k]
        if gpu + cpu == len(graph.operators) and {op for op, _ in refused} <= set(_op_names(graph)):
            assigned[s] = blocks[k]
            k += 1
            while k < len(blocks) and blocks[k] == assigned[s]:
                k += 1
    notes = []
    if k < len(blocks):
        notes.append(f"{len(blocks) - k} block(s) of the accelerator's output matched no subgraph: "
                     + "; ".join(f"{op}: {reason}" for b in blocks[k:] for op, reason in b[0]))
    return assigned, notes


@dataclass
class _Judged:
    refusals: list
    verdicts: list
    gpu_indices: Optional[tuple]
    notes: list


def _judge(model, s: int, block, probe) -> _Judged:
    """Per-operator verdicts of subgraph ``s`` from its block (None: it refused nothing)."""
    graph = model.subgraphs[s]
    names = _op_names(graph)
    count = len(names)
    supported: List[Optional[bool]] = [True] * count
    reasons: List[List[str]] = [[] for _ in range(count)]
    refusals, notes = [], []
    if block is None:
        gpu_indices = tuple(range(count)) if s == 0 else None
        verdicts = [OpVerdict(s, i, names[i], True, "", True if s == 0 else None) for i in range(count)]
        return _Judged([], verdicts, gpu_indices, [])
    refused_lines, gpu_count, _ = block
    by_type: Dict[str, List[str]] = defaultdict(list)
    for op, reason in refused_lines:
        by_type[op].append(reason)
    unknown: Dict[str, List[int]] = {}  # op type -> operators one of which a generic reason refused
    for op, op_reasons in by_type.items():
        instances = [i for i, name in enumerate(names) if name == op]
        generic = []
        for reason in op_reasons:
            if reason == _TYPE_LEVEL or len(instances) == 1:
                owners = instances
            else:
                owners = [i for i in instances if _names_tensor_of(graph, graph.operators[i], reason)]
            if owners:
                for i in owners:
                    supported[i] = False
                    reasons[i].append(reason)
            else:
                generic.append(reason)
            refusals.append([op, reason, owners])
        if generic:
            rest = [i for i in instances if supported[i]]
            if rest:
                unknown[op] = rest
                for i in rest:
                    supported[i] = None
                    reasons[i] = list(generic)
    if unknown:
        decided, how = _decide(graph, supported, unknown, gpu_count, model, s, probe)
        for i, value in decided.items():
            supported[i] = value
            if value:
                reasons[i] = []
        notes += how
    for refusal in refusals:  # the lines' operators, now that the generic ones are decided
        op, reason, owners = refusal
        if not owners:
            refusal[2] = [i for i in unknown.get(op, []) if supported[i] is False and reason in reasons[i]]
    gpu_indices = _delegated(graph, supported, gpu_count, notes) if s == 0 or None not in supported else None
    on_gpu = set(gpu_indices or ())
    verdicts = [OpVerdict(s, i, names[i], supported[i], "; ".join(reasons[i]) if supported[i] is not True else "",
                          (i in on_gpu) if gpu_indices is not None else None) for i in range(count)]
    return _Judged([Refusal(op, reason, s, tuple(owners)) for op, reason, owners in refusals], verdicts,
                   gpu_indices if s == 0 else None, notes)


def _names_tensor_of(graph, operator, reason: str) -> bool:
    """The reason ends with the name of a tensor the operator reads or writes ("Tensor
    type(INT16) is not supported. <tensor name>")."""
    for t in tuple(operator.inputs) + tuple(operator.outputs):
        if t >= 0:
            name = graph.tensors[t].name
            if name and (reason == name or reason.endswith(" " + name)):
                return True
    return False


def _decide(graph, supported, unknown, gpu_count, model, s, probe) -> Tuple[Dict[int, bool], List[str]]:
    """Decide the operators a generic reason may refuse: the verdict sets whose partitioning
    gives the GPU op count it printed, and where several do, each operator compiled alone."""
    candidates = [i for rest in unknown.values() for i in rest]
    decided: Dict[int, bool] = {}
    notes = []
    if len(candidates) <= 10 and (1 << len(candidates)) * max(1, len(supported)) <= _MAX_ENUMERATED * 64:
        fits = []
        for choice in itertools.product((True, False), repeat=len(candidates)):
            chosen = dict(zip(candidates, choice))
            # every op type with a generic reason refuses at least one of its operators
            if any(all(chosen[i] for i in rest) for rest in unknown.values()):
                continue
            trial = [chosen.get(i, v) for i, v in enumerate(supported)]
            if len(_largest(graph, trial)) == gpu_count:
                fits.append(chosen)
        for i in candidates:
            values = {f[i] for f in fits}
            if len(values) == 1:
                decided[i] = values.pop()
    undecided = [i for i in candidates if i not in decided]
    if undecided and probe is not None:
        for i in undecided[:_MAX_PROBES]:
            alone = probe(s, i)
            if alone is not None:
                decided[i] = alone
                notes.append(f"{graph.operators[i].op} (op {i}): decided by compiling the operator alone "
                             f"({'taken' if alone else 'refused'})")
    for i in candidates:
        if i not in decided:
            notes.append(f"{graph.operators[i].op} (op {i}): the accelerator refused some "
                         f"{graph.operators[i].op} operators without saying which")
    return decided, notes


def _largest(graph, supported) -> List[int]:
    """The operators of the largest partition of supported ones (the first of equal size)."""
    from ..op_support.partitions import node_subsets

    subsets = node_subsets([bool(v) for v in supported], [tuple(op.inputs) for op in graph.operators],
                           [tuple(op.outputs) for op in graph.operators])
    found = [sorted(members) for kind, members in subsets if kind]
    return max(found, key=len) if found else []  # max keeps the first of equal size, as the runtime does


def _delegated(graph, supported, gpu_count, notes) -> Optional[Tuple[int, ...]]:
    if None in supported:
        return None
    largest = _largest(graph, supported)
    if len(largest) != gpu_count:
        notes.append(f"the partitioning of these verdicts gives {len(largest)} ops on the GPU where the "
                     f"accelerator said {gpu_count}: which operators ran on the GPU is not known")
        return None
    return tuple(largest)


def _probe_alone(model):
    """``probe(subgraph, index) -> bool or None``: compile one operator as a model of its own
    and see whether the accelerator refuses it (None where that model cannot be built or compiled)."""

    def probe(s: int, index: int) -> Optional[bool]:
        try:
            alone = single_operator_model(model, s, index)
        except Exception:  # a model the object API cannot rebuild
            return None
        compiled, log, _ = _compile_captured(alone, gpu=True)
        if isinstance(compiled, BaseException):
            return None
        op = model.subgraphs[s].operators[index].op
        return not any(name == op for block in _blocks(log) for name, _ in block[0])

    return probe


def single_operator_model(model, s: int, index: int) -> bytes:
    """A ``.tflite`` with operator ``index`` of subgraph ``s`` alone: its non-constant inputs
    become the model's inputs, its outputs the model's outputs, its constants keep their data."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    whole = schema.ModelT.InitFromPackedBuf(model.data, 0)
    graph = whole.subgraphs[s]
    operator = graph.operators[index]
    kept: Dict[int, int] = {}
    tensors, buffers = [], [schema.BufferT()]

    def keep(t: int) -> int:
        if t < 0:
            return t
        if t not in kept:
            tensor = graph.tensors[t]
            data = whole.buffers[tensor.buffer].data if 0 < tensor.buffer < len(whole.buffers) else None
            if data is not None and len(data):
                buffer = schema.BufferT()
                buffer.data = data
                buffers.append(buffer)
                tensor.buffer = len(buffers) - 1
            else:
                tensor.buffer = 0
            kept[t] = len(tensors)
            tensors.append(tensor)
        return kept[t]

    operator.inputs = [keep(t) for t in operator.inputs]
    operator.outputs = [keep(t) for t in operator.outputs]
    operator.intermediates = []
    code = whole.operatorCodes[operator.opcodeIndex]
    operator.opcodeIndex = 0
    alone = schema.SubGraphT()
    alone.tensors = tensors
    alone.operators = [operator]
    alone.inputs = [t for t in operator.inputs if t >= 0 and tensors[t].buffer == 0]
    alone.outputs = list(operator.outputs)
    alone.name = "alone"
    result = schema.ModelT()
    result.version = whole.version
    result.operatorCodes = [code]
    result.subgraphs = [alone]
    result.buffers = buffers
    result.description = "one operator, for LiteRT's GPU accelerator"
    builder = flatbuffers.Builder(1024)
    builder.Finish(result.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
