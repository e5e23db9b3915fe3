"""A failed ``%tflite_convert`` stops "Run All" in a real JupyterLab, as any failing cell does.

One notebook, run with Run > Run All Cells: a failing conversion tagged ``raises-exception``
(Run All goes on past it), then an untagged one (Run All stops there, so the cell after
it never runs in the kernel).
"""

from __future__ import annotations

from lab_driver import LabNotebook, write_notebook

SETUP_CELL = """\
%load_ext tfl_jupyter
import tensorflow as tf

@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
def text_length(text):
    return tf.strings.length(text)
"""
# --in_process: no worker process to start, so the test stays quick; the magic fails the same way.
FAILING_CELL = "%tflite_convert text_length --in_process"
CELLS = [
    SETUP_CELL,
    FAILING_CELL,  # tagged raises-exception
    "print('after the tagged failure')",
    FAILING_CELL,
    "marker = 'set'\nprint('marker', marker)",
    "print('marker set:', 'marker' in globals())",  # the probe, run on its own afterwards
]
RUN_ALL_TIMEOUT_S = 240  # the kernel imports TensorFlow; the machine may be busy


def test_run_all_stops_at_a_failed_conversion_unless_tagged(jupyter_lab, lab_context, artifacts):
    write_notebook(jupyter_lab.root / "failing_cells.ipynb", CELLS, tags={1: ["raises-exception"]})
    nb = LabNotebook(lab_context.context.new_page(), jupyter_lab, "failing_cells.ipynb").open()

    nb.run_all_from_menu()
    nb.wait_until_replied(3, timeout_s=RUN_ALL_TIMEOUT_S)
    nb.run_cell(5)  # the kernel deals with cell 4 (queued by Run All) before this one
    nb.page.screenshot(path=str(artifacts / "failing_cells_run_all.png"), full_page=True)

    assert nb.output(5).inner_text().strip() == "marker set: False"
    assert nb.cell_state(4) == {"execution_count": None, "outputs": []}

    for index in (1, 3):  # the table, then one line that failed the cell
        outputs = nb.cell_state(index)["outputs"]
        assert [o["output_type"] for o in outputs] == ["display_data", "stream"], outputs
        assert "tf.StringLength" in outputs[0]["data"]["text/html"]
        assert outputs[1]["name"] == "stderr" and outputs[1]["text"].count("\n") == 1, outputs[1]
        assert outputs[1]["text"].startswith("UsageError: conversion failed: ")
    assert nb.output(2).inner_text().strip() == "after the tagged failure"
