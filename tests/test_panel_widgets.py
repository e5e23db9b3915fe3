"""The conversion panel's logic, without a browser.

Panels are built in this process, inside a real IPython shell (so notebook variables come
from ``get_ipython().user_ns`` and cell runs fire the panel's re-check), and driven the way
the front-end drives them: widget values are set, buttons are clicked, and the test waits for
the background thread before looking at what the widgets show. Conversions are real, through
the real worker process. The tutorial notebook runs in a real kernel at the end.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient import NotebookClient
from traitlets import default

import tfl_jupyter as tj
from tfl_jupyter.core.result import ConversionResult

WAIT_S = 240  # generous: the machine may be busy, and the first conversion starts the worker
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_tuning_quantization.ipynb"


def slow_samples(calib, delay=0.25):
    """A generator function that feeds ``calib`` one sample every ``delay`` seconds."""

    def slow():
        for row in calib:
            time.sleep(delay)
            yield [row[None]]

    return slow


@pytest.fixture(scope="module")
def shell(ipython, tiny_model, calib, string_function):
    """The real IPython shell, holding the test models and datasets under ``pm_*`` names."""
    ip = ipython
    names = dict(
        pm_model=tiny_model, pm_calib=calib, pm_slow=slow_samples(calib), pm_text=string_function,
        pm_empty=np.empty((0, 8), np.float32), pm_wrong=np.zeros((4, 5), np.float32),
        pm_bad_gen=lambda: iter([[np.zeros((1, 5), np.float32)]]), pm_not_a_model="hello", pm_number=3,
    )
    ip.user_ns.update(names)
    yield ip
    for name in list(names) + ["pm_other", "pm_make"]:
        ip.user_ns.pop(name, None)


@pytest.fixture
def make_panel(shell):
    """``make_panel(source, **defaults)``; every panel made is closed after the test."""
    made = []

    def make(source="pm_model", **defaults):
        defaults.setdefault("measure", False)
        panel = tj.panel(source, **defaults)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()
        panel.wait(WAIT_S)


def finish(panel):
    """Wait for the panel's background work; the entry it added."""
    entry = panel.wait(WAIT_S)
    assert not panel.busy, "the panel's work did not finish in time"
    return entry


def plain(widget) -> str:
    """The text of an HTML widget's value, entities decoded."""
    return html.unescape(widget.value)


