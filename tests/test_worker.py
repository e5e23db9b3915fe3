"""The worker process: crashes, timeouts, cancellation, caching and recycling, for real."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.datasets import DatasetError
from tfl_jupyter.core.worker import client
from tfl_jupyter.core.worker.client import WORKER
from tfl_jupyter.core.worker.portable import EXPORTS
from tfl_jupyter.core.worker.run import RESULTS


@pytest.fixture
def fresh_model(keras):
    """A model of its own, so cache hits from other tests cannot interfere."""
    inputs = keras.Input((8,), name="features")
    return keras.Model(inputs, keras.layers.Dense(4)(inputs))


@pytest.mark.parametrize("fault, cause", [("segfault", "killed by SIGSEGV"), ("abort", "killed by SIGABRT"), ("exit", "exit code 3")])
def test_a_dying_worker_costs_nothing_but_the_conversion(fresh_model, fault, cause):
    precious = np.arange(10)
    client.FAULT_INJECTION = fault
    with pytest.raises(tj.WorkerDied, match=f"worker died \\({cause}.*kernel and its variables are fine") as caught:
        tj.convert(fresh_model, quantize="dynamic")
    assert isinstance(caught.value, tj.ConversionError)
    assert precious.sum() == 45
    result = tj.convert(fresh_model, quantize="float16")  # a fresh worker takes over
    assert result.size_bytes > 0


def test_segfault_output_is_kept_for_diagnosis(fresh_model):
    client.FAULT_INJECTION = "segfault"
    with pytest.raises(tj.WorkerDied) as caught:
        tj.convert(fresh_model, quantize="dynamic")
    assert "Segmentation fault" in caught.value.log  # faulthandler's report from the worker


def test_timeout_stops_the_work_promptly(fresh_model):
    client.FAULT_INJECTION = "hang"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout=2 s"):
        tj.convert(fresh_model, timeout=2)
    assert time.monotonic() - started < 15
    assert tj.convert(fresh_model, quantize="dynamic").size_bytes > 0


def test_cancel_from_another_thread(fresh_model):
    client.FAULT_INJECTION = "hang"
    threading.Timer(2.0, WORKER.cancel).start()
    with pytest.raises(tj.ConversionCancelled, match="interrupted"):
        tj.convert(fresh_model)
    assert tj.convert(fresh_model, quantize="dynamic").size_bytes > 0


def test_the_worker_is_warm_and_reused(fresh_model, tiny_model):
    tj.convert(fresh_model)
    pid = WORKER.pid
    tj.convert(tiny_model, quantize="float16")
    assert WORKER.pid == pid is not None


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
    pid = WORKER.pid
    monkeypatch.setattr(client, "RECYCLE_GROWTH_BYTES", 1)
    tj.convert(fresh_model, quantize="float16")
    assert WORKER.pid is None  # retired after the job
    monkeypatch.setattr(client, "RECYCLE_GROWTH_BYTES", 1 << 40)
    tj.convert(fresh_model, quantize="dynamic")
    assert WORKER.pid not in (None, pid)


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

    assert WORKER.call(os.getpid) != os.getpid()
    with pytest.raises(tj.WorkerDied, match="SIGSEGV"):
        WORKER.call(ctypes.string_at, 0)  # what a hostile .tflite can do to the interpreter
    assert WORKER.call(os.path.join, "a", "b") == os.path.join("a", "b")
