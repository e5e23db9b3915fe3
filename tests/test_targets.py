"""The deploy-target registry (op_support/targets.py): every place that lists targets reads it.

A fake target registered in a fixture must show up everywhere a real one does: as a column
with its notes, in the summary and its blockers, in the styling, partitions and their
caption, as a graph overlay, in the panel's tables, in the magic's help and tj.inspect's
docstring. A fake measured target checks the way a target judged by running the model
(LiteRT's GPU accelerator, say) plugs in.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.op_support import op_summary, ops_table, partitions, style_ops
from tfl_jupyter.core.op_support.overlay import overlay_legend, overlay_names, overlay_table
from tfl_jupyter.core.op_support.table import ops_columns, summary_columns
from tfl_jupyter.core.op_support.targets import TARGETS, Target, check_targets, delegates
from tfl_jupyter.core.tflite_reader import read_model

import conftest_ops as models


def _chain():
    """15 ops: (MUL, ADD, TANH) x 4, split by 3 REVERSE_V2 (ops 3, 7, 11)."""
    data = models.partitioned_chain(3)
    return data, read_model(data)


@pytest.fixture
def npu(monkeypatch):
    """A fake NPU delegate that takes every op but TANH; yields the ops it was asked about."""
    asked = []

    def npu_verdict(ctx, facts):
        asked.append(ctx.op.index)
        return (False, f"{ctx.name} is not on the test NPU") if ctx.name == "TANH" else (True, "")

    monkeypatch.setitem(TARGETS, "npu", Target(
        "npu", "NPU", "a test NPU", npu_verdict, partitions=True, max_partitions=2,
        overlay_title="where each op runs on the test NPU"))
    return asked


def test_the_registry_lists_the_targets_in_column_order():
    assert list(TARGETS) == ["xnnpack", "gpu", "micro", "edgetpu", "litert_gpu"]
    assert check_targets(None) == ("xnnpack", "gpu", "micro")
    assert check_targets("edgetpu") == ("xnnpack", "gpu", "edgetpu")
    assert {t.name: t.max_partitions for t in delegates()} == {"gpu": 1, "xnnpack": None, "litert_gpu": 1}
    assert [t.name for t in TARGETS.values() if t.needs_measurement] == ["litert_gpu"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        TARGETS["gpu"].label = "Mali"


def test_the_registry_loads_without_numpy_or_pandas():
    """The magic's help is built from it at %load_ext, which must stay light."""
    probe = ("import sys, tfl_jupyter.core.op_support.targets as t; assert t.TARGETS; "
             "print([m for m in ('numpy', 'pandas') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_registered_target_is_a_column_with_its_notes(npu):
    _, model = _chain()
    assert "npu" not in ops_table(model).columns  # not a default target
    npu.clear()
    ops = ops_table(model, targets=["npu"])
    assert list(ops.columns) == ops_columns(["xnnpack", "gpu", "npu"])
    assert ops.columns.get_loc("npu") == ops.columns.get_loc("gpu") + 1
    assert ops["npu"].tolist() == [op != "TANH" for op in ops["op"]]
    assert ops["npu"].dtype == bool
    for notes in ops.loc[ops["op"] == "TANH", "notes"]:
        assert notes == "NPU: TANH is not on the test NPU"
    for notes in ops.loc[ops["op"] == "REVERSE_V2", "notes"]:  # GPU first, then registry order
        assert notes.startswith("GPU: ") and "; XNNPACK: " in notes and "NPU:" not in notes
    # Judged once per group of look-alike ops, as the rules targets are (the table's speed).
    assert 0 < len(npu) < len(ops) / 2


def test_a_registered_target_is_in_the_summary_and_its_blockers(npu):
    _, model = _chain()
    summary = op_summary(ops_table(model, targets=["npu"]))
    assert list(summary.columns) == summary_columns(["xnnpack", "gpu", "npu"])
    rows = summary.set_index("op")
    assert rows.loc["TANH", "npu_count"] == 0 and rows.loc["MUL", "npu_count"] == 4
    assert rows.loc["TANH", "blocker"] == "not on NPU"
    assert rows.loc["REVERSE_V2", "blocker"] == "not on GPU"  # the NPU takes it: a delegate does
    caption = summary.attrs["caption"]
    assert caption.startswith("GPU: 4 partitions")
    assert ("; NPU: 4 partitions, split by TANH (op 2), TANH (op 6), TANH (op 10); by default it "
            "takes only the 2 largest (ops 3-5, 3 ops; ops 7-9, 3 ops), the rest run on the CPU") in caption


def test_a_registered_delegate_has_partitions(npu):
    _, model = _chain()
    ops = ops_table(model, targets=["npu"])
    found = partitions(ops, "NPU")
    assert found["first_index"].tolist() == [0, 3, 7, 11]
    assert found["delegated"].tolist() == [False, True, True, False]  # max_partitions=2
    with pytest.raises(ValueError, match="no 'npu' column"):
        partitions(ops_table(model), "npu")
    with pytest.raises(ValueError, match="'npu'"):
        partitions(ops, "micro")  # not a delegate: the message lists the delegates


def test_a_registered_target_is_styled(npu):
    _, model = _chain()
    ops = ops_table(model, targets=["npu"])
    html = style_ops(ops).set_uuid("t").to_html()
    rules = {}
    for selectors, props in re.findall(r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0]):
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), "")
            rules[selector.strip()] += props
    column = list(ops.columns).index("npu")
    assert "#b42318" in rules[f"#T_t_row2_col{column}"]  # TANH: not on the NPU
    assert "#067647" in rules[f"#T_t_row3_col{column}"]  # REVERSE_V2: on the NPU
    # REVERSE_V2 runs on the NPU: no longer a row that no delegate takes (amber).
    assert "#fff4d6" not in rules.get("#T_t_row3_col0", "")
    plain = style_ops(ops_table(model)).set_uuid("t").to_html()
    assert "#T_t_row3_col0" in plain and "#fff4d6" in plain.split("#T_t_row3_col0")[1].split("}")[0]


