"""``%tflite_convert`` and ``%%tflite_convert`` driven through a real IPython shell."""

from __future__ import annotations


import pytest

from tfl_jupyter.core.result import ConversionResult


@pytest.fixture(scope="module")
def shell(ipython, tiny_model, calib, string_function, saved_model_dir, keras_files):
    """The real IPython shell, with test models in its namespace."""
    ip = ipython
    ip.user_ns.update(model=tiny_model, calib=calib, text_fn=string_function,
                      saved_dir=str(saved_model_dir), keras_file=str(keras_files[".keras"]))
    yield ip
    for name in ("r", "r2", "quiet_result", "_tflite_error", "converter"):
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


def test_failed_conversion_shows_a_short_table_not_a_traceback(shell, capsys):
    capsys.readouterr()
    value, error = run(shell, "%tflite_convert text_fn")
    printed = capsys.readouterr()
    assert value is None and error is None
    assert "tf.StringLength" in printed.out
    assert "Traceback" not in printed.out + printed.err
    assert shell.user_ns["_tflite_error"].errors[0].error_code == "ERROR_NEEDS_FLEX_OPS"


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
