"""LiteRT's GPU accelerator, run for real: the ``litert_gpu`` verdicts and ``gpu_check()``.

Everything is checked against an independent run of the accelerator in a process of its
own, without TensorFlow (``litert_gpu_oracle.py``: LiteRT's public ``CompiledModel`` API,
nothing of tfl_jupyter). On a machine without a GPU it runs on Mesa's software Vulkan
driver (lavapipe); the README's test command installs it. The tests are skipped only where
no Vulkan adapter exists, with the accelerator's own reason.
"""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.tflite_reader import read_model
from tfl_jupyter.core.worker import pool as pool_module
from tfl_jupyter.core.worker.litert_gpu import measure_litert_gpu
from tfl_jupyter.core.worker.pool import POOL, WorkerPool

import conftest_ops
import litert_gpu_models as gpu_models

ORACLE = Path(__file__).with_name("litert_gpu_oracle.py")
# Models of conftest_ops beside litert_gpu_models' op models (flex/custom ones do not compile).
OTHERS = {
    "float_cnn": conftest_ops.float_cnn, "int8_cnn": conftest_ops.int8_cnn, "int16x8_cnn": conftest_ops.int16x8_cnn,
    "float16_cnn": conftest_ops.float16_cnn, "dynamic_range_cnn": conftest_ops.dynamic_range_cnn,
    "cumsum_model": conftest_ops.cumsum_model, "logical_model": conftest_ops.logical_model,
    "while_model": conftest_ops.while_model, "int16x8_repeats": conftest_ops.int16x8_repeats,
    "branching_model": conftest_ops.branching_model, "chain3": lambda: conftest_ops.partitioned_chain(3),
    "dynamic_range_dense": gpu_models.dynamic_range_dense,
}
MODELS = gpu_models.names() + sorted(OTHERS)
_COUNTS = re.compile(r"(\d+) operations will run on the GPU, and the remaining (\d+) operations will run on the CPU")
_NONE = re.compile(r"No operations will run on the GPU, and all (\d+) operations will run on the CPU")


def model_bytes(name: str) -> bytes:
    return OTHERS[name]() if name in OTHERS else gpu_models.model(name)


def run_oracle(mode: str, folder: Path) -> subprocess.CompletedProcess:
    """The oracle on ``folder``, with a private XDG_RUNTIME_DIR as Dawn wants."""
    with tempfile.TemporaryDirectory(prefix="oracle_xdg_") as runtime:
        environment = {**os.environ, "XDG_RUNTIME_DIR": runtime}
        environment.pop("PYTHONPATH", None)  # nothing of tfl_jupyter in there
        return subprocess.run([sys.executable, str(ORACLE), mode, str(folder)], capture_output=True, text=True,
                              env=environment, timeout=600)


@dataclass
class Seen:
    """What the oracle saw of one model: the blocks it printed, and whether it compiled."""

    blocks: list  # [([(op, reason), ...], gpu ops, cpu ops)]
    compiled: bool
    gpu_only: bool


def parse_verdicts(stderr: str) -> dict:
    seen, name, refused = {}, None, None
    for line in stderr.splitlines():
        if line.startswith("@@@ BEGIN "):
            name = line.split()[2]
            seen[name] = Seen([], False, False)
        elif line.startswith("@@@ COMPILED "):
            seen[name].compiled = line.endswith(" ok")
            name = None  # the GPU-only compile prints the same lines again: not counted
        elif line.startswith("@@@ GPUONLY "):
            seen[line.split()[2]].gpu_only = line.endswith(" ok")
        elif name is not None and line.endswith("Following operations are not supported by GPU delegate:"):
            refused = []
        elif name is not None and refused is not None:
            counts, none = _COUNTS.search(line), _NONE.search(line)
            if counts or none:
                gpu, cpu = (int(counts[1]), int(counts[2])) if counts else (0, int(none[1]))
                seen[name].blocks.append((refused, gpu, cpu))
                refused = None
            elif re.match(r"^[A-Z][A-Z0-9_]*: ", line):
                op, _, reason = line.partition(": ")
                refused.append((op, reason.strip()))
    return seen


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("litert_gpu_models")
    for name in MODELS:
        (folder / f"{name}.tflite").write_bytes(model_bytes(name))
    return folder