def test_a_registered_delegate_is_an_overlay(npu):
    data, model = _chain()
    ops = ops_table(model, targets=["npu"])
    assert overlay_names(ops.columns) == ("error", "gpu", "xnnpack", "npu", "kind", "quantized")
    assert "npu" not in overlay_names(ops_table(model).columns)
    table = overlay_table(ops, "npu", model)
    assert table["label"].tolist() == ["CPU" if op == "TANH" else "NPU" for op in ops["op"]]
    legend = overlay_legend("npu", table)
    assert legend["title"] == "where each op runs on the test NPU"
    assert legend["entries"][0]["label"] == "NPU partitions 1, 3, …"
    assert legend["partitions"] == {"0": 4}
    with pytest.raises(ValueError, match="no 'npu' column"):
        overlay_table(ops_table(model), "npu", model)
    from tfl_jupyter.widgets.netron_view import overlay_tables

    assert "npu" in overlay_tables(tj.inspect(data, targets=["npu"]))
    assert "npu" not in overlay_tables(tj.inspect(data))


def test_a_registered_target_is_in_the_panel(npu):
    from tfl_jupyter.widgets.panel.history import OK
    from tfl_jupyter.widgets.panel.tabs.graph import _ops_columns as graph_columns
    from tfl_jupyter.widgets.panel.tabs.ops import OpsView

    _, model = _chain()
    ops = ops_table(model, targets=["npu"])
    view = OpsView()
    view.show(SimpleNamespace(status=OK, result=SimpleNamespace(ops=ops, op_summary=op_summary(ops))))
    assert "<th>npu</th>" in view.html.value
    view.mode.value = "Every operator"
    assert "<th>npu</th>" in view.html.value
    rows = view.html.value.split("<tbody>")[1].split("</tr>")
    assert "tfl-warn" not in rows[3]  # REVERSE_V2: the NPU takes it
    assert "npu" in graph_columns()


def test_the_magic_help_and_inspect_docstring_read_the_registry():
    from tfl_jupyter.magics import TFLiteMagics

    doc = " ".join(TFLiteMagics.tflite_convert.__doc__.split())
    assert ("--targets LIST Device targets the op tables judge besides XNNPACK and GPU, "
            "comma-separated: micro, edgetpu, litert_gpu (default micro). Implies --ops.") in doc
    assert "coloured by OVERLAY: gpu, xnnpack, litert_gpu, kind, quantized, or error (with --compare)" in doc
    probe = """
from tfl_jupyter.core.op_support.targets import TARGETS, Target
TARGETS["npu"] = Target("npu", "NPU", "a test NPU", lambda ctx, facts: (True, ""), partitions=True)
from tfl_jupyter.magics import TFLiteMagics
import tfl_jupyter as tj
print(" ".join(TFLiteMagics.tflite_convert.__doc__.split()))
print(" ".join(tj.inspect.__doc__.split()))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    help_text, inspect_doc = done.stdout.splitlines()
    assert "comma-separated: micro, edgetpu, litert_gpu, npu (default micro)" in help_text
    assert "coloured by OVERLAY: gpu, xnnpack, litert_gpu, npu, kind, quantized, or error" in help_text
    assert ("besides XNNPACK and GPU: ``'micro'`` (TFLite Micro, the default), ``'edgetpu'`` "
            "(the Edge TPU compiler), ``'litert_gpu'`` (LiteRT's GPU accelerator, ML Drift over WebGPU, "
            "measured: opt-in) and ``'npu'`` (a test NPU)") in inspect_doc


def test_a_measured_target_takes_its_verdicts_from_the_measurement(monkeypatch):
    """How a target judged by running the model plugs in: ops_table(measured=...) hands
    each op's measured verdict to the target's verdict function as facts.measured."""
    def probe_verdict(ctx, facts):
        if ctx.kind == "flex":
            return False, "Flex ops never run on the probe"
        return facts.measured if facts.measured is not None else (False, "not in the measurement")

    monkeypatch.setitem(TARGETS, "probe", Target(
        "probe", "Probe", "a measured test target", probe_verdict, partitions=True,
        max_partitions=1, needs_measurement=True, overlay_title="where the probe ran each op"))
    data, model = _chain()
    assert "probe" not in ops_table(model).columns  # opt-in
    with pytest.raises(ValueError, match="measured="):
        ops_table(model, targets=["probe"])
    # Look-alike ops measured differently (the four MULs, ADDs) each get their own verdict.
    measured = {(0, i): (i % 2 == 0, "" if i % 2 == 0 else f"refused op {i}") for i in range(14)}
    ops = ops_table(model, targets=["probe"], measured={"probe": measured})
    assert ops["probe"].tolist() == [i % 2 == 0 for i in range(14)] + [False]
    assert ops["notes"][5].endswith("Probe: refused op 5")
    assert ops["notes"][14].endswith("Probe: not in the measurement")
    found = partitions(ops, "probe")
    assert len(found) == 7 and found["delegated"].sum() == 1
    assert "Probe: 7 partitions" in op_summary(ops).attrs["caption"]
    assert "probe" in overlay_names(ops.columns)
