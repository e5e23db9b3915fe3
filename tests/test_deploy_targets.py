"""Deploy targets: choosing the verdict columns, integer I/O code, the recurrent-loop note."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tfl_jupyter as tj

import conftest_ops as models

COMPILER = shutil.which("cc") or shutil.which("gcc")


def _run(data: bytes, x: np.ndarray, preserve: bool = False):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data, experimental_preserve_all_tensors=preserve)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter


def _python_io(report) -> dict:
    namespace: dict = {}
    exec(report.io_code("python"), namespace)  # noqa: S102 - the generated code under test
    return namespace


def test_python_io_code_quantizes_like_tflite():
    """Our quantize equals the QUANTIZE op of the same model with float I/O, bit for bit."""
    int8_io, float_io = tj.inspect(models.int8_io_cnn()), tj.inspect(models.int8_cnn())
    code = _python_io(int8_io)
    [quantize] = [f for n, f in code.items() if n.startswith("quantize_input_")]
    [dequantize] = [f for n, f in code.items() if n.startswith("dequantize_output_")]
    x = np.random.default_rng(3).uniform(-0.2, 1.2, models.INPUT_SHAPE).astype(np.float32)
    reference = _run(models.int8_cnn(), x, preserve=True)
    quantized_by_tflite = reference.get_tensor(int(float_io.ops.iloc[0]["outputs"][0]))
    assert float_io.ops.iloc[0]["op"] == "QUANTIZE"
    assert float_io.model.subgraphs[0].tensors[int(float_io.ops.iloc[0]["outputs"][0])].scale \
        == int8_io.inputs[0].scale  # same calibration, same input quantization
    q = quantize(x)
    assert q.dtype == np.int8 and np.array_equal(q, quantized_by_tflite)
    out = _run(models.int8_io_cnn(), q)
    y = dequantize(out.get_tensor(out.get_output_details()[0]["index"]))
    expected = reference.get_tensor(reference.get_output_details()[0]["index"])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, atol=float(int8_io.outputs[0].scale[0]) * 2)


@pytest.mark.skipif(COMPILER is None, reason="no C compiler")
def test_c_io_code_compiles_and_agrees_with_python(tmp_path):
    report = tj.inspect(models.int8_io_cnn())
    code = report.io_code("c")
    python = _python_io(report)
    [q_name] = [n for n in python if n.startswith("quantize_input_")]
    [d_name] = [n for n in python if n.startswith("dequantize_output_")]
    values = np.linspace(-3, 3, 97, dtype=np.float32)
    (tmp_path / "io.c").write_text(code + f"""
#include <stdio.h>
int main(void) {{
  float x;
  while (scanf("%f", &x) == 1) {{
    int8_t q = {q_name}(x);
    printf("%d %.9g\\n", q, {d_name}(q));
  }}
  return 0;
}}
""")
    subprocess.run([COMPILER, "-std=c99", "-Wall", "-Werror", str(tmp_path / "io.c"), "-lm",
                    "-o", str(tmp_path / "io")], check=True, capture_output=True, timeout=120)
    run = subprocess.run([str(tmp_path / "io")], input=" ".join(f"{v:.9g}" for v in values),
                         capture_output=True, text=True, timeout=30, check=True)
    rows = [line.split() for line in run.stdout.splitlines()]
    q = python[q_name](values)
    assert [int(r[0]) for r in rows] == q.tolist()
    assert np.array_equal(np.array([float(r[1]) for r in rows], np.float32), python[d_name](q))


@pytest.mark.parametrize("lang, message", [
    ("rust", "lang must be 'python' or 'c', got 'rust'"),
])
def test_io_code_bad_language(lang, message):
    with pytest.raises(ValueError, match=message):
        tj.inspect(models.int8_io_cnn()).io_code(lang)


def test_io_code_needs_integer_io():
    with pytest.raises(ValueError, match="convert with quantize='int8-full' for int8 I/O"):
        tj.inspect(models.int8_cnn()).io_code()


def test_inspect_targets_select_the_columns():
    assert "edgetpu" not in tj.inspect(models.int8_cnn()).ops.columns
    report = tj.inspect(models.int8_cnn(), targets=["edgetpu"])
    assert report.targets == ("xnnpack", "gpu", "edgetpu")
    assert "edgetpu" in report.ops.columns and "micro" not in report.ops.columns
    with pytest.raises(ValueError, match="unknown target"):
        tj.inspect(models.int8_cnn(), targets="tpu")


def test_recurrent_loop_note_and_its_fix():
    ops = tj.inspect(models.lstm_model()).ops
    loop = ops[ops["op"] == "WHILE"].iloc[0]
    assert "a recurrent layer (LSTM/GRU) traced as a WHILE loop" in loop["notes"]
    assert "unroll=True" in loop["notes"]
    assert not ops.loc[ops["op"] != "WHILE", "notes"].str.contains("recurrent").any()
    plain = tj.inspect(models.while_model()).ops  # a loop that is no recurrent cell
    assert "recurrent" not in plain.loc[plain["op"] == "WHILE", "notes"].iloc[0]


def test_unrolled_lstm_has_no_loop():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 3), batch_size=1),
                              keras.layers.LSTM(4, unroll=True), keras.layers.Dense(2)])
    ops = tj.inspect(models._convert_keras(model)).ops
    assert "WHILE" not in set(ops["op"]) and ops["xnnpack"].mean() > 0.5


def test_magic_targets_flag(ipython, tiny_model, capsys):
    ipython.user_ns["deploy_model"] = tiny_model
    try:
        capsys.readouterr()
        outcome = ipython.run_cell("%tflite_convert deploy_model --targets micro,edgetpu")
        printed = capsys.readouterr().out
        assert outcome.error_in_exec is None
        assert "edgetpu" in printed and "micro" in printed
        outcome = ipython.run_cell("%tflite_convert deploy_model --targets npu")
        error = outcome.error_in_exec
        assert type(error).__name__ == "UsageError"
        assert str(error).startswith("--targets: unknown target(s) 'npu': choose from")
    finally:
        ipython.user_ns.pop("deploy_model", None)