@pytest.fixture(scope="module")
def oracle(models_dir):
    """The oracle's verdict run over every model; skips the module where no GPU adapter exists."""
    run = run_oracle("verdicts", models_dir)
    if "No adapters found" in run.stderr or "Found no drivers" in run.stderr:
        pytest.skip("no Vulkan adapter for LiteRT's GPU accelerator (install mesa-vulkan-drivers >= 25, "
                    "see .ci/install_vulkan.sh): " + next((line for line in run.stderr.splitlines()
                                                           if "adapter" in line or "drivers" in line), ""))
    assert run.returncode == 0, run.stderr[-3000:]
    seen = parse_verdicts(run.stderr)
    assert set(seen) == set(MODELS)
    return seen


@pytest.fixture(scope="module")
def measured(oracle):
    return {name: measure_litert_gpu(model_bytes(name)) for name in MODELS}


def test_enough_models():
    assert len(MODELS) >= 40


@pytest.mark.parametrize("name", MODELS)
def test_verdicts_are_what_the_accelerator_does(name, oracle, measured):
    report, seen = measured[name], oracle[name]
    assert report.available and report.adapter.name, report
    assert report.compiled == seen.compiled, report.error
    printed = {pair for refused, _, _ in seen.blocks for pair in refused}
    assert {(r.op, r.reason) for r in report.refusals} == printed
    verdicts = report.verdicts
    # every operator's verdict is derived, and the refused op types are the printed ones
    assert all(v.supported is not None for v in verdicts), report.notes
    assert {v.op for v in verdicts if not v.supported} == {op for op, _ in printed}
    for refusal in report.refusals:
        assert refusal.indices, refusal
        assert all(not verdicts_of(report, refusal.subgraph)[i].supported for i in refusal.indices)
    # the GPU alone compiles the model exactly when it refuses none of its operators
    assert seen.gpu_only == all(v.supported for v in verdicts)
    # the main subgraph's split is the one printed (all on the GPU when nothing was printed)
    main = verdicts_of(report, 0)
    first = seen.blocks[0] if seen.blocks else None
    if first is not None and first[1] + first[2] == len(main):
        assert (report.gpu_ops, report.cpu_ops) == (first[1], first[2])
    else:
        assert (report.gpu_ops, report.cpu_ops) == (len(main), 0)
    # which operators ran on the GPU: supported ones, as many as it printed, in one partition
    assert report.gpu_indices is not None and len(report.gpu_indices) == report.gpu_ops
    assert all(main[i].supported and main[i].on_gpu for i in report.gpu_indices)
    assert sum(v.on_gpu for v in main) == report.gpu_ops
    assert report.measured == {(v.subgraph, v.index): (v.supported, v.reason) for v in verdicts}


def verdicts_of(report, subgraph: int) -> list:
    return [v for v in report.verdicts if v.subgraph == subgraph]


def _tensor_dtype(name: str, index: int, role: str) -> str:
    model = read_model(model_bytes(name))
    operator = model.subgraphs[0].operators[index]
    tensors = operator.inputs if role == "input" else operator.outputs
    return model.subgraphs[0].tensors[tensors[0]].dtype


def test_what_the_lines_do_not_say_is_derived(oracle, measured):
    """The accelerator names op types, not operators: the test models where that matters."""
    for name in ("two_cumsums", "cumsum_model"):  # one float CUMSUM taken, one int32 refused
        cumsums = [v for v in verdicts_of(measured[name], 0) if v.op == "CUMSUM"]
        assert len(cumsums) == 2
        for v in cumsums:
            assert v.supported == (_tensor_dtype(name, v.index, "input") == "float32"), v
    rank5 = measured["cumsum_model"].verdicts[1]
    assert (rank5.op, rank5.supported, rank5.reason) == ("ADD", False, "Can't parse inputs with const tensors.")
    gather = measured["gather_2d_mid"]
    assert [v.index for v in gather.verdicts if not v.supported] == [3]
    assert gather.gpu_indices == (0, 1, 2)  # two partitions of three: the first is delegated
    assert measured["l2norm_cut"].gpu_indices == (3, 4, 5)
    body = [v for v in measured["while_body_refused"].verdicts if v.subgraph == 2]
    assert [v.op for v in body if not v.supported] == ["L2_NORMALIZATION"]
    assert {r.op: r.reason for r in measured["argmax_then_cast"].refusals} == {
        "ARG_MAX": "Tensor type(INT64) is not supported. ArgMax", "CAST": "Tensor type(INT64) is not supported. ArgMax"}


