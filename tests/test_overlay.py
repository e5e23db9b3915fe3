"""Graph overlays: the data behind each colouring of the Netron view, on real converted models."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.op_support import partitions
from tfl_jupyter.core.op_support.targets import TARGETS
from tfl_jupyter.core.op_support.overlay import (CPU_COLOR, ERROR_STOPS, OVERLAY_COLUMNS, OVERLAYS,
                                                 SUSPECT, error_color, overlay_legend)

import conftest_ops as models


def _runs(table) -> int:
    """CPU-separated runs of delegated ops, in op order (what a reader of the table counts)."""
    delegated = (table["value"] >= 0).tolist()
    return sum(1 for i, on in enumerate(delegated) if on and (i == 0 or not delegated[i - 1]))


@pytest.mark.parametrize("name", [n for n in OVERLAYS if n != "error"])
def test_every_overlay_has_one_row_per_op(name):
    report = tj.inspect(models.int8_cnn())
    table = report.overlay_table(name)
    assert list(table.columns) == OVERLAY_COLUMNS
    assert table[["subgraph", "index", "op"]].equals(report.ops[["subgraph", "index", "op"]])
    assert table["color"].str.fullmatch(r"#[0-9A-Fa-f]{6}").all()
    assert (table["reason"] == report.ops["notes"]).all()


@pytest.mark.parametrize("delegate", ["gpu", "xnnpack"])
def test_delegate_overlay_numbers_the_partitions_cpu_ops_cut(delegate):
    report = tj.inspect(models.partitioned_chain(3))
    table = report.overlay_table(delegate)
    cpu = table[table["label"] == "CPU"]
    assert set(cpu["op"]) == {"REVERSE_V2"} and (cpu["value"] == -1).all()
    assert (cpu["color"] == CPU_COLOR).all()
    expected = partitions(report.ops, delegate)
    assert _runs(table) == len(expected) == 4
    for row in expected.itertuples():
        assert (table.loc[list(row.indices), "value"] == row.partition).all()
    # neighbouring partitions differ in colour, so each one's extent shows
    firsts = table.loc[expected["first_index"], "color"].tolist()
    assert all(a != b for a, b in zip(firsts, firsts[1:]))
    assert overlay_legend(delegate, table)["partitions"] == {"0": 4}


def test_while_loop_stays_on_the_cpu_under_gpu():
    table = tj.inspect(models.while_model()).overlay_table("gpu")
    loop = table[(table["op"] == "WHILE") & (table["subgraph"] == 0)].iloc[0]
    assert loop["label"] == "CPU" and "GPU" in loop["reason"]
    assert set(table["subgraph"]) == {0, 1, 2}  # the loop's bodies are painted too


def test_kind_overlay_names_flex_and_custom_ops():
    flex = tj.inspect(models.flex_model()).overlay_table("kind")
    custom = tj.inspect(models.custom_model()).overlay_table("kind")
    assert "flex" in set(flex["label"]) and "builtin" in set(flex["label"])
    assert "custom" in set(custom["label"])
    assert flex.loc[flex["label"] == "flex", "value"].eq(1).all()
    assert custom.loc[custom["label"] == "custom", "value"].eq(2).all()


@pytest.mark.parametrize("model, widths", [
    (models.int8_cnn, {"int8", "(de)quantize"}),
    (models.int16x8_cnn, {"int16", "(de)quantize"}),
    (models.float_cnn, {"float"}),
])
def test_quantized_overlay_tells_integer_from_float(model, widths):
    table = tj.inspect(model()).overlay_table("quantized")
    assert set(table["label"]) == widths
    conv = table[table["op"] == "CONV_2D"].iloc[0]
    assert conv["value"] == {"int8": 8, "int16": 16, "float": 32}[conv["label"]]


def test_error_overlay_paints_each_measured_op(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=calib)
    comparison = result.compare(calib[:8])
    layers = comparison.layers
    table = comparison.overlay_table()
    assert table.equals(result.overlay_table("error", layers))
    measured = table[table["value"].notna()]
    # every layer lands on one op, by the tensor name requantize() takes
    assert sorted(measured["tensor"]) == sorted(layers["tensor"])
    worst = layers.iloc[0]
    hottest = measured.loc[measured["value"].idxmax()]
    assert hottest["tensor"] == worst["tensor"] and hottest["op"] == worst["op"]
    assert math.isclose(hottest["value"], worst["rmse_over_scale"])
    unmeasured = table[table["value"].isna()]
    assert set(unmeasured["op"]) <= {"QUANTIZE", "DEQUANTIZE"} and (unmeasured["color"] == "").all()
    assert (unmeasured["label"] == "not measured").all()


def test_error_scale_gets_hotter_with_the_error():
    def darkness(hex_color):
        return -sum(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))

    values = np.linspace(0, 2, 41)
    shades = [darkness(error_color(v)) for v in values]
    assert shades == sorted(shades)
    assert error_color(ERROR_STOPS[0][0]) == ERROR_STOPS[0][1].lower()
    assert error_color(5.0) == ERROR_STOPS[-1][1].lower() and error_color(float("nan")) == ""
    legend = overlay_legend("error")
    assert legend["scale"]["marks"] == [[0.289, "rounding floor"], [SUSPECT, "suspect"]]


def test_unknown_overlay_and_error_without_layers_say_what_to_do():
    report = tj.inspect(models.float_cnn())
    with pytest.raises(ValueError, match="'gpu'"):
        report.overlay_table("heat")
    with pytest.raises(ValueError, match="comparison.netron"):
        report.overlay_table("error")
    with pytest.raises(ValueError, match="comparison"):
        report.netron(overlay="error")


def test_viewer_gets_every_overlay_and_reports_the_selection():
    from tfl_jupyter.widgets.netron_view import NetronView, overlay_tables

    data = models.partitioned_chain(1)
    tables = overlay_tables(data)
    measured = {name for name, target in TARGETS.items() if target.needs_measurement}  # opt-in
    assert sorted(tables) == sorted(set(OVERLAYS) - {"error"} - measured)
    view = NetronView.of(data, overlay="gpu")
    rows = view.overlays["gpu"]["rows"]
    assert rows["label"] == tables["gpu"]["label"].tolist()
    assert view.overlays["gpu"]["legend"]["partitions"] == {"0": 2}
    assert view.selected == {}
    view.overlay = "kind"
    with pytest.raises(Exception, match="no 'error' overlay"):
        view.overlay = "error"
    view.close()
