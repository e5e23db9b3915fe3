"""``%tflite_convert`` and ``%%tflite_convert`` driven through a real IPython shell."""

from __future__ import annotations

import signal
import time

import numpy as np
import psutil
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.result import ConversionResult


@pytest.fixture(scope="module")
def shell(ipython, tiny_model, calib, string_function, saved_model_dir, keras_files):
    """The real IPython shell, with test models in its namespace."""
    ip = ipython
    ip.user_ns.update(model=tiny_model, calib=calib, text_fn=string_function,
                      saved_dir=str(saved_model_dir), keras_file=str(keras_files[".keras"]))
    yield ip
    for name in ("r", "r2", "quiet_result", "_tflite_error", "_tflite_result", "wrong", "converter", "x", "shell_said", "samples"):
        ip.user_ns.pop(name, None)


def run(shell, code):
    """Run a cell; return (its value, the error it raised or None)."""
    outcome = shell.run_cell(code)
    return outcome.result, outcome.error_in_exec


def test_line_magic_returns_and_stores_the_result(shell):
    value, error = run(shell, "%tflite_convert model -o r")
    assert error is None
    assert isinstance(value, ConversionResult)
    assert shell.user_ns["r"] is value
    assert value.source_name == "model"
    assert "from_keras_model(model)" in value.code


def test_quantize_with_dataset_variable_and_expression(shell):
    value, error = run(shell, "%tflite_convert model --quantize int8-full --representative_dataset calib[:8]")
    assert error is None
    assert value.inputs[0].dtype == "int8"
    assert value.calibration_samples == 8


def test_io_types_ops_and_attributes_flags(shell):
    value, error = run(
        shell,
        "%tflite_convert model --quantize int8 --representative_dataset calib --inference_input_type uint8 "
        "--inference_output_type int8 --supported_ops TFLITE_BUILTINS_INT8 "
        "--attr _experimental_disable_per_channel=True --attr experimental_enable_resource_variables=False",
    )
    assert error is None
    assert value.inputs[0].dtype == "uint8" and value.outputs[0].dtype == "int8"
    attrs = dict(value.settings.converter_attrs)
    assert attrs == {"_experimental_disable_per_channel": True, "experimental_enable_resource_variables": False}


def test_saved_model_dir_with_signature_keys_and_tags(shell):
    value, error = run(shell, "%tflite_convert --saved_model_dir {saved_dir} --signature_keys shifted --tags serve")
    assert error is None
    assert [s.key for s in value.model.signatures] == ["shifted"]


def test_keras_model_file_flag(shell):
    value, error = run(shell, "%tflite_convert --keras_model_file {keras_file} --quantize float16")
    assert error is None
    assert value.settings.quantize == "float16"


