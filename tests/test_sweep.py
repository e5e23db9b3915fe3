"""``tj.sweep``: one row per quantization mode, from real conversions of tiny models."""

from __future__ import annotations


import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core import sweep as sweeps
from tfl_jupyter.core.worker.conversions import RESULTS
from tfl_jupyter.core.worker.pool import POOL

METRICS = ["max_abs_error", "mean_abs_error", "rmse", "cosine_similarity", "sqnr_db", "top1_agreement"]


@pytest.fixture(scope="module")
def three_modes(tiny_model, calib):
    return tj.sweep(tiny_model, ["float", "dynamic", "int8"], representative_dataset=calib, parallel=False, progress=False)


def test_one_row_per_mode_with_size_latency_error_and_op_counts(three_modes, calib):
    table = three_modes
    assert list(table.index) == ["float", "dynamic", "int8"]
    latency = [c for c in table.columns if c.startswith("latency_ms")]
    assert latency == [latency[0]] and "median of 5, batch 1" in latency[0]
    assert (table[latency[0]] > 0).all()
    assert {"size_bytes", "size_vs_float", *METRICS, "ops", "float_ops", "flex_ops", "convert_s", "error"} <= set(table.columns)
    assert table["error"].isna().all()
    assert table.loc["float", "size_vs_float"] == 1.0
    assert table.loc["dynamic", "size_bytes"] < 0.8 * table.loc["float", "size_bytes"]  # int8 weights
    assert table.loc["float", "float_ops"] == table.loc["float", "ops"]
    assert table.loc["int8", "float_ops"] == 0 and (table["flex_ops"] == 0).all()
    assert table.loc["float", "sqnr_db"] > 80 > table.loc["int8", "sqnr_db"]
    assert any("prepared for the converter once" in note for note in table.notes)
    assert any("error is measured on calibration samples" in note for note in table.notes)


def test_error_columns_match_a_hand_run_of_each_model(three_modes, tiny_model, calib):
    from ai_edge_litert.interpreter import Interpreter

    reference = tiny_model.predict(calib, verbose=0).astype(np.float64)
    for mode, result in three_modes.results.items():
        interpreter = Interpreter(model_content=result.tflite_model)
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        interpreter.resize_tensor_input(inp["index"], calib.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], calib)
        interpreter.invoke()
        error = interpreter.get_tensor(out["index"]).astype(np.float64) - reference
        assert three_modes.loc[mode, "rmse"] == pytest.approx(np.sqrt(np.mean(error ** 2)), rel=1e-4, abs=1e-9), mode
        assert three_modes.loc[mode, "max_abs_error"] == pytest.approx(np.abs(error).max(), rel=1e-4, abs=1e-9), mode


def test_results_are_conversion_results_of_the_source(three_modes, tiny_model):
    int8 = three_modes.results["int8"]
    assert int8.settings.quantize == "int8" and int8.source.kind == "keras" and int8.source.obj is tiny_model
    assert int8.size_bytes == three_modes.loc["int8", "size_bytes"]
    assert int8.compare(n=4, progress=False).n_samples == 4


def test_display_has_the_table_and_a_plot_beside_it(three_modes):
    html = three_modes._repr_html_()
    assert "display:flex" in html and "data:image/png;base64," in html and "sqnr_db" in html
    assert "prepared for the converter once" in html
    assert len(three_modes.figure.axes) == 2
    assert type(three_modes[["size_bytes"]]).__name__ == "DataFrame"  # slices are plain frames


def test_all_six_modes_in_the_worker_pool(tiny_model, calib):
    table = tj.sweep(tiny_model, representative_dataset=calib, samples=calib[:8], parallel=True, progress=False)
    assert list(table.index) == ["float", "dynamic", "float16", "int8", "int8-full", "int16x8"]
    assert table["error"].isna().all(), table["error"].to_dict()
    assert set(table.results) == set(table.index)
    assert table.results["int8-full"].inputs[0].dtype == "int8"
    assert table.results["int16x8"].settings.quantize == "int16x8"
    assert any("modes at a time in worker processes" in note for note in table.notes)
    assert any("your samples: 8 samples" in note for note in table.notes)
    assert (table["sqnr_db"] > 15).all()
    # each mode converted exactly as tj.convert does
    for mode in ("float", "int8"):
        here = tj.convert(tiny_model, quantize=None if mode == "float" else mode, representative_dataset=calib)
        assert [op.op for op in here.model.subgraphs[0].operators] == [op.op for op in table.results[mode].model.subgraphs[0].operators]
        assert abs(here.size_bytes - table.loc[mode, "size_bytes"]) <= 64, mode
    # the pool's processes stay warm for the next sweep
    pids = POOL.pids
    assert len(pids) == 2
    again = tj.sweep(tiny_model, ["float", "dynamic"], n=4, parallel=True, progress=False)
    assert again["error"].isna().all()
    assert sorted(POOL.pids) == sorted(pids)


