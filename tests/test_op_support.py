"""op_support: verdicts on real converted models, checked against the runtime where we can."""
from __future__ import annotations

import pandas as pd
import pytest
from pandas.io.formats.style import Styler

from tfl_jupyter.core.op_support import (
    OPS_COLUMNS,
    SUMMARY_COLUMNS,
    op_summary,
    ops_table,
    style_ops,
)
from tfl_jupyter.core.op_support.targets import TARGETS
from tfl_jupyter.core.tflite_reader import read_model

import conftest_ops as models

# The opt-in targets (neither always judged nor by default) have no column unless asked for.
OPT_IN = {name for name, target in TARGETS.items() if not (target.always or target.default)}
DEFAULT_SUMMARY_COLUMNS = [c for c in SUMMARY_COLUMNS if c.removesuffix("_count") not in OPT_IN]


def table(name: str) -> pd.DataFrame:
    return ops_table(read_model(getattr(models, name)()))


def rows(df: pd.DataFrame, op: str) -> pd.DataFrame:
    found = df[df["op"] == op]
    assert len(found), f"no {op} in {list(df['op'])}"
    return found


@pytest.mark.parametrize("name", ["float_cnn", "int8_cnn", "int16x8_cnn", "float16_cnn",
                                  "dynamic_range_cnn", "cumsum_model", "logical_model",
                                  "concat_model"])
def test_xnnpack_verdicts_match_the_runtime(name):
    """Our XNNPACK column equals the set of nodes LiteRT's XNNPACK delegate replaced."""
    df = table(name)
    main = df[df["subgraph"] == 0]
    ours = set(main.index[main["xnnpack"]])
    assert ours == models.delegated_by_xnnpack(getattr(models, name)())
    assert all(main.loc[~main["xnnpack"], "notes"].str.contains("XNNPACK: "))


def test_columns_and_dtypes():
    df = table("int8_cnn")
    assert list(df.columns) == [c for c in OPS_COLUMNS if c not in OPT_IN]
    for col in ("quantized", "xnnpack", "gpu", "micro"):
        assert df[col].dtype == bool
    assert list(df["index"]) == list(range(len(df)))
    conv = rows(df, "CONV_2D").iloc[0]
    assert conv["input_types"] == ("int8", "int8", "int32")
    assert conv["input_shapes"][0] == (1, 16, 16, 3)
    assert conv["output_shapes"] == ((1, 14, 14, 16),)
    assert conv["activation"] == "RELU"


def test_kinds_builtin_flex_custom():
    flex = table("flex_model")
    op = rows(flex, "FlexStringLength").iloc[0]
    assert op["kind"] == "flex" and op["tf_op"] == "StringLength"
    assert "Select TF ops" in op["notes"]
    for where in ("tensorflow-lite-select-tf-ops AAR", "TensorFlowLiteSelectTfOps pod",
                  "microcontrollers", "GPU delegate", "Edge TPU", "installed here"):
        assert where in op["notes"], where
    assert not op["micro"] and "Micro:" not in op["notes"]  # said once, in the Flex note
    assert not op["gpu"] and not op["xnnpack"]
    custom = table("custom_model")
    op = rows(custom, "StringLength").iloc[0]
    assert op["kind"] == "custom" and op["custom_code"] == "StringLength"
    assert op["tf_op"] is None and "register your own kernel" in op["notes"]
    assert set(flex.loc[flex["op"] != "FlexStringLength", "kind"]) == {"builtin"}


def test_gpu_rejects_while_and_its_int32_body():
    df = table("while_model")
    assert set(df["subgraph"]) == {0, 1, 2}
    assert "WHILE is not supported by the GPU delegate" in rows(df, "WHILE").iloc[0]["notes"]
    body = df[df["subgraph"] == 2]
    int_add = body[body["input_types"] == ("int32", "int32")].iloc[0]
    assert not int_add["gpu"] and "int32" in int_add["notes"]
    float_ops = body[body["input_types"] == ("float32", "float32")]
    assert len(float_ops) == 2 and float_ops["gpu"].all()


