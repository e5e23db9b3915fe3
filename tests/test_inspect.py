"""tj.inspect on existing .tflite files: same tables, clear errors for bad paths and files."""
from __future__ import annotations

import pytest

from tfl_jupyter.core.inspection import ModelFileNotFoundError, ModelReport, inspect
from tfl_jupyter.core.op_support import ops_table
from tfl_jupyter.core.tflite_reader import InvalidModelError, read_model

import conftest_ops as models


@pytest.fixture
def int8_file(tmp_path):
    path = tmp_path / "model_int8.tflite"
    path.write_bytes(models.int8_cnn())
    return path


def test_inspect_path_bytes_and_result_agree(int8_file):
    data = models.int8_cnn()
    expected = ops_table(read_model(data))
    from_path = inspect(int8_file)
    from_str = inspect(str(int8_file))

    class Result:  # anything with .tflite_model, like a ConversionResult
        tflite_model = data

    for report in (from_path, from_str, inspect(data), inspect(bytearray(data)),
                   inspect(memoryview(data)), inspect(Result())):
        assert isinstance(report, ModelReport)
        assert report.tflite_model == data
        assert report.ops.equals(expected)
    assert from_path.source == str(int8_file)
    assert from_path.ops is from_path.ops  # cached
    assert from_path.op_summary["count"].sum() == len(expected)


def test_report_io_and_display(int8_file):
    report = inspect(int8_file)
    assert [t.dtype for t in report.inputs] == ["float32"]
    assert report.outputs[0].shape == (1, 10)
    html = report._repr_html_()
    assert "model_int8.tflite" in html and report.inputs[0].name in html
    assert "<table" in html and "CONV_2D" in html
    assert "XNNPACK takes" in html
    assert "10 ops" in repr(report)


def test_report_flags_flex_ops():
    report = inspect(models.flex_model())
    assert "Flex op(s)" in report._repr_html_()
    assert report.op_summary.iloc[0]["blocker"] == "needs Flex runtime"


def test_netron_outside_jupyter_serves_the_graph_on_loopback(int8_file, capsys):
    inspect(int8_file).netron()  # plain Python: a 127.0.0.1 server with a token, its URL printed
    assert "http://127.0.0.1:" in capsys.readouterr().out


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.tflite"
    with pytest.raises(ModelFileNotFoundError, match="no such file") as info:
        inspect(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_directory_and_wrong_types(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        inspect(tmp_path)
    with pytest.raises(TypeError, match="tj.convert"):
        inspect(42)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"PK\x03\x04" + b"\0" * 100, "zip archive"),
    ("truncated", "corrupted"),
])
def test_bad_files_name_the_file(tmp_path, content, message):
    if content == "truncated":
        content = models.int8_cnn()[:500]
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(InvalidModelError, match=message) as info:
        inspect(path)
    assert str(path) in str(info.value)
