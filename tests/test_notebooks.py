"""Every tutorial in notebooks/ runs end to end in a real kernel, and shows what it promises.

Notebooks are executed with nbclient in a kernel on this interpreter (``sys.executable``),
from a temporary copy of the notebooks folder, once per test session.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from jupyter_client import AsyncKernelManager
from kernel_support import ThisInterpreterKernelSpecs, kernel_env
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(path.name for path in NOTEBOOKS_DIR.glob("*.ipynb"))
QUICKSTART = "01_quickstart.ipynb"
CELL_TIMEOUT_S = 300
STARTUP_TIMEOUT_S = 120

# What TensorFlow prints when nothing captures it: start-up chatter, absl/glog lines
# ("W0000 00:00:1795650323.756248 6594 file.cc:364] ..."), the converter's own prints.
TF_LOG_NOISE = [
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        r"oneDNN custom operations",
        r"absl::InitializeLog",
        r"^[IWEF]\d{4} \d\d:\d\d:\d\d",
        r"\w+\.cc:\d+\]",
        r"fully_quantize: \d",
        r"This TensorFlow binary is optimized",
        r"\w+Warning: ",
        r"^(INFO|WARNING|ERROR):tensorflow:",
    )
]


class ThisInterpreterKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, pinned to this interpreter whatever kernelspecs are installed."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self):
        return ThisInterpreterKernelSpecs(data_dir=self.data_dir)


def execute_notebook(nb, workdir: Path, temp_dir: Path):
    """Run every cell of ``nb`` in place (cwd ``workdir``); raise CellExecutionError on a cell error."""
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=ThisInterpreterKernelManager,
        timeout=CELL_TIMEOUT_S,
        startup_timeout=STARTUP_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
        shutdown_kernel="immediate",
    )
    client.execute(env=kernel_env(temp_dir))
    return nb


def output_text(output) -> str:
    """All the text of one cell output: stream text, text/plain, text/html, or the error."""
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    return "\n".join(str(data[mime]) for mime in ("text/plain", "text/html") if mime in data)


def cell_text(cell) -> str:
    return "\n".join(output_text(output) for output in cell.get("outputs", []))


def noise_in(text: str) -> list:
    """The TensorFlow log lines (or fragments) found in ``text``."""
    return [match.group(0) for pattern in TF_LOG_NOISE for match in pattern.finditer(text)]


def find_cell(nb, first_line: str):
    """The one code cell whose first source line is exactly ``first_line``."""
    matches = [c for c in nb.cells if c.cell_type == "code" and c.source.splitlines()[:1] == [first_line]]
    assert len(matches) == 1, f"expected one cell starting with {first_line!r}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def notebook_copy(tmp_path_factory):
    """A temporary copy of notebooks/, so that executing a notebook never writes into the repo."""
    workdir = tmp_path_factory.mktemp("notebooks")
    shutil.copytree(NOTEBOOKS_DIR, workdir, dirs_exist_ok=True)
    return workdir


@pytest.fixture(scope="module")
def kernel_temp_dir(tmp_path_factory):
    """The TMPDIR of the kernels these tests start."""
    return tmp_path_factory.mktemp("kernel-tmp")


@pytest.fixture(scope="module")
def run_notebook(notebook_copy, kernel_temp_dir):
    """``run_notebook(name)`` -> the executed notebook; each notebook runs once per module.

    A failed run is remembered too, so the tests that read its outputs fail at once.
    """
    outcomes = {}

    def run(name: str):
        if name not in outcomes:
            nb = nbformat.read(notebook_copy / name, as_version=4)
            try:
                outcomes[name] = execute_notebook(nb, notebook_copy, kernel_temp_dir)
            except Exception as error:
                outcomes[name] = error
        if isinstance(outcomes[name], Exception):
            raise outcomes[name]
        return outcomes[name]

    return run


@pytest.fixture(scope="module")
def quickstart(run_notebook):
    """The executed quickstart notebook."""
    return run_notebook(QUICKSTART)


def test_notebooks_folder_has_the_quickstart():
    assert QUICKSTART in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_clean(name):
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} were stored with outputs: clear them before committing"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_end_to_end_and_leaves_no_files(name, run_notebook, notebook_copy):
    nb = run_notebook(name)  # raises CellExecutionError, naming the cell, on any error
    original = {p.relative_to(NOTEBOOKS_DIR) for p in NOTEBOOKS_DIR.rglob("*")}
    after = {p.relative_to(notebook_copy) for p in notebook_copy.rglob("*")}
    assert after <= original, f"{name} left files next to itself: {sorted(after - original)}"
    executed = [c for c in nb.cells if c.cell_type == "code" and c.execution_count]
    assert len(executed) == sum(c.cell_type == "code" for c in nb.cells)


def test_noise_check_sees_what_native_code_prints(notebook_copy, kernel_temp_dir):
    """The log-noise assertion is only meaningful if fd-level output reaches cell outputs."""
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('import os, time\nos.write(2, b"W0000 00:00:1.5 42 fake.cc:7] native\\n")\ntime.sleep(0.5)')]
    )
    executed = execute_notebook(nb, notebook_copy, kernel_temp_dir)
    assert noise_in(cell_text(executed.cells[0])), cell_text(executed.cells[0])


def _calls_tfl_jupyter_only(cell) -> bool:
    """Cells that call TensorFlow directly (e.g. ``model.export``) may print TensorFlow's own logs."""
    return cell.cell_type == "code" and ".export(" not in cell.source


