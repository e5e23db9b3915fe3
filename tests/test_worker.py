"""The worker process: crashes, timeouts, cancellation, caching and recycling, for real."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.datasets import DatasetError
from tfl_jupyter.core.worker import process
from tfl_jupyter.core.worker.conversions import RESULTS
from tfl_jupyter.core.worker.pool import POOL
from tfl_jupyter.core.worker.portable import EXPORTS


@pytest.fixture
def fresh_model(keras):
    """A model of its own, so cache hits from other tests cannot interfere."""
    inputs = keras.Input((8,), name="features")
    return keras.Model(inputs, keras.layers.Dense(4)(inputs))


def slow_endless_samples():
    """Calibration that never ends: one sample every 0.2 s, for ever."""
    while True:
        time.sleep(0.2)
        yield [np.ones((1, 8), np.float32)]


@pytest.mark.parametrize("fault, cause", [("segfault", "killed by SIGSEGV"), ("abort", "killed by SIGABRT"), ("exit", "exit code 3")])
def test_a_dying_worker_costs_nothing_but_the_conversion(fresh_model, worker_fault, fault, cause):
    precious = np.arange(10)
    worker_fault(fault)
    with pytest.raises(tj.WorkerDied, match=f"worker died \\({cause}.*kernel and its variables are fine") as caught:
        tj.convert(fresh_model, quantize="dynamic")
    assert isinstance(caught.value, tj.ConversionError)
    assert precious.sum() == 45
    result = tj.convert(fresh_model, quantize="float16")  # a fresh worker takes over
    assert result.size_bytes > 0


def test_segfault_output_is_kept_for_diagnosis(fresh_model, worker_fault):
    worker_fault("segfault")
    with pytest.raises(tj.WorkerDied) as caught:
        tj.convert(fresh_model, quantize="dynamic")
    assert "Segmentation fault" in caught.value.log  # faulthandler's report from the worker


def test_timeout_stops_the_work_promptly(fresh_model):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout=2 s"):
        tj.convert(fresh_model, quantize="int8", representative_dataset=slow_endless_samples, timeout=2)
    assert time.monotonic() - started < 4
    assert tj.convert(fresh_model, quantize="dynamic").size_bytes > 0


def test_the_timeout_covers_the_export_too(keras):
    """The export runs in the kernel; past the deadline the call returns and the export goes on."""
    inputs = keras.Input((32, 32, 3), name="image")
    hidden = inputs
    for _ in range(12):
        hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(hidden)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(hidden))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="exporting the model.*timeout=0.01 s"):
        tj.convert(model, timeout=0.01)
    assert time.monotonic() - started < 0.5
    assert tj.convert(model, timeout=120).size_bytes > 0  # the same export, finished meanwhile


def test_cancel_from_another_thread(fresh_model):
    threading.Timer(2.0, POOL.cancel).start()
    with pytest.raises(tj.ConversionCancelled, match="interrupted"):
        tj.convert(fresh_model, quantize="int8", representative_dataset=slow_endless_samples)
    assert tj.convert(fresh_model, quantize="dynamic").size_bytes > 0


def test_the_worker_is_warm_and_reused(fresh_model, tiny_model):
    tj.convert(fresh_model)
    pids = POOL.pids
    tj.convert(tiny_model, quantize="float16")
    assert POOL.pids == pids != []


def test_same_model_and_settings_come_from_the_cache(fresh_model, calib):
    first = tj.convert(fresh_model, quantize="int8", representative_dataset=calib)
    again = tj.convert(fresh_model, quantize="int8", representative_dataset=calib.copy())
    assert again.tflite_model == first.tflite_model
    assert any("served from the cache" in note for note in again.notes)
    assert again.duration_s < first.duration_s


def test_a_changed_weight_or_setting_misses_the_cache(fresh_model):
    first = tj.convert(fresh_model, quantize="dynamic")
    exports = len(EXPORTS._exports)
    other_setting = tj.convert(fresh_model, quantize="float16")
    assert not any("cache" in note for note in other_setting.notes)
    assert len(EXPORTS._exports) == exports  # the SavedModel export was reused
    kernel, bias = fresh_model.layers[-1].get_weights()
    fresh_model.layers[-1].set_weights([kernel + 1.0, bias])
    changed = tj.convert(fresh_model, quantize="dynamic")
    assert not any("cache" in note for note in changed.notes)
    assert changed.tflite_model != first.tflite_model


def test_generator_datasets_are_never_served_from_the_cache(fresh_model, calib):
    def samples():
        for row in calib[:4]:
            yield [row[np.newaxis]]

    tj.convert(fresh_model, quantize="int8", representative_dataset=samples)
    again = tj.convert(fresh_model, quantize="int8", representative_dataset=samples)
    assert not any("cache" in note for note in again.notes)
    assert again.calibration_samples == 4


def test_samples_stream_from_the_kernel_and_user_errors_stay_the_users(fresh_model):
    def failing_samples():
        yield [np.ones((1, 8), np.float32)]
        raise RuntimeError("camera unplugged")

    with pytest.raises(RuntimeError, match="camera unplugged"):
        tj.convert(fresh_model, quantize="int8", representative_dataset=failing_samples)


def test_dataset_errors_cross_the_process_boundary_intact(fresh_model):
    with pytest.raises(DatasetError, match="shape \\(1, 5\\) does not fit"):
        tj.convert(fresh_model, quantize="int8", representative_dataset=np.ones((4, 5), np.float32))


def test_conversion_errors_keep_their_records_across_the_boundary(string_function):
    with pytest.raises(tj.ConversionError) as caught:
        tj.convert(string_function)
    assert caught.value.errors[0].tf_op == "tf.StringLength"
    assert caught.value.errors[0].location.code  # source line read back in this process


def test_a_grown_worker_is_recycled(fresh_model, monkeypatch):
    tj.convert(fresh_model)
    pids = POOL.pids
    monkeypatch.setattr(process, "RECYCLE_GROWTH_BYTES", 1)
    tj.convert(fresh_model, quantize="float16")
    assert len(POOL.pids) == len(pids) - 1  # the one that ran the job was retired after it
    monkeypatch.setattr(process, "RECYCLE_GROWTH_BYTES", 1 << 40)
    tj.convert(fresh_model, quantize="dynamic")
    assert set(POOL.pids) - set(pids)


def test_in_process_still_works_and_refuses_a_timeout(fresh_model):
    assert tj.convert(fresh_model, in_process=True).entry_point == "from_keras_model"
    with pytest.raises(ValueError, match="timeout needs the worker"):
        tj.convert(fresh_model, in_process=True, timeout=5)


def test_worker_and_in_process_agree(tiny_model, calib):
    RESULTS.clear()
    in_worker = tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib)
    in_process = tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib, in_process=True)
    assert [(t.dtype, t.shape_signature, t.scale) for t in in_worker.inputs + in_worker.outputs] == [
        (t.dtype, t.shape_signature, t.scale) for t in in_process.inputs + in_process.outputs
    ]
    assert [op.op for op in in_worker.model.subgraphs[0].operators] == [op.op for op in in_process.model.subgraphs[0].operators]


def test_native_work_on_untrusted_input_runs_in_the_worker():
    import ctypes
    import os

    assert POOL.call(os.getpid) != os.getpid()
    with pytest.raises(tj.WorkerDied, match="SIGSEGV"):
        POOL.call(ctypes.string_at, 0)  # what a hostile .tflite can do to the interpreter
    assert POOL.call(os.path.join, "a", "b") == os.path.join("a", "b")
    with pytest.raises(TimeoutError):
        POOL.call(time.sleep, 30, timeout=1)


def test_cached_models_live_on_disk_not_in_the_kernel(fresh_model):
    first = tj.convert(fresh_model, quantize="float16")
    (output, size), = [entry for entry in RESULTS._entries.values() if entry[1] == first.size_bytes][:1]
    assert output.tflite_model == b"" and size == first.size_bytes  # only the small rest stays in memory
    folder = RESULTS._folder
    assert any(os.path.getsize(os.path.join(folder, f)) == first.size_bytes for f in os.listdir(folder))
    started = time.perf_counter()
    again = tj.convert(fresh_model, quantize="float16")
    assert time.perf_counter() - started < 0.1
    assert again.tflite_model == first.tflite_model


def test_a_model_with_dict_inputs_converts_as_tensorflow_does_and_tries_its_export_once(keras, monkeypatch):
    """from_keras_model's export fails for dict inputs (TensorFlow then traces the live model):
    the conversion runs in the kernel with a note, and the failing export is not tried again."""
    from tfl_jupyter.core.prepare import prepare_keras
    from tfl_jupyter.core.worker import portable

    exports = []
    monkeypatch.setattr(portable, "prepare_keras", lambda *args: exports.append(args) or prepare_keras(*args))
    pixels = keras.Input((6,), name="pixels")
    meta = keras.Input((2,), name="meta")
    merged = keras.layers.Concatenate()([keras.layers.Dense(4)(pixels), meta])
    model = keras.Model({"pixels": pixels, "meta": meta}, keras.layers.Dense(3)(merged))
    rng = np.random.default_rng(0)
    data = {"pixels": rng.normal(size=(16, 6)).astype(np.float32), "meta": rng.normal(size=(16, 2)).astype(np.float32)}
    floating = tj.convert(model)
    assert sorted(t.name.split(":")[0].split("_")[-1] for t in floating.inputs) == ["meta", "pixels"]
    assert floating.compare(data, progress=False).summary["max_abs_error"].max() < 1e-5
    quantized = tj.convert(model, quantize="int8", representative_dataset=data)
    assert quantized.calibration_samples == 16
    assert quantized.compare(data, progress=False).summary["cosine_similarity"].min() > 0.99
    for result in (floating, quantized):
        assert any("converted in the kernel's process: from_keras_model's export failed" in n for n in result.notes)
    assert len(exports) == 1


def test_without_worker_processes_conversions_run_here_with_one_warning(fresh_model, monkeypatch):
    """Windows has no worker processes (pass_fds, process groups): the kernel converts, and says so once."""
    from tfl_jupyter.core import convert as convert_module
    from tfl_jupyter.core.worker.pool import WorkerPool

    monkeypatch.setattr(WorkerPool, "available", property(lambda self: False))
    monkeypatch.setattr(convert_module, "_WARNED", [])
    with pytest.warns(RuntimeWarning, match="kernel's own process on this platform"):
        result = tj.convert(fresh_model, quantize="dynamic")
    assert result.entry_point == "from_keras_model"  # in-process: straight from the Keras model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tj.convert(fresh_model, quantize="float16")
    with pytest.raises(ValueError, match="timeout needs the worker"):
        tj.convert(fresh_model, timeout=5)
    assert POOL.call(os.getpid) == os.getpid()


def test_a_sequential_model_converts_through_the_worker(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    result = tj.convert(model)
    assert [tuple(t.shape_signature) for t in result.inputs] == [(-1, 4)]