def wait_until(condition, timeout=WAIT_S, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_import_stays_light_and_panel_is_public():
    code = "import sys, tfl_jupyter as tj; assert 'panel' in tj.__all__; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert tj.panel.__module__ == "tfl_jupyter.widgets.panel"


def test_form_offers_the_notebooks_models_and_datasets(make_panel, shell, tiny_model):
    panel = make_panel(tiny_model)  # an object: found back under its variable name
    form = panel.form
    assert shell.user_ns[form.source.value] is tiny_model  # "pm_model", or another name for it
    assert {"pm_model", "pm_text"} <= set(form.source.options)
    assert "pm_calib" not in form.source.options and "pm_not_a_model" not in form.source.options
    assert {"pm_calib", "pm_slow", "pm_empty", "pm_wrong"} <= set(form.dataset.options)
    assert "pm_number" not in form.dataset.options and "pm_model" not in form.dataset.options
    assert "Keras model 'tiny'" in plain(form.source_info)
    shell.user_ns["pm_other"] = np.ones((3, 8), np.float32)
    shell.run_cell("pass")  # a cell run makes the panel look again
    assert "pm_other" in form.dataset.options


def test_paths_work_as_sources(make_panel, saved_model_dir, keras_files):
    from tfl_jupyter.widgets.panel.namespace import model_paths

    assert model_paths(str(saved_model_dir.parent)) == ["scaler"]
    assert {"tiny.keras", "tiny.h5"} <= set(model_paths(str(keras_files[".keras"].parent)))
    panel = make_panel(str(keras_files[".keras"]))
    assert panel.check().ok and ".keras file" in plain(panel.form.source_info)
    panel.set(source=str(saved_model_dir), signature_keys="shifted")
    assert "SavedModel directory" in plain(panel.form.source_info)
    panel.convert()
    entry = finish(panel)
    assert entry.status == "ok" and entry.settings["signature_keys"] == ["shifted"]
    assert "from_saved_model" in panel.tabs.code.html.value and "shifted" in panel.tabs.code.html.value
    panel.set(source=str(saved_model_dir.parent / "nowhere"))
    assert "neither a notebook variable nor an existing path" in panel.check().error


def test_conflicts_show_before_convert_with_the_reason(make_panel):
    panel = make_panel()
    form, actions = panel.form, panel.actions
    form.quantize.value = "int8"  # as the front-end does; the check is debounced
    wait_until(lambda: "Cannot convert" in actions.check.value, 5, "the debounced check")
    assert "needs a representative dataset" in actions.check.value
    assert actions.convert.disabled
    assert "tfl-conflict" in form.rows["dataset"]._dom_classes
    assert panel.convert() is False and len(panel.history) == 0

    form.dataset.value = "pm_calib"
    wait_until(lambda: "Ready to convert" in actions.check.value, 5, "the conflict to clear")
    assert not actions.convert.disabled
    assert "tfl-conflict" not in form.rows["dataset"]._dom_classes

    form.inference_input_type.value = "int16"
    request = panel.check()
    assert "int16 I/O needs the int16x8 mode" in request.error
    assert "tfl-conflict" in form.rows["io"]._dom_classes


def test_integer_io_without_a_dataset_is_a_note_not_a_conflict(make_panel):
    # the converter decides: a quantization-aware model takes int8 I/O from its fake-quant ranges
    panel = make_panel()
    form = panel.form
    form.quantize.value = "dynamic"
    form.inference_input_type.value = "int8"
    request = panel.check()
    assert request.ok, request.error
    assert any("fake-quant ops must give the ranges" in note for note in request.notes)
    assert "tfl-conflict" not in form.rows["io"]._dom_classes
    form.supported_ops["TFLITE_BUILTINS_INT8"].value = True  # refused by TensorFlow whatever the model
    request = panel.check()
    assert "needs a representative dataset" in request.error and "tfl-conflict" in form.rows["dataset"]._dom_classes


def test_a_preset_fills_the_fields_and_keeps_the_users_own(make_panel):
    panel = make_panel()
    form = panel.form
    form.quantize.value = "int8-full"
    assert form.supported_ops["TFLITE_BUILTINS_INT8"].value and not form.supported_ops["TFLITE_BUILTINS"].value
    assert form.inference_input_type.value == form.inference_output_type.value == "int8"
    form.quantize.value = "none"
    form.supported_ops["SELECT_TF_OPS"].value = True  # the user's own choice
    form.quantize.value = "dynamic"
    assert form.supported_ops["SELECT_TF_OPS"].value and form.supported_ops["TFLITE_BUILTINS"].value
    assert form.optimizations["DEFAULT"].value
    request = panel.check()
    assert request.kwargs["supported_ops"] == ["TFLITE_BUILTINS", "SELECT_TF_OPS"]
    assert request.kwargs["optimizations"] is None  # as the preset sets it: left to the preset


def test_convert_runs_in_the_background_and_fills_every_tab(make_panel):
    panel = make_panel(quantize="int8-full", representative_dataset="pm_calib", measure=True, measure_samples=16)
    panel.actions.convert.click()
    assert panel.busy and panel.result is None  # the click returned while converting
    assert panel.actions.convert.disabled and not panel.actions.cancel.disabled
    entry = finish(panel)

    assert entry.status == "ok" and len(panel.history) == 1
    result = panel.result
    assert isinstance(result, ConversionResult) and result.inputs[0].dtype == "int8"
    assert "Converted #1" in panel.actions.status.value
    assert not panel.actions.convert.disabled and panel.actions.cancel.disabled
    tabs = panel.tabs
    assert tabs.widget.selected_index == 0
    summary = tabs.summary.html.value
    assert f"{result.size_bytes:,} bytes" in summary and "int8-full" in summary
    assert "zero point" in summary  # int8 I/O shows its quantization
    assert "XNNPACK: 1 partition" in summary  # as .op_summary's caption and the graph's overlays
    assert "FULLY_CONNECTED" in tabs.ops.html.value
    tabs.ops.mode.value = "Every operator"
    assert tabs.ops.html.value.count("FULLY_CONNECTED") == 2
    assert "tf.lite.TFLiteConverter.from_keras_model(pm_model)" in tabs.code.html.value
    assert "tf.lite.OpsSet.TFLITE_BUILTINS_INT8" in tabs.code.html.value
    assert "sqnr_db" in tabs.compare.html.value and bytes(tabs.compare.plot.value).startswith(b"\x89PNG")
    assert "SQNR" in entry.metric_text
    tabs.select("Graph")
    assert tabs.graph.viewer is not None and bytes(tabs.graph.viewer.model_bytes) == result.tflite_model


def test_pressing_convert_twice_runs_one_conversion(make_panel):
    panel = make_panel(quantize="dynamic")
    panel.actions.convert.click()
    panel.actions.convert.click()
    assert "already running" in panel.actions.status.value
    finish(panel)
    assert [e.status for e in panel.history] == ["ok"]


def test_cancel_stops_calibration_and_keeps_earlier_results(make_panel, shell):
    panel = make_panel(quantize="dynamic")
    panel.convert()
    first = finish(panel)
    panel.set(quantize="int8", representative_dataset="pm_slow")
    panel.convert()
    wait_until(lambda: panel.task.samples >= 2, what="calibration to start")
    wait_until(lambda: "Calibrating" in panel.actions.status.value, 5, "the progress text")
    panel.actions.cancel.click()
    cancelled = finish(panel)

    assert cancelled.status == "cancelled" and cancelled.result is None
    assert "Cancelled after" in panel.actions.status.value
    assert panel.result is first.result and [e.status for e in panel.history] == ["ok", "cancelled"]
    assert "Cancelled" in panel.tabs.summary.failure.html.value
    assert shell.run_cell("1 + 1").result == 2  # the kernel is usable
    panel.set(quantize="dynamic", representative_dataset="")
    panel.convert()
    assert finish(panel).status == "ok"  # and so is the worker, restarted


def test_failed_conversion_shows_blockers_and_a_one_click_fix(make_panel):
    panel = make_panel("pm_text")
    panel.convert()
    failed = finish(panel)
    assert failed.status == "failed"
    assert "tf.StringLength" in panel.tabs.summary.failure.html.value
    assert "tf.StringLength" in panel.tabs.ops.html.value
    buttons = panel.tabs.summary.failure.buttons.children
    assert [b.description for b in buttons] == ["Allow Select TF ops (Flex) and convert again"]
    buttons[0].click()
    fixed = finish(panel)
    assert panel.form.supported_ops["SELECT_TF_OPS"].value
    assert fixed.status == "ok" and fixed.settings["supported_ops"] == ["TFLITE_BUILTINS", "SELECT_TF_OPS"]
    assert "flex" in panel.tabs.ops.html.value
    assert [e.status for e in panel.history] == ["failed", "ok"]


def test_deleted_and_redefined_variables_are_noticed(make_panel, shell, keras):
    shell.user_ns["pm_other"] = shell.user_ns["pm_model"]
    panel = make_panel("pm_other", quantize="dynamic")
    panel.convert()
    first = finish(panel)
    shell.run_cell("del pm_other")
    wait_until(lambda: "not defined" in panel.actions.check.value, 5, "the deleted variable to show")
    assert "not defined" in panel.form.source_info.value and panel.actions.convert.disabled
    assert panel.convert() is False and len(panel.history) == 1 and panel.result is first.result

    inputs = keras.Input((8,), name="features")
    shell.user_ns["pm_other"] = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    shell.run_cell("pass")
    wait_until(lambda: "different object" in panel.actions.check.value, 5, "the redefinition to show")
    panel.convert()
    second = finish(panel)
    assert second.status == "ok" and second.result.outputs[0].shape_signature[-1] == 2


@pytest.mark.parametrize("dataset, words", [
    ("pm_empty", "calibration data is empty"),
    ("pm_calib[:0]", "calibration data is empty"),
    ("pm_wrong", "does not fit the model's (None, 8)"),
    ("pm_missing", "'pm_missing' is not defined"),
])
def test_bad_datasets_are_reported_before_converting(make_panel, dataset, words):
    panel = make_panel(quantize="int8", representative_dataset=dataset)
    assert words in plain(panel.actions.check)
    assert panel.actions.convert.disabled and panel.convert() is False


def test_expressions_that_call_code_run_only_when_converting(make_panel, shell):
    calls = []
    shell.user_ns["pm_make"] = lambda: calls.append(1) or shell.user_ns["pm_calib"]
    panel = make_panel(quantize="int8", representative_dataset="pm_make()")
    panel.form.quantize.value = "int8-full"
    request = panel.check()
    assert request.ok and calls == []
    assert "evaluated when you press Convert" in plain(panel.form.dataset_info)
    panel.convert()
    entry = finish(panel)
    assert calls == [1] and entry.status == "ok" and entry.result.dataset_name == "pm_make()"


def test_a_dataset_that_fails_while_converting_keeps_the_history(make_panel):
    panel = make_panel(quantize="dynamic")
    panel.convert()
    finish(panel)
    panel.set(quantize="int8", representative_dataset="pm_bad_gen")  # a generator: checked when it runs
    assert panel.check().ok
    panel.convert()
    failed = finish(panel)
    assert failed.status == "failed" and "does not fit" in failed.message
    assert "does not fit" in panel.actions.status.value
    assert [e.status for e in panel.history] == ["ok", "failed"] and panel.result is panel.history[0].result


def test_layers_tick_and_convert_again_in_float(make_panel):
    panel = make_panel(quantize="int8", representative_dataset="pm_calib", measure=True, measure_samples=16)
    panel.convert()
    base = finish(panel)
    panel.tabs.select("Layers")
    panel.tabs.layers.compute.click()
    finish(panel)
    layers = panel.tabs.layers
    assert base.layers is not None and len(layers.boxes) == min(len(base.layers), 60) > 0
    assert "quantized layers" in layers.html.value
    for box in layers.boxes:
        box.value = False
    layers.boxes[0].value = True
    kept = layers.ticked()
    assert kept == [base.layers["tensor"].iloc[0]]
    layers.requantize.click()
    new = finish(panel)
    assert new.status == "ok" and new.parent == base.number and new.result is panel.result
    assert "kept in float: 1 tensor(s)" in new.result.notes[-1] and kept[0] in new.result.notes[-1]
    assert panel.tabs.widget.selected_index == 0 and f"#{new.number}" in panel.tabs.summary.html.value


def test_graph_tab_shows_the_selected_op_and_keeps_ticked_nodes_in_float(make_panel):
    panel = make_panel(quantize="int8", representative_dataset="pm_calib", measure=True, measure_samples=16)
    panel.convert()
    finish(panel)
    panel.tabs.select("Layers")
    panel.tabs.layers.compute.click()
    base = finish(panel)
    for box in panel.tabs.layers.boxes:
        box.value = False
    panel.tabs.select("Graph")
    graph = panel.tabs.graph
    assert graph.viewer.overlay == "error" and "error" in graph.viewer.overlays
    error = base.result.overlay_table("error", base.layers)
    picked = error[error["value"].notna()].head(2)
    for row in picked.itertuples():
        # what the front-end sends when a node is clicked
        graph.viewer.selected = {"subgraph": row.subgraph, "index": row.index, "op": row.op, "tensor": row.tensor}
        assert row.op in graph.detail.value and "rmse_over_scale" in graph.detail.value
        assert graph.keep_box.layout.display is None and not graph.keep_box.value
        graph.keep_box.value = True
    assert sorted(panel.tabs.layers.ticked()) == sorted(picked["tensor"])
    assert sorted(graph.viewer.marked) == sorted([[0, int(i)] for i in picked["index"]])
    panel.tabs.layers.requantize.click()
    new = finish(panel)
    assert new.status == "ok" and new.parent == base.number
    assert "kept in float: 2 tensor(s)" in new.result.notes[-1]
    assert all(tensor in new.result.notes[-1] for tensor in picked["tensor"])


def test_layers_of_a_float_model_say_why_not(make_panel):
    panel = make_panel(quantize="dynamic", measure=True, measure_samples=8)
    panel.convert()
    finish(panel)
    panel.compute_layers()
    entry = finish(panel)
    assert entry.layers is None and "int8" in entry.layers_error
    assert "int8" in panel.tabs.layers.html.value and not panel.tabs.layers.boxes


def test_history_compares_two_and_saves_any(make_panel, tmp_path):
    panel = make_panel()
    panel.convert()
    finish(panel)
    panel.set(quantize="float16")
    panel.convert()
    finish(panel)
    view = panel.history_view
    assert "float16" in view.table.value and view.table.value.index("float16") < view.table.value.index("none")
    view.first.value, view.second.value = 1, 2
    view.compare_button.click()
    assert "#1 vs #2" in view.output.value and "supported_types" in view.output.value
    frame = panel.history.compare(1, 2)
    assert frame.loc["quantize"].tolist() == ["none", "float16"]
    assert frame.loc["size_bytes", "#2"] < frame.loc["size_bytes", "#1"]

    view.pick.value = 1
    view.path.value = str(tmp_path / "first.tflite")
    view.save_button.click()
    assert "Saved #1" in view.output.value
    assert (tmp_path / "first.tflite").read_bytes() == panel.history[0].result.tflite_model
    view.show_button.click()
    assert panel.shown.number == 1 and "Conversion #1" in panel.tabs.summary.html.value


def test_closing_mid_conversion_cancels_and_keeps_the_history(make_panel, shell):
    panel = make_panel(quantize="dynamic")
    panel.convert()
    finish(panel)
    panel.set(quantize="int8", representative_dataset="pm_slow")
    panel.convert()
    wait_until(lambda: panel.task.samples >= 1, what="calibration to start")
    panel.close()
    assert "closed and its running conversion was cancelled" in panel.widget.children[1].value
    entry = finish(panel)
    assert entry.status == "cancelled" and len(panel.history) == 2 and panel.result is panel.history[0].result
    with pytest.raises(RuntimeError, match="closed"):
        panel.convert()
    assert tj.convert(shell.user_ns["pm_model"], quantize="dynamic").size_bytes > 0


def test_panel_takes_what_the_magic_passes(make_panel, shell, calib):
    panel = make_panel(shell.user_ns["pm_model"], source_name="pm_model", quantize="INT8",
                       representative_dataset=calib[:16], dataset_name="pm_calib[:16]",
                       supported_ops=["TFLITE_BUILTINS"], inference_output_type="int8", timeout=60.0,
                       _experimental_disable_per_channel=True)
    form = panel.form
    assert form.source.value == "pm_model" and form.dataset.value == "pm_calib[:16]"
    assert form.quantize.value == "int8" and form.inference_output_type.value == "int8"
    assert form.timeout.value == "60" and "_experimental_disable_per_channel=True" in form.attrs.value
    request = panel.check()
    assert request.ok, request.error
    assert request.kwargs["_experimental_disable_per_channel"] is True and request.kwargs["timeout"] == 60.0
    with pytest.raises(TypeError, match="cell body"):
        tj.panel("pm_model", customize=lambda converter: None)


class ThisInterpreterKernelSpecs(KernelSpecManager):
    """Every kernel name is ipykernel on this interpreter, whatever kernelspecs are installed."""

    def get_kernel_spec(self, kernel_name):
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


class ThisInterpreterKernelManager(AsyncKernelManager):
    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self):
        return ThisInterpreterKernelSpecs(data_dir=self.data_dir)


