"""Delegate partitions: cut the way the runtime cuts them (checked against LiteRT's XNNPACK)."""
from __future__ import annotations

import pytest

from tfl_jupyter.core.op_support import PARTITION_COLUMNS, op_summary, ops_table, partitions
from tfl_jupyter.core.tflite_reader import read_model

import conftest_ops as models


def _ops(data: bytes):
    return ops_table(read_model(data))


@pytest.mark.parametrize("cuts", [0, 1, 3])
def test_partition_count_matches_the_runtime(cuts):
    data = models.partitioned_chain(cuts)
    ops = _ops(data)
    found = partitions(ops, "xnnpack")
    assert list(found.columns) == PARTITION_COLUMNS
    assert len(found) == cuts + 1 == models.delegate_nodes(data)
    assert list(found["partition"]) == list(range(cuts + 1))
    assert (found["ops"] == 3).all() and found["delegated"].all()
    reverse = ops.index[ops["op"] == "REVERSE_V2"].tolist()
    assert list(found["first_index"][1:]) == [i + 1 for i in reverse]
    assert list(found["last_index"][:-1]) == [i - 1 for i in reverse]


# The LiteRT interpreter here loads neither Flex nor unregistered custom ops.
@pytest.mark.parametrize("name", sorted(set(models.all_models()) - {"flex_model", "custom_model"})
                         + ["branching_model", "lstm_model"])
def test_xnnpack_partitions_match_the_runtime_on_every_model(name):
    data = getattr(models, name)()
    assert len(partitions(_ops(data), "xnnpack")) == models.delegate_nodes(data)


def test_partitions_follow_data_not_op_order():
    ops = _ops(models.branching_model())
    found = partitions(ops, "xnnpack")
    assert len(found) == 2
    first = set(ops.loc[list(found["indices"][0]), "op"])
    assert first == {"MUL", "TANH"}


def test_gpu_takes_only_the_largest_partition_by_default():
    ops = _ops(models.partitioned_chain(3))
    gpu = partitions(ops, "gpu")
    assert len(gpu) == 4 and gpu["delegated"].tolist() == [True, False, False, False]
    caption = op_summary(ops).attrs["caption"]
    assert "GPU: 4 partitions, split by REVERSE_V2 (op 3)" in caption
    assert "only the largest (ops 0-2, 3 ops), the rest run on the CPU" in caption
    assert "XNNPACK: 4 partitions" in caption


def test_caption_reaches_the_styled_summary():
    from tfl_jupyter.core.op_support import style_ops

    html = style_ops(op_summary(_ops(models.partitioned_chain(1)))).to_html()
    assert "<caption>" in html and "XNNPACK: 2 partitions" in html


def test_single_partition_and_none():
    assert op_summary(_ops(models.partitioned_chain(0))).attrs["caption"] == \
        "GPU: 1 partition; XNNPACK: 1 partition"
    caption = op_summary(_ops(models.int16x8_cnn())).attrs["caption"]
    assert caption == ("GPU: no partition (nothing delegated); "
                       "XNNPACK: no partition (nothing delegated)")


def test_inspect_report_has_the_method():
    import tfl_jupyter as tj

    report = tj.inspect(models.partitioned_chain(1))
    assert len(report.partitions("GPU")) == 2
    with pytest.raises(ValueError, match="unknown delegate 'npu': use one of 'gpu', 'xnnpack'"):
        report.partitions("npu")