def test_gpu_cumsum_dtype_and_rank_limits():
    df = table("cumsum_model")
    cumsum = rows(df, "CUMSUM")
    float_cumsum = cumsum[cumsum["input_types"].map(lambda t: t[0] == "float32")].iloc[0]
    int_cumsum = cumsum[cumsum["input_types"].map(lambda t: t[0] == "int32")].iloc[0]
    assert float_cumsum["gpu"]  # float input, constant int32 axis: gpu_compatibility.cc allows it
    assert not int_cumsum["gpu"] and "must be float" in int_cumsum["notes"]
    add = rows(df, "ADD").iloc[0]
    assert not add["gpu"] and "rank 5" in add["notes"]
    assert add["xnnpack"]  # XNNPACK goes up to rank 6


def test_gpu_logical_ops_need_a_cast():
    df = table("logical_model")
    assert rows(df, "GREATER").iloc[0]["gpu"] and rows(df, "CAST").iloc[0]["gpu"]
    less = rows(df, "LESS").iloc[0]
    assert not less["gpu"] and "CAST" in less["notes"]


def test_gpu_version_limit():
    df = table("dynamic_range_cnn")
    fc = rows(df, "FULLY_CONNECTED")
    assert (fc["version"] > 9).all() and not fc["gpu"].any()
    assert fc["notes"].str.contains("version").all()


def test_float_model_runs_everywhere():
    df = table("float_cnn")
    assert df["gpu"].all() and df["xnnpack"].all()
    assert not df["quantized"].any() and set(df["quant_scheme"]) == {"float32"}
    assert (df["notes"] == "").all()


def test_int8_quantization_scheme():
    df = table("int8_cnn")
    conv = rows(df, "CONV_2D")
    assert conv["quantized"].all() and set(conv["quant_scheme"]) == {"int8"}
    assert set(conv["weights_quant"]) == {"per-channel (axis 0)"}
    assert set(rows(df, "DEPTHWISE_CONV_2D")["weights_quant"]) == {"per-channel (axis 3)"}
    assert rows(df, "QUANTIZE").iloc[0]["quant_scheme"] == "quantize"
    assert rows(df, "DEQUANTIZE").iloc[0]["quant_scheme"] == "dequantize"
    assert df["gpu"].all()


def test_int16x8_runs_on_no_delegate():
    df = table("int16x8_cnn")
    compute = df[~df["op"].isin(["QUANTIZE", "DEQUANTIZE"])]
    assert set(compute["quant_scheme"]) == {"int16x8"} and compute["quantized"].all()
    assert not df["gpu"].any() and not df["xnnpack"].any()
    assert compute["notes"].str.contains("int16").all()


def test_float16_weights_are_folded():
    df = table("float16_cnn")
    dequant = rows(df, "DEQUANTIZE")
    assert set(dequant["quant_scheme"]) == {"float16 weights"}
    assert not df["quantized"].any()
    assert df["gpu"].all() and df["xnnpack"].all()


def test_dynamic_range_scheme():
    df = table("dynamic_range_cnn")
    hybrid = df[df["quant_scheme"] == "dynamic-range"]
    assert len(hybrid) >= 1 and hybrid["quantized"].all()
    assert (hybrid["op"] == "FULLY_CONNECTED").all()
    assert set(hybrid["weights_quant"]) <= {"per-channel (axis 0)", "per-tensor"}
    assert hybrid["input_types"].map(lambda t: t[:2] == ("float32", "int8")).all()


def test_summary_puts_blockers_first():
    ops = pd.concat([table("flex_model"), table("custom_model"), table("int8_cnn")],
                    ignore_index=True)
    summary = op_summary(ops)
    assert list(summary.columns) == DEFAULT_SUMMARY_COLUMNS
    assert list(summary["blocker"][:2]) == ["needs custom kernel", "needs Flex runtime"]
    assert summary["count"].sum() == len(ops)
    ranks = summary["blocker"].map({"needs custom kernel": 5, "needs Flex runtime": 4,
                                    "no delegate": 3, "partly delegated": 2,
                                    "not on GPU": 1, "not on XNNPACK": 1, "": 0})
    assert ranks.is_monotonic_decreasing
    softmax = summary[summary["op"] == "SOFTMAX"].iloc[0]
    assert softmax["blocker"] in ("not on XNNPACK", "partly delegated")
    assert softmax["xnnpack_count"] < softmax["count"]
    conv = summary[summary["op"] == "CONV_2D"].iloc[0]
    assert conv["gpu"] and conv["xnnpack"] and conv["quantized"] == "all"