def test_tutorial_notebook_drives_the_panel_in_a_real_kernel(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, startup_timeout=120, kernel_name="python3",
                            kernel_manager_class=ThisInterpreterKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["TMPDIR"] = str(tmp_path)
    client.execute(env=env)

    outputs = {cell.source.splitlines()[0]: cell.outputs for cell in nb.cells if cell.cell_type == "code"}

    def text(first_line):
        return "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs[first_line])

    shown = outputs["panel = tj.panel(model, representative_dataset=calib)"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown)
    assert "int16 I/O needs the int16x8 mode" in text('panel.set(quantize="int8-full", inference_input_type="int16")')
    assert "int8[-1, 32, 32, 3]" in text('panel.set(inference_input_type="int8")')
    table = text('for mode in ["dynamic", "float16", "int8"]:')
    assert all(mode in table for mode in ("dynamic", "float16", "int8")), table
    assert "SOFTMAX" in text("panel.compute_layers()")
    tuned = text('softmax = list(layers.loc[layers["op"] == "SOFTMAX", "tensor"])')
    assert "kept in float: 1 tensor(s)" in tuned and "top-1 100%" in tuned, tuned
    assert "tuned.tflite:" in text("import pathlib")
    assert "calibration data is empty" in text('panel.set(quantize="int8", representative_dataset="calib[:0]")')
    assert "5 conversions kept" in text("panel.close()")


def test_labels_field_measures_accuracy_and_the_history_shows_it(make_panel, shell, calib):
    shell.user_ns["pm_labels"] = np.arange(len(calib)) % 3
    panel = make_panel(quantize="int8", representative_dataset="pm_calib", measure=True, measure_samples=len(calib),
                       compare_samples="pm_calib", labels="pm_labels")
    panel.actions.convert.click()
    entry = finish(panel)
    assert entry.status == "ok", entry.message
    expected = entry.comparison.task_metrics.loc["converted", "accuracy"]
    assert expected == np.mean(entry.comparison.outputs["output_0"].argmax(axis=1) == shell.user_ns["pm_labels"])
    assert entry.metrics["accuracy"] == expected and f"accuracy {expected:.1%}" in entry.metric_text
    assert "tfl-task" in panel.tabs.compare.html.value and "only 32 calibration samples" in plain(panel.tabs.compare.html)
    panel.form.labels.value = "pm_no_such_labels"
    wait_until(lambda: "Cannot convert" in panel.actions.check.value, 5, "the debounced check")
    assert "labels 'pm_no_such_labels' is not defined in the notebook" in plain(panel.actions.check)
    assert "tfl-conflict" in panel.form.rows["measure"]._dom_classes
    shell.user_ns.pop("pm_labels", None)


def test_a_dynamic_batch_failure_offers_to_fix_the_batch_size(make_panel, shell, keras):
    inputs = keras.Input((6, 3), name="seq")
    shell.user_ns["pm_gru"] = keras.Model(inputs, keras.layers.GRU(4, return_sequences=True)(inputs))
    try:
        panel = make_panel("pm_gru")
        assert "input_shapes" in panel.form.rows and panel.form.batch_size.value == ""
        panel.convert()
        assert finish(panel).status == "failed"
        buttons = panel.tabs.summary.failure.buttons.children
        assert buttons[0].description == "Fix the batch size and convert again"  # before the Flex fix
        buttons[0].click()
        fixed = finish(panel)
        assert panel.form.batch_size.value == "1"
        assert fixed.status == "ok" and fixed.settings["batch_size"] == 1
        assert list(panel.result.inputs[0].shape_signature) == [1, 6, 3]
        panel.form.input_shapes.value = "seq=1,x,3"
        assert "integers" in panel.check().error
    finally:
        shell.user_ns.pop("pm_gru", None)


def test_the_quantizer_choice_converts_with_the_litert_quantizer_and_history_compares_both(make_panel):
    pytest.importorskip("litert_quantizer")
    panel = make_panel(quantize="int8", representative_dataset="pm_calib")
    panel.convert()
    finish(panel)
    panel.set(quantizer="litert")
    panel.convert()
    entry = finish(panel)
    assert entry.status == "ok", entry
    result = panel.result
    assert result.settings.quantizer == "litert" and result.recipe
    assert "litert_quantizer" in panel.tabs.code.html.value
    frame = panel.history.compare(1, 2)
    assert frame.loc["quantizer"].tolist() == ["converter", "litert"]
    panel.set(recipe="dynamic_wi4_afp32")
    panel.convert()
    assert finish(panel).status == "ok" and "int4" in set(panel.result.ops["input_types"].explode())
    panel.set(recipe="no_such_recipe")
    panel.convert()
    failed = finish(panel)
    assert failed.status != "ok" and "no_such_recipe" in panel.actions.status.value + str(failed.error)


def test_keep_in_float_works_on_a_litert_quantizer_result(make_panel):
    pytest.importorskip("litert_quantizer")
    panel = make_panel(quantize="int8", quantizer="litert", representative_dataset="pm_calib", measure=True,
                       measure_samples=16)
    panel.convert()
    base = finish(panel)
    assert base.status == "ok" and base.result.settings.quantizer == "litert"
    panel.compute_layers()
    finish(panel)
    layers = panel.tabs.layers
    assert base.layers is not None and len(layers.boxes) == min(len(base.layers), 60) > 0
    for box in layers.boxes:
        box.value = False
    layers.boxes[0].value = True
    kept = layers.ticked()
    layers.requantize.click()
    new = finish(panel)
    assert new.status == "ok" and new.parent == base.number
    assert new.result.denylisted_nodes == tuple(kept) and "no_quantize" in new.result.recipe