def test_is_fully_accelerated_is_not_trusted(measured):
    """Measured: the runtime says True for a rank-5 ADD it did not take."""
    report = measured["rank5_add"]
    assert report.fully_accelerated is True
    assert (report.gpu_ops, report.cpu_ops, report.gpu_indices) == (0, 1, ())
    check = tj.inspect(model_bytes("rank5_add")).gpu_check(n=4)
    assert any("is_fully_accelerated() says True" in note for note in check.notes)


def test_a_model_the_runtime_cannot_load(oracle):
    for builder in (conftest_ops.flex_model, conftest_ops.custom_model):
        report = measure_litert_gpu(builder())
        assert report.available and not report.compiled and "failed to prepare" in report.error
        check = tj.inspect(builder()).gpu_check()
        assert check.available and check.gpu_ops is None and "did not compile" in repr(check)


# ---------------------------------------------------------------------------------------
# gpu_check against the oracle's own CPU-vs-GPU run

RUNS = ["float_cnn", "int8_cnn", "cumsum_model", "greater_cast", "cast_to_int", "argmax", "gather_2d_mid",
        "two_cumsums", "logical_model", "sin_cos"]


def _samples(name: str, n: int = 12) -> dict:
    """Seeded samples by the names the model's signature (or its input tensors) give."""
    model = read_model(model_bytes(name))
    graph = model.subgraphs[0]
    named = model.signatures[0].inputs if model.signatures else {graph.tensors[t].name: t for t in graph.inputs}
    rng = np.random.default_rng(len(name))
    samples = {}
    for input_name, index in named.items():
        tensor = graph.tensors[index]
        shape = (n, *tensor.shape[1:])
        if tensor.dtype == "float32":
            samples[input_name] = rng.uniform(-1, 2, size=shape).astype(np.float32)
        elif tensor.dtype == "bool":
            samples[input_name] = rng.random(shape) < 0.5
        else:
            samples[input_name] = rng.integers(0, 10, size=shape).astype(tensor.dtype)
    return samples


