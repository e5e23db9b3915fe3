"""``tj.sweep``: one row per quantization mode, from real conversions of tiny models."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.compare import lanes, sweeps

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
    assert any("exported to a SavedModel once" in note for note in table.notes)
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


def test_results_are_conversion_results_of_the_export(three_modes):
    int8 = three_modes.results["int8"]
    assert int8.settings.quantize == "int8" and int8.source.kind == "saved_model"
    assert int8.size_bytes == three_modes.loc["int8", "size_bytes"]


def test_results_stay_usable_and_the_export_goes_with_them(tiny_model, calib):
    table = tj.sweep(tiny_model, ["int8"], representative_dataset=calib, parallel=False, progress=False)
    result = table.results["int8"]
    export = os.path.dirname(result.source.path)
    assert os.path.isdir(export)
    assert result.compare(n=4, progress=False).n_samples == 4  # the reference loads the export
    del table, result
    gc.collect()
    assert not os.path.exists(export)


def test_display_has_the_table_and_a_plot_beside_it(three_modes):
    html = three_modes._repr_html_()
    assert "display:flex" in html and "data:image/png;base64," in html and "sqnr_db" in html
    assert "exported to a SavedModel once" in html
    assert len(three_modes.figure.axes) == 2
    assert type(three_modes[["size_bytes"]]).__name__ == "DataFrame"  # slices are plain frames


def test_all_six_modes_in_two_child_processes(tiny_model, calib):
    table = tj.sweep(tiny_model, representative_dataset=calib, samples=calib[:8], parallel=True, progress=False)
    assert list(table.index) == ["float", "dynamic", "float16", "int8", "int8-full", "int16x8"]
    assert table["error"].isna().all(), table["error"].to_dict()
    assert set(table.results) == set(table.index)
    assert table.results["int8-full"].inputs[0].dtype == "int8"
    assert table.results["int16x8"].settings.quantize == "int16x8"
    assert any("child processes" in note for note in table.notes)
    assert any("your samples: 8 samples" in note for note in table.notes)
    assert (table["sqnr_db"] > 15).all()
    # the child processes convert exactly as tj.convert does here
    export = table.results["int8"].source.path
    for mode in ("float", "int8"):
        here = tj.convert(export, quantize=None if mode == "float" else mode, representative_dataset={"features": calib})
        assert [op.op for op in here.model.subgraphs[0].operators] == [op.op for op in table.results[mode].model.subgraphs[0].operators]
        assert abs(here.size_bytes - table.loc[mode, "size_bytes"]) <= 64, mode
    # the two conversion processes stay warm for the next sweep
    children = [child.pid for child in lanes._WARM.children]
    again = tj.sweep(tiny_model, ["float", "dynamic"], n=4, parallel=True, progress=False)
    assert again["error"].isna().all()
    assert [child.pid for child in lanes._WARM.children] == children


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

    def interrupted(state, outcome, *args):  # as if Ctrl-C arrived while int8 was being measured
        if outcome.mode == "int8":
            raise KeyboardInterrupt
        measure(state, outcome, *args)

    monkeypatch.setattr(sweeps, "_measure_error", interrupted)
    with pytest.warns(UserWarning, match="interrupted"):
        table = tj.sweep(tiny_model, ["float", "dynamic", "int8"], representative_dataset=calib, parallel=False, progress=False)
    assert list(table.index) == ["float", "dynamic"]
    assert "interrupted: int8 not finished" in table.notes