def test_empty_table_keeps_columns():
    empty = ops_table(read_model(models.float_cnn())).iloc[0:0]
    assert list(op_summary(empty).columns) == DEFAULT_SUMMARY_COLUMNS
    assert isinstance(style_ops(empty), Styler)


def test_style_highlights_blockers_and_folds_lists():
    ops = pd.concat([table("flex_model"), table("concat_model")], ignore_index=True)
    styled = style_ops(ops)
    assert isinstance(styled, Styler)
    html = styled.to_html()
    assert "#fde2e1" in html  # the Flex row is highlighted
    assert "… (+2)" in html  # five concat inputs folded to three
    summary_html = style_ops(op_summary(ops)).to_html()
    assert "needs Flex runtime" in summary_html


def _judged_one_by_one(model, targets=None) -> list:
    """Every operator's row, built from its own records with no grouping at all."""
    import numpy as np

    from tfl_jupyter.core.op_support.context import GraphView, OpContext
    from tfl_jupyter.core.op_support.table import check_targets, judge
    
    targets = check_targets(targets)
    rows = []
    for graph in model.subgraphs:
        view = GraphView(model, graph)
        contexts = [OpContext(op, view) for op in graph.operators]
        verdicts = [judge(ctx, targets) for ctx in contexts]
        columns = {name: np.array([v.supported[name] for v in verdicts], bool) for name in targets}
        columns["notes"] = np.array([v.notes for v in verdicts] + [None], object)[:-1]
        columns["op"] = np.array([ctx.name for ctx in contexts] + [None], object)[:-1]
        for key, side in (("input_types", "inputs"), ("output_types", "outputs")):
            columns[key] = np.array([tuple(t.dtype if t else "-" for t in getattr(ctx, side))
                                     for ctx in contexts] + [None], object)[:-1]
        for name in targets:  # the whole-graph steps (the Edge TPU's), applied to both sides alike
            if TARGETS[name].graph_step is not None:
                TARGETS[name].graph_step(columns, graph.index)
        for k, (op, ctx, v) in enumerate(zip(graph.operators, contexts, verdicts)):
            tensors = ctx.inputs + ctx.outputs
            rows.append((op.op, op.version, tuple(t.dtype if t else "-" for t in tensors),
                         tuple(t.shape if t else None for t in tensors), v.kind, v.quantized,
                         v.quant_scheme, v.weights_quant)
                        + tuple(bool(columns[t][k]) if t in targets else None
                                for t in ("xnnpack", "gpu", "micro", "edgetpu"))
                        + (columns["notes"][k], v.activation))
    return rows


def _grouped(df: pd.DataFrame) -> list:
    return [(r.op, r.version, r.input_types + r.output_types, r.input_shapes + r.output_shapes,
             r.kind, r.quantized, r.quant_scheme, r.weights_quant, r.xnnpack, r.gpu,
             getattr(r, "micro", None), getattr(r, "edgetpu", None), r.notes, r.activation)
            for r in df.itertuples()]


ALL_TARGETS = ("micro", "edgetpu")


@pytest.mark.parametrize("targets", [None, ALL_TARGETS])
@pytest.mark.parametrize("name", sorted(models.all_models()))
def test_grouped_table_equals_judging_each_operator(name, targets):
    """The table judges one operator per group of look-alikes; that must change nothing,
    including the tensor numbers in the notes of every member of a group."""
    model = read_model(models.all_models()[name])
    assert _grouped(ops_table(model, targets)) == _judged_one_by_one(model, targets)


def test_grouped_table_equals_judging_each_operator_on_mutants():
    import random

    data = models.int16x8_cnn()
    rng = random.Random(7)
    checked = 0
    for _ in range(150):
        mutant = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutant[rng.randrange(len(mutant))] ^= 1 << rng.randrange(8)
        try:
            model = read_model(bytes(mutant))
        except ValueError:
            continue
        for targets in (None, ALL_TARGETS):
            assert _grouped(ops_table(model, targets)) == _judged_one_by_one(model, targets)
        checked += 1
    assert checked > 50