@pytest.fixture(scope="module")
def oracle_runs(oracle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("litert_gpu_runs")
    for name in RUNS:
        (folder / f"{name}.tflite").write_bytes(model_bytes(name))
        np.savez(folder / f"{name}.npz", **_samples(name))
    run = run_oracle("runs", folder)
    assert run.returncode == 0, run.stderr[-3000:]
    numbers = {}
    for line in run.stdout.splitlines():
        if not line.startswith("@@@ "):
            continue  # the runtime's own chatter
        row = json.loads(line[4:])
        numbers[(row["model"], row["output"])] = row
    counts, name = {}, None
    for line in run.stderr.splitlines():
        if line.startswith("@@@ BEGIN "):
            name = line.split()[2]
            counts[name] = None
        elif line.startswith("@@@ END "):
            name = None
        elif name is not None and counts[name] is None and (_COUNTS.search(line) or _NONE.search(line)):
            found, none = _COUNTS.search(line), _NONE.search(line)
            counts[name] = (int(found[1]), int(found[2])) if found else (0, int(none[1]))
    return numbers, counts


@pytest.mark.parametrize("name", RUNS)
def test_gpu_check_numbers_equal_an_independent_run(name, oracle_runs):
    numbers, counts = oracle_runs
    check = tj.inspect(model_bytes(name)).gpu_check(samples=_samples(name))
    assert check.available and not check.error, check
    ops = len(read_model(model_bytes(name)).subgraphs[0].operators)
    assert (check.gpu_ops, check.cpu_ops) == (counts[name] or (ops, 0))
    assert check.samples == 12
    assert {o.name for o in check.outputs} == {output for model, output in numbers if model == name}
    for output in check.outputs:
        expected = numbers[(name, output.name)]
        for ours, theirs in ((output.max_abs_diff, "max_abs"), (output.mean_abs_diff, "mean_abs"),
                             (output.median_abs_diff, "median_abs"), (output.mismatched, "mismatched")):
            assert ours == pytest.approx(expected[theirs], rel=1e-6, abs=1e-12), (output, expected)


def test_gpu_check_flags_steps_names_the_adapter_and_labels_latency(oracle):
    check = tj.inspect(model_bytes("cast_to_int")).gpu_check(n=8)
    (output,) = check.outputs
    assert output.flagged and output.after_step == ("CAST (op 1)",)
    assert check.flagged == (output.name,)
    assert "CAST (op 1)" in repr(check) and "fp16 can move a value across its step" in repr(check)
    smooth = tj.inspect(conftest_ops.float_cnn()).gpu_check(n=8)
    assert smooth.flagged == () and smooth.gpu_ops == 8 and smooth.cpu_ops == 0
    assert 0 < smooth.outputs[0].max_abs_diff < 0.05  # fp16 rounding, not garbage
    for c in (check, smooth):
        assert c.adapter.name in repr(c) and c.gpu_ms > 0 and c.cpu_ms > 0
        if c.adapter.software:
            assert "meaningless" in c.latency_note and "software" in repr(c)
        html = c._repr_html_()
        assert "<table" in html and c.adapter.name.split(" (")[0] in html
    # a refused op, named with its reason and index
    cut = tj.inspect(model_bytes("gather_2d_mid")).gpu_check(n=4)
    assert (cut.gpu_ops, cut.cpu_ops, cut.gpu_indices) == (3, 4, (0, 1, 2))
    assert "refused GATHER (op 3): Only support 1D indices" in repr(cut)
    assert list(cut.refused["op"]) == ["GATHER"]


def test_gpu_check_on_a_conversion_result(oracle, tiny_model):
    result = tj.convert(tiny_model)
    check = result.gpu_check()
    assert check is result.gpu_check()  # the default check is kept, like micro_check
    assert check.available and check.cpu_ops == 0 and check.samples == 100
    assert "generated from the input signature" in check.samples_origin


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Vulkan drivers are how Linux finds a GPU adapter")
def test_no_adapter_says_what_to_install(oracle, monkeypatch):
    """A worker whose Vulkan loader finds no driver: one line naming what to install."""
    monkeypatch.setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json")
    monkeypatch.setenv("VK_DRIVER_FILES", "/nonexistent/icd.json")
    pool = WorkerPool(size=1)
    monkeypatch.setattr(pool_module, "POOL", pool)
    try:
        report = measure_litert_gpu(model_bytes("relu6_sub"))
        assert not report.available and report.measured == {}
        assert "mesa-vulkan-drivers" in report.unavailable and "\n" not in report.unavailable
        check = tj.inspect(model_bytes("relu6_sub")).gpu_check()
        assert not check.available and repr(check) == f"GpuCheck: no GPU adapter: {report.unavailable}"
    finally:
        pool.stop()


def test_litert_workers_never_import_tensorflow():
    """One pool, two flavours: the GPU check's workers refuse TensorFlow, conversions' have it."""
    litert_pid = POOL.call(os.getpid, flavour="litert")
    with pytest.raises(ImportError, match="never imports TensorFlow"):
        POOL.call(importlib.import_module, "tensorflow", flavour="litert")
    with pytest.raises(ImportError, match="never imports TensorFlow"):
        POOL.call(importlib.import_module, "tensorflow.lite", flavour="litert")
    assert POOL.call(os.getpid) != litert_pid  # a TensorFlow worker, another process
    assert POOL.call(os.getpid, flavour="litert") == litert_pid  # kept warm
    with pytest.raises(ValueError, match="unknown worker flavour"):
        POOL.call(os.getpid, flavour="torch")