def test_bare_argument_is_a_variable_first_then_a_path(shell, saved_model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(saved_model_dir.parent)
    name = saved_model_dir.name  # "scaler": a path here, and (below) also a variable
    value, _ = run(shell, f"%tflite_convert {name}")
    assert value.source.kind == "saved_model"
    shell.user_ns[name] = shell.user_ns["model"]
    try:
        value, _ = run(shell, f"%tflite_convert {name}")
        assert value.source.kind == "keras"
    finally:
        del shell.user_ns[name]


def test_output_file_and_quiet(shell, tmp_path, capsys):
    target = tmp_path / "m.tflite"
    capsys.readouterr()
    value, error = run(shell, f"%tflite_convert model --quiet -o quiet_result --output_file {target}")
    assert error is None and value is None
    assert capsys.readouterr().out == ""
    assert target.read_bytes() == shell.user_ns["quiet_result"].tflite_model


def test_cell_form_runs_the_body_with_a_live_converter(shell, capsys):
    shell.user_ns["converter"] = "the user's own variable"
    value, error = run(
        shell,
        "%%tflite_convert model --quantize dynamic -o r2\n"
        "print('optimizations:', converter.optimizations)\n"
        "converter._experimental_disable_per_channel = True\n",
    )
    assert error is None
    assert "optimizations: [<Optimize.DEFAULT" in capsys.readouterr().out
    assert shell.user_ns["converter"] == "the user's own variable"
    assert "converter._experimental_disable_per_channel = True" in value.code


def test_cell_body_errors_show_as_the_users_own(shell):
    _, error = run(shell, "%%tflite_convert model\nundefined_name_in_cell\n")
    assert isinstance(error, NameError)


def test_cell_body_is_ipython_code(shell, capsys):
    for name in ("x", "converter"):
        shell.user_ns.pop(name, None)
    value, error = run(
        shell,
        "%%tflite_convert model --quantize dynamic\n"
        "%time x = 1\n"
        "!true\n"
        "shell_said = !echo from the shell\n"
        "print('optimizations:', converter.optimizations)\n",
    )
    assert error is None and isinstance(value, ConversionResult)
    assert shell.user_ns["x"] == 1
    assert list(shell.user_ns["shell_said"]) == ["from the shell"]
    printed = capsys.readouterr().out
    assert "Wall time" in printed and "optimizations: [<Optimize.DEFAULT" in printed
    assert "converter" not in shell.user_ns


def test_cell_body_exceptions_keep_their_traceback(shell, capsys):
    # A ValueError from the body is the user's own, not a mistake in the magic's arguments.
    capsys.readouterr()
    outcome = shell.run_cell("%%tflite_convert model\nraise ValueError('from the body')\n")
    printed = capsys.readouterr()
    assert type(outcome.error_in_exec) is ValueError
    assert "Traceback" in printed.out + printed.err and "line 2" in printed.out + printed.err


def failure_lines(printed) -> list:
    """The lines IPython printed for a failed magic: ``UsageError: ...`` or ``KeyboardInterrupt: ...``."""
    lines = (printed.out + printed.err).splitlines()
    return [line for line in lines if line.startswith(("UsageError", "KeyboardInterrupt"))]


def test_failed_conversion_fails_the_cell_with_one_line_after_the_table(shell, capsys):
    capsys.readouterr()
    outcome = shell.run_cell("%tflite_convert text_fn")
    printed = capsys.readouterr()
    assert outcome.success is False
    assert "tf.StringLength" in printed.out  # the table is still shown
    error = shell.user_ns["_tflite_error"]
    assert isinstance(error, tj.ConversionError) and error.errors[0].error_code == "ERROR_NEEDS_FLEX_OPS"
    assert failure_lines(printed) == [
        f"UsageError: conversion failed: {error.summary} (table above); the exception is in `_tflite_error`"
    ]
    assert "tf.StringLength" in error.summary and "Traceback" not in printed.out + printed.err


def _kill_the_worker():
    for process in psutil.Process().children(recursive=True):
        if "tfl_jupyter.core.worker" in " ".join(process.cmdline()):
            process.kill()


def _interrupt():
    signal.raise_signal(signal.SIGINT)  # what a kernel interrupt sends


@pytest.mark.parametrize(
    "flags, from_sample_3, stored, shown_as",
    [
        ("", _kill_the_worker, tj.WorkerDied, "UsageError: conversion failed: "),
        ("--timeout 2", lambda: time.sleep(0.5), TimeoutError, "UsageError: conversion failed: "),
        ("", _interrupt, tj.ConversionCancelled, "KeyboardInterrupt: "),
    ],
    ids=["worker-died", "timeout", "interrupted"],
)
def test_every_failure_fails_the_cell_with_one_line(shell, calib, capsys, flags, from_sample_3, stored, shown_as):
    """A real worker death, timeout and interrupt, each during calibration (generators are never cached)."""

    def samples():
        for number, sample in enumerate(calib, start=1):
            if number >= 3:  # sample 1 may be read early to check its shape; by 3 the worker is calibrating
                from_sample_3()
            yield [sample[None]]

    shell.user_ns["samples"] = samples
    capsys.readouterr()
    outcome = shell.run_cell(f"%tflite_convert model --quantize int8 --representative_dataset samples {flags}")
    printed = capsys.readouterr()
    assert outcome.success is False
    error = shell.user_ns["_tflite_error"]
    assert isinstance(error, stored)
    assert failure_lines(printed) == [f"{shown_as}{error}; the exception is in `_tflite_error`"], printed
    assert "\n" not in str(error) and "Traceback" not in printed.out + printed.err
    if stored is tj.ConversionCancelled:  # still an interrupt: `except Exception` cannot swallow it
        assert isinstance(outcome.error_in_exec, KeyboardInterrupt)


def test_argument_mistakes_fail_the_cell_with_one_line_too(shell, capsys):
    capsys.readouterr()
    outcome = shell.run_cell("%tflite_convert model --timeout 5 --in_process")
    printed = capsys.readouterr()
    assert outcome.success is False
    error = shell.user_ns["_tflite_error"]
    assert isinstance(error, ValueError) and "timeout" in str(error)
    assert failure_lines(printed) == [f"UsageError: {error}; the exception is in `_tflite_error`"]
    assert "Traceback" not in printed.out + printed.err


def test_help_documents_every_flag_with_examples(shell):
    doc = shell.find_line_magic("tflite_convert").__doc__
    for flag in ("--saved_model_dir", "--keras_model_file", "--output_file", "--signature_keys", "--tags",
                 "--quantize", "--representative_dataset", "--supported_ops", "--supported_types",
                 "--inference_input_type", "--inference_output_type", "--allow_custom_ops", "--ops",
                 "-o", "--quiet", "Examples", "%%tflite_convert"):
        assert flag in doc, flag


def test_help_is_what_the_question_mark_shows(shell, capsys):
    shell.run_cell("%tflite_convert?")
    assert "--representative_dataset" in capsys.readouterr().out


def test_ops_flag_shows_the_support_tables(shell, capsys):
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert model --quantize int8 --representative_dataset calib --ops")
    printed = capsys.readouterr().out
    assert error is None and value is not None
    assert "FULLY_CONNECTED" in printed and "xnnpack" in printed


def test_netron_flag_shows_the_graph_where_it_can(shell, capsys):
    # A terminal IPython has no Jupyter server: the viewer is served on 127.0.0.1 with a token.
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert model --netron")
    printed = capsys.readouterr().out
    assert error is None and value is not None
    assert "http://127.0.0.1:" in printed


def test_netron_flag_takes_an_overlay(shell, capsys):
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert model --netron gpu")
    assert error is None and value is not None
    assert "http://127.0.0.1:" in capsys.readouterr().out
    for line, says in (("%tflite_convert model --netron heat", "one of error, gpu"),
                       ("%tflite_convert model --netron error", "add --compare")):
        value, error = run(shell, line)
        assert value is None and says in str(error), error


def test_panel_flag_opens_the_panel_with_the_magic_settings(shell):
    value, error = run(shell, "%tflite_convert model --quantize int8 --representative_dataset calib --panel")
    assert error is None
    assert type(value).__name__ == "Panel"
    assert value.result is None  # nothing converted until the user presses Convert
    assert value.settings["quantize"] == "int8"
    value.close()


def test_compare_flag_shows_float_vs_quantized_metrics(shell, capsys):
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert model --quantize int8 --representative_dataset calib --compare calib[:8]")
    printed = capsys.readouterr().out
    assert error is None and value is not None
    assert "sqnr_db" in printed and "cosine_similarity" in printed


def test_labels_flag_adds_task_accuracy_and_calibration_warnings_show(shell, capsys):
    shell.user_ns["y"] = np.arange(32) % 3
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert model --quantize int8 --representative_dataset calib --compare calib --labels y")
    printed = capsys.readouterr()
    assert error is None and value is not None
    assert "Task metrics" in printed.out and "top1_agreement" in printed.out
    assert "only 32 calibration samples" in printed.out  # in the comparison's display
    value, error = run(shell, "%tflite_convert model --quantize int8 --representative_dataset calib")
    assert "calibration: only 32 calibration samples: TensorFlow's quantization guide advises" in capsys.readouterr().err


def test_a_failed_comparison_fails_the_cell_and_keeps_the_converted_model(shell):
    shell.user_ns["wrong"] = np.zeros((4, 3, 2), np.float32)  # not the model's input shape
    outcome = shell.run_cell("%tflite_convert model --quantize dynamic --compare wrong")
    error = outcome.error_in_exec
    assert type(error).__name__ == "UsageError", error
    assert str(error).startswith("compare failed: ") and "the conversion itself succeeded" in str(error)
    assert isinstance(shell.user_ns.pop("_tflite_result"), ConversionResult)
    assert isinstance(shell.user_ns["_tflite_error"], ValueError)
    outcome = shell.run_cell("%tflite_convert model --quantize dynamic --compare wrong -o r2")
    assert type(outcome.error_in_exec).__name__ == "UsageError" and "result is in `r2`" in str(outcome.error_in_exec)
    assert shell.user_ns["r2"].settings.quantize == "dynamic"
    assert "_tflite_result" not in shell.user_ns


def test_labels_without_compare_is_a_one_line_usage_error(shell, capsys):
    capsys.readouterr()
    outcome = shell.run_cell("%tflite_convert model --labels y")
    assert type(outcome.error_in_exec).__name__ == "UsageError"
    assert "--labels goes with --compare" in str(outcome.error_in_exec)