def test_quickstart_shows_no_tensorflow_log_noise(quickstart):
    noisy = {i: noise_in(cell_text(c)) for i, c in enumerate(quickstart.cells) if _calls_tfl_jupyter_only(c)}
    noisy = {i: found for i, found in noisy.items() if found}
    assert not noisy, f"TensorFlow log output leaked into cells: {noisy}"


def test_quickstart_int8_full_shows_int8_io_with_scale_and_zero_point(quickstart):
    text = cell_text(find_cell(quickstart, "%tflite_convert model --quantize int8-full --representative_dataset calib -o r8_full"))
    assert re.search(r"input .*: int8\[-1, 32, 32, 3\] scale [\d.e-]+, zero point -?\d+", text), text
    assert re.search(r"output .*: int8\[-1, 10\] scale [\d.e-]+, zero point -?\d+", text), text


def test_quickstart_failed_conversion_shows_blocking_op_not_traceback(quickstart):
    cell = find_cell(quickstart, "%tflite_convert text_length")
    text = cell_text(cell)
    # The table, then the one line that fails the cell (the cell is tagged raises-exception).
    assert [o.output_type for o in cell.outputs] == ["display_data", "stream"], text
    assert cell.outputs[1].name == "stderr" and len(cell.outputs[1].text.strip().splitlines()) == 1, text
    assert cell.outputs[1].text.startswith("UsageError: conversion failed: "), text
    assert "Conversion failed" in text and "tf.StringLength" in text, text
    assert "SELECT_TF_OPS" in text and "Traceback" not in text, text
    # The location is the user's line that created the op, not the magic call.
    assert "return tf.strings.length(text)" in text, text


def test_quickstart_gru_fails_with_the_batch_size_fix_then_converts(quickstart):
    failed = cell_text(find_cell(quickstart, "%tflite_convert gru"))
    assert "fix the batch size: `--batch_size 1`" in failed and "Traceback" not in failed, failed
    converted = cell_text(find_cell(quickstart, "%tflite_convert gru --batch_size 1 -o r_gru"))
    assert re.search(r"input\s+\S*seq\S*: float32\[1, 16, 6\]", converted), converted
    summary = cell_text(find_cell(quickstart, 'r_gru.op_summary[["op", "count", "kind"]]'))
    assert "WHILE" in summary and "flex" not in summary, summary


@pytest.mark.parametrize(
    "first_line, expected",
    [
        ("%tflite_convert text_length --supported_ops TFLITE_BUILTINS,SELECT_TF_OPS -o r_text", r"input\s+\S*text\S*: string\[-1\]"),
        ("%tflite_convert model --quantize dynamic --output_file {out}/model_dynamic.tflite", r"saved to \S+/model_dynamic\.tflite"),
        ("print(r2.code)", r"# from the %%tflite_convert cell:\nconverter\._experimental_disable_per_channel = True\ntflite_model = converter\.convert\(\)"),
        ("%tflite_convert --saved_model_dir {saved_model_dir} --quantize dynamic -o r_saved", r"via from_saved_model"),
        ("workdir.cleanup()", r"^False$"),
    ],
    ids=["flex-fix", "output-file", "cell-magic-code", "saved-model", "temp-dir-removed"],
)
def test_quickstart_cell_output(quickstart, first_line, expected):
    text = cell_text(find_cell(quickstart, first_line))
    assert re.search(expected, text, re.MULTILINE), text


FAILING_CONVERSION_CELLS = [
    "%load_ext tfl_jupyter\n"
    "import tensorflow as tf\n\n"
    "@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])\n"
    "def text_length(text):\n"
    "    return tf.strings.length(text)",
    "%tflite_convert text_length",
    "marker = 'set'\nprint('marker', marker)",
]


