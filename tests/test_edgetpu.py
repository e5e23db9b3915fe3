"""The edgetpu column: Coral's documented rules, table-driven on real int8 models."""
from __future__ import annotations

import pytest

from tfl_jupyter.core.op_support import op_summary, ops_table
from tfl_jupyter.core.tflite_reader import read_model

import conftest_ops as models


def _ops(data: bytes, targets=("edgetpu",)):
    return ops_table(read_model(data), targets=targets)


# (model, op, mapped, fragment of its Edge TPU note, '' = no note)
CASES = [
    ("int8_cnn", "CONV_2D", True, ""),
    ("int8_cnn", "MEAN", True, ""),
    ("int8_cnn", "FULLY_CONNECTED", True, ""),
    ("int8_cnn", "SOFTMAX", True, ""),
    ("int8_cnn", "QUANTIZE", False, "float input's conversion runs on the CPU"),
    ("int8_cnn", "DEQUANTIZE", False, "conversion to a float output runs on the CPU"),
    ("float_cnn", "CONV_2D", False, "has float32 tensors, the Edge TPU needs 8-bit quantized ones"),
    ("int16x8_cnn", "CONV_2D", False, "has int16 tensors, the Edge TPU needs 8-bit"),
    ("flex_model", "FlexStringLength", False, "Edge TPU"),  # said by the Flex note
    ("cut", "MUL", True, ""),
    ("cut", "REVERSE_V2", False, "REVERSE_V2 is not in the Edge TPU's operator list"),
    ("cut", "ADD", False, "after REVERSE_V2 (op 2), the first op the compiler cannot map"),
    ("cut", "TANH", False, "after REVERSE_V2 (op 2)"),
    ("mean_spatial", "MEAN", True, ""),
    ("mean_channels", "MEAN", False, "MEAN reduces along x and/or y only"),
    ("softmax_large", "SOFTMAX", False, "at most 16,000 elements, got 16001"),
    ("rank5", "ADD", False, "only the 3 innermost dimensions may be larger than 1"),
    ("dynamic_batch", "MUL", False, "has a dynamic dimension"),
    ("while_model", "WHILE", False, "WHILE is not in the Edge TPU's operator list"),
]


def _model(name: str) -> bytes:
    builder = getattr(models, name, None)
    return builder() if builder else models.edgetpu_case(name)


@pytest.mark.parametrize("name, op, mapped, note", CASES)
def test_edgetpu_rules(name, op, mapped, note):
    df = _ops(_model(name))
    row = df[df["op"] == op].iloc[0]
    assert bool(row["edgetpu"]) is mapped, row["notes"]
    if note:
        assert note in row["notes"]
    else:
        assert "Edge TPU" not in row["notes"]


def test_edgetpu_column_is_opt_in():
    default = ops_table(read_model(models.int8_cnn()))
    assert "edgetpu" not in default.columns and "micro" in default.columns
    both = _ops(models.int8_cnn(), "micro, EdgeTPU")
    assert {"micro", "edgetpu"} <= set(both.columns)
    summary = op_summary(both)
    assert {"edgetpu", "edgetpu_count"} <= set(summary.columns)
    assert summary.loc[summary["op"] == "CONV_2D", "edgetpu_count"].iloc[0] == 2


@pytest.mark.parametrize("targets, error, message", [
    (["npu"], ValueError, "unknown target(s) 'npu': choose from xnnpack, gpu, micro, edgetpu"),
    (3, TypeError, "targets must be a list of names"),
])
def test_bad_targets(targets, error, message):
    with pytest.raises(error) as caught:
        _ops(models.int8_cnn(), targets)
    assert message in str(caught.value)