def test_a_worker_killed_mid_sweep_costs_one_row(tiny_model, calib, worker_fault):
    RESULTS.clear()  # every mode converts for real
    worker_fault("abort", nth=2)
    table = tj.sweep(tiny_model, ["float", "dynamic", "int8"], representative_dataset=calib, parallel=True, progress=False)
    failed = table["error"].dropna()
    assert len(failed) == 1 and failed.iloc[0].startswith("WorkerDied"), table["error"].to_dict()
    assert table["error"].isna().sum() == 2
    assert tj.convert(tiny_model, quantize="float16").size_bytes > 0  # and the next job works


def test_saved_model_directory_source(saved_model_dir):
    table = tj.sweep(str(saved_model_dir), ["float", "dynamic"], signature_keys=["serving_default"], n=8, progress=False)
    assert list(table.index) == ["float", "dynamic"]
    assert table.loc["float", "max_abs_error"] < 1e-6
    assert any("generated from the input signature" in note for note in table.notes)


def test_a_failing_conversion_is_a_row_not_an_exception(tf):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def digits(x):
        return tf.strings.length(tf.strings.as_string(x))  # string ops: no TFLite builtins

    table = tj.sweep(digits, ["float", "dynamic"], n=4, progress=False)
    assert list(table.index) == ["float", "dynamic"]
    assert table["error"].str.startswith("ConversionError").all(), table["error"].to_dict()
    assert table.results == {}


def test_modes_are_checked(tiny_model):
    with pytest.raises(ValueError, match="unknown mode 'int4'.*float, dynamic, float16, int8, int8-full, int16x8"):
        tj.sweep(tiny_model, ["float", "int4"])
    with pytest.raises(ValueError, match="no modes"):
        tj.sweep(tiny_model, [])


def test_an_interrupt_returns_the_rows_finished_so_far(tiny_model, calib, monkeypatch):
    measure = sweeps._measure_error

    def interrupted(state, name, *args):  # as if Ctrl-C arrived while int8 was being measured
        if name == "int8":
            raise KeyboardInterrupt
        measure(state, name, *args)

    monkeypatch.setattr(sweeps, "_measure_error", interrupted)
    with pytest.warns(UserWarning, match="interrupted"):
        table = tj.sweep(tiny_model, ["float", "dynamic", "int8"], representative_dataset=calib, parallel=False, progress=False)
    assert list(table.index) == ["float", "dynamic"]
    assert "interrupted: int8 not finished" in table.notes


def test_labels_add_task_columns_equal_to_each_models_own_compare(tiny_model, calib):
    labels = np.arange(len(calib)) % 3
    table = tj.sweep(tiny_model, ["float", "int8"], representative_dataset=calib, labels=labels, parallel=False, progress=False)
    columns = list(table.columns)
    assert columns.index("accuracy") < columns.index("max_abs_error")
    for mode, result in table.results.items():
        own = result.compare(calib, labels=labels, progress=False).task_metrics
        assert table.loc[mode, "accuracy"] == own.loc["converted", "accuracy"], mode
    reference = own.loc["reference", "accuracy"]
    assert any(note == f"TensorFlow reference: accuracy {reference:.2%}" for note in table.notes), table.notes
    assert table.figure.axes[0].get_title().startswith("size vs accuracy")
    assert "%" in table._repr_html_()


def test_labels_of_the_wrong_length_stop_the_sweep_before_converting(tiny_model, calib):
    with pytest.raises(ValueError, match="^labels has 5 entries but 32 samples were given: give exactly one label per sample$"):
        tj.sweep(tiny_model, ["float"], representative_dataset=calib, labels=np.zeros(5, int), progress=False)