def failing_conversion_notebook(tags: list):
    """Define a model that needs Select TF ops, fail to convert it (a cell with ``tags``), then set a marker."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in FAILING_CONVERSION_CELLS])
    nb.cells[1].metadata["tags"] = tags
    return nb


def test_a_failed_conversion_stops_the_notebook(notebook_copy, kernel_temp_dir):
    nb = failing_conversion_notebook(tags=[])
    with pytest.raises(CellExecutionError) as caught:
        execute_notebook(nb, notebook_copy, kernel_temp_dir)
    assert caught.value.ename == "UsageError"
    assert caught.value.evalue.startswith("conversion failed: ") and "tf.StringLength" in caught.value.evalue
    assert "tf.StringLength" in cell_text(nb.cells[1])  # the table was shown before the cell failed
    assert nb.cells[2].execution_count is None and not nb.cells[2].outputs


def test_a_failed_conversion_tagged_raises_exception_lets_the_notebook_go_on(notebook_copy, kernel_temp_dir):
    nb = execute_notebook(failing_conversion_notebook(tags=["raises-exception"]), notebook_copy, kernel_temp_dir)
    assert "UsageError: conversion failed" in cell_text(nb.cells[1])
    assert cell_text(nb.cells[2]).strip() == "marker set"


ACCURACY = "04_accuracy_on_a_trained_model.ipynb"


def test_accuracy_notebook_sweeps_by_accuracy_and_catches_the_wrong_scale(run_notebook):
    nb = run_notebook(ACCURACY)
    sweep = cell_text(find_cell(nb, 'table[["size", "accuracy", "top5_accuracy", "top1_agreement"]]'))
    assert "int8-full" in sweep and "accuracy" in sweep, sweep
    report = cell_text(find_cell(nb, "bad_cmp.calibration_report"))
    assert "input 'image': calibration samples range over [0, 0.06275] but the comparison samples over [0, 1]" in report, report
    assert re.search(r"input 'image': \d+\.\d% of the comparison values fall outside the calibrated range", report), report
    clipping = cell_text(find_cell(nb, "bad_cmp.calibration_report.clipping.head()"))
    assert "activation" in clipping, clipping  # .layers calibrated the model: activations are checked too
    summary = cell_text(find_cell(nb, 'good = tj.convert(model, quantize="int8", representative_dataset=x_calib)'))
    accuracy = {line.rsplit(" ", 1)[0].strip(): float(line.rsplit(" ", 1)[1].rstrip("%"))
                for line in summary.splitlines() if line.endswith("%")}
    float_, wrong, partial, right = accuracy.values()
    assert wrong + 10 < float_, accuracy  # the wrong scale costs accuracy, and the checks say why
    assert wrong < partial, accuracy  # the worst layer in float recovers part of it
    assert right >= float_ - 1, accuracy  # the right calibration all of it
    assert "calibration warnings left: none" in summary, summary


DEPLOY = "05_deploy_targets.ipynb"


def test_deploy_notebook_shows_every_target(run_notebook):
    nb = run_notebook(DEPLOY)
    assert re.search(r"MicroCheck: runs under TFLite Micro \S+, tensor arena [\d,]+ bytes",
                     cell_text(find_cell(nb, "check = r.micro_check()")))
    code = cell_text(find_cell(nb, "code = r.micro_code()"))
    assert "MicroMutableOpResolver<" in code and "AddConv2D()" in code and "kTensorArenaSize" in code
    assert "extern const unsigned char g_model[];" in cell_text(find_cell(nb, "with tempfile.TemporaryDirectory() as folder:"))
    assert "static inline int8_t quantize_input_" in cell_text(find_cell(nb, 'print(r.io_code("c"))'))
    tpu = cell_text(find_cell(nb, 'tpu = tj.inspect(r, targets=["micro", "edgetpu"])'))
    assert "edgetpu" in tpu
    assert "GPU: 3 partitions, split by REVERSE_V2" in cell_text(find_cell(nb, 'cut.op_summary.attrs["caption"]'))
    gpus = cell_text(find_cell(nb, 'both = tj.inspect(cut, targets=["litert_gpu"])'))
    assert "litert_gpu" in gpus and "REVERSE_V2" in gpus
    # every op of the chain runs on LiteRT's accelerator, REVERSE_V2 included: one partition, none on the CPU
    assert re.search(r"GpuCheck on .*\n  ops: (\d+) of \1 on the GPU, 0 on the CPU", cell_text(find_cell(nb, "cut.gpu_check()")))
    assert "TensorFlowLiteSelectTfOps" in cell_text(find_cell(nb, "@tf.function(input_signature=[tf.TensorSpec([4], tf.string)])"))
    assert "unroll=True" in cell_text(find_cell(nb, "import keras"))
