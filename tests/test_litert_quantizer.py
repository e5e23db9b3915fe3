"""``quantizer="litert"``: a float conversion, then the real LiteRT Quantizer, side by side with the converter."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.settings import PRESETS, resolve_settings

pytest.importorskip("litert_quantizer")

# Error bounds on softmax outputs (probabilities in [0, 1]), the same for both paths. Measured
# here (LiteRT Quantizer / converter): dynamic max_abs_error 4.6e-4 / 4.5e-8 on the CNN (the
# converter keeps layers under 1024 weights float), 1.3e-3 / 1.0e-3 on the dense model; static
# int8 0.012 / 0.0023 on the CNN, 0.10 / 0.0096 on the dense model (SQNR 21 / 44 dB): the
# quantizer's min/max calibration is a moving average over batch-1 samples, so its ranges are
# narrower than the converter's, and it quantizes that model's input and output to int8.
BOUNDS = {"dynamic": {"max_abs_error": 0.01, "sqnr_db": 40.0}, "int8": {"max_abs_error": 0.15, "sqnr_db": 18.0}}


@pytest.fixture(scope="module")
def cnn(keras):
    """Conv, depthwise conv, pooling and a dense softmax head: the ops the quantizer covers."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="cnn")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 16, 16, 3)).astype(np.float32), rng.normal(size=(64, 16, 16, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def static_int8(cnn, images):
    return tj.convert(cnn, quantize="int8", quantizer="litert", representative_dataset=images[0])


# ---- both paths, measured side by side -----------------------------------------------------


@pytest.mark.parametrize("preset", ["dynamic", "int8"])
@pytest.mark.parametrize("model_name", ["cnn", "tiny_model"])
def test_the_quantizer_path_agrees_with_the_float_model_within_the_converter_paths_bounds(preset, model_name, request, images, calib):
    model = request.getfixturevalue(model_name)
    data, test = images if model_name == "cnn" else (calib, np.random.default_rng(5).normal(size=(64, 8)).astype(np.float32))
    for quantizer in ("converter", "litert"):
        result = tj.convert(model, quantize=preset, quantizer=quantizer, representative_dataset=data)
        summary = result.compare(test).summary
        assert summary["max_abs_error"].max() <= BOUNDS[preset]["max_abs_error"], (quantizer, summary)
        assert summary["sqnr_db"].min() >= BOUNDS[preset]["sqnr_db"], (quantizer, summary)
    litert = tj.convert(model, quantize=preset, quantizer="litert", representative_dataset=data)
    assert litert.settings.recipe_name.startswith(PRESETS[preset].recipe)
    assert {"int8": "int8", "dynamic": "dynamic-range"}[preset] in set(litert.ops["quant_scheme"])  # it did quantize


def test_static_int8_quantizes_activations_with_float_io(static_int8):
    ops = static_int8.ops
    assert set(ops.loc[ops["op"] == "CONV_2D", "quant_scheme"]) == {"int8"}
    assert [t.dtype for t in static_int8.inputs] == ["float32"]
    assert static_int8.settings.uses_representative_dataset
    assert any("LiteRT Quantizer" in note for note in static_int8.notes)


def test_int8_full_keeps_the_quantizers_int8_io(cnn, images):
    result = tj.convert(cnn, quantize="int8-full", quantizer="litert", representative_dataset=images[0])
    assert [t.dtype for t in result.inputs + result.outputs] == ["int8", "int8"]
    assert result.compare(images[1]).summary["max_abs_error"].max() <= BOUNDS["int8"]["max_abs_error"]


def test_int16x8_maps_to_the_int16_activation_recipe_and_reuses_the_int8_calibration(cnn, images):
    from tfl_jupyter.core.worker import litert

    litert._CALIBRATIONS.clear()
    alone = tj.convert(cnn, quantize="int16x8", quantizer="litert", representative_dataset=images[0])
    assert "int16x8" in set(alone.ops["quant_scheme"])
    assert json.loads(alone.recipe)[0]["op_config"]["activation_tensor_config"]["num_bits"] == 16
    litert._CALIBRATIONS.clear()
    tj.convert(cnn, quantize="int8", quantizer="litert", representative_dataset=images[0])
    after_int8 = tj.convert(cnn, quantize="int16x8", quantizer="litert", representative_dataset=images[0])
    assert any("calibration reused" in note for note in after_int8.notes)
    assert after_int8.tflite_model == alone.tflite_model


# ---- the recipe -----------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", ["static_wi8_ai8", "dynamic_wi4_afp32", "weight_only_wi8_afp32"])
def test_the_recipe_round_trips_to_a_byte_identical_model(cnn, images, recipe, tmp_path):
    first = tj.convert(cnn, quantizer="litert", recipe=recipe, representative_dataset=images[0])
    rules = json.loads(first.recipe)
    assert isinstance(rules, list) and rules[0]["regex"] == ".*"
    again = tj.convert(cnn, quantizer="litert", recipe=first.recipe, representative_dataset=images[0])
    assert again.tflite_model == first.tflite_model
    assert again.recipe == first.recipe
    path = tmp_path / "recipe.json"
    path.write_text(first.recipe)
    from_file = tj.convert(cnn, quantizer="litert", recipe=str(path), representative_dataset=images[0])
    assert from_file.tflite_model == first.tflite_model
    from_rules = tj.convert(cnn, quantizer="litert", recipe=rules, representative_dataset=images[0])
    assert from_rules.tflite_model == first.tflite_model


def test_a_converter_result_has_no_recipe(tiny_model):
    assert tj.convert(tiny_model, quantize="dynamic").recipe is None


# ---- int4 weights ---------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", ["dynamic_wi4_afp32", "weight_only_wi4_afp32"])
def test_int4_weights_show_in_ops_and_op_summary_and_run_in_litert(cnn, images, recipe):
    result = tj.convert(cnn, quantizer="litert", recipe=recipe)
    ops = result.ops
    assert any("int4" in types for types in ops["input_types"])
    assert any(w.startswith("int4") for w in ops["weights_quant"])
    assert any("int4 weights" in scheme for scheme in result.op_summary["quant_scheme"])
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=result.tflite_model)
    runner = interpreter.get_signature_runner()
    scores = next(iter(runner(image=images[1][:1]).values()))
    assert scores.shape == (1, 5) and np.isclose(scores.sum(), 1.0, atol=1e-3)
    assert result.compare(images[1]).summary["max_abs_error"].max() < 0.1


# ---- selective quantization -----------------------------------------------------------------


def test_a_denylisted_tensor_stays_float(static_int8, images):
    mean = static_int8.ops.loc[static_int8.ops["op"] == "MEAN"]
    assert set(mean["quant_scheme"]) == {"int8"}
    tensor = static_int8.model.subgraphs[0].tensors[mean["outputs"].iloc[0][0]].name
    fixed, comparison = static_int8.requantize([tensor], samples=images[1])
    ops = fixed.ops
    assert set(ops.loc[ops["op"] == "MEAN", "output_types"]) == {("float32",)}
    assert set(ops.loc[ops["op"] == "CONV_2D", "quant_scheme"]) == {"int8"}  # the rest stays int8
    rules = json.loads(fixed.recipe)
    assert rules[-1]["algorithm_key"] == "no_quantize" and tensor.replace("/", "") in rules[-1]["regex"].replace("\\", "").replace("/", "")
    assert fixed.denylisted_nodes == (tensor,)
    assert "no_quantize" in fixed.notes[-1]
    embedded = fixed.code.split('json.loads(r"""', 1)[1].split('""")', 1)[0]
    assert json.loads(embedded) == rules  # .code carries the recipe with its rule
    assert tj.convert(static_int8.source.obj, quantizer="litert", recipe=fixed.recipe,
                      representative_dataset=images[0]).tflite_model == fixed.tflite_model
    assert comparison.summary["max_abs_error"].max() < BOUNDS["int8"]["max_abs_error"]


def test_a_denylisted_op_type_stays_float(static_int8, images):
    fixed, _ = static_int8.requantize("FULLY_CONNECTED", samples=images[1])
    ops = fixed.ops
    assert set(ops.loc[ops["op"] == "FULLY_CONNECTED", "quant_scheme"]) == {"float32"}
    assert fixed.denylisted_ops == ("FULLY_CONNECTED",)


# ---- .code ----------------------------------------------------------------------------------


def test_code_converts_to_float_then_quantizes_with_the_recipe(cnn, images, static_int8, tmp_path):
    result = tj.convert(cnn, quantize="int8", quantizer="litert", representative_dataset=images[0],
                        source_name="cnn", dataset_name="calib")
    code = result.code
    assert "from litert_quantizer import Quantizer" in code and "quantizer.calibrate(" in code
    assert "converter.optimizations" not in code  # the converter converts to float only
    target = tmp_path / "model.tflite"
    namespace = {"cnn": cnn, "calib": images[0]}
    exec(code.replace("'model.tflite'", repr(str(target))), namespace)  # noqa: S102 - our own generated code
    written = tj.inspect(str(target))
    assert set(written.ops.loc[written.ops["op"] == "CONV_2D", "quant_scheme"]) == {"int8"}


# ---- bad input ------------------------------------------------------------------------------


def _one_line_error(kind, call, *words):
    with pytest.raises(kind) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_bad_recipes_are_one_line_errors_and_write_no_file(cnn, tmp_path):
    out = tmp_path / "out.tflite"
    not_json = tmp_path / "recipe.json"
    not_json.write_text("regex: .*\n")
    bad = [
        ("dynamic_wi4_afp", ["did you mean 'dynamic_wi4_afp32'"]),
        (str(not_json), ["is not JSON"]),
        ('[{"regex": ".*", "operation": "*", "algorithm_key": "bogus"}]', ["rejects the recipe"]),
        ('{"not": "a list"}', ["rejects the recipe"]),
    ]
    for recipe, words in bad:
        _one_line_error(ValueError, lambda: tj.convert(cnn, quantizer="litert", recipe=recipe, output_file=str(out)), *words)
        assert not out.exists()


def test_settings_that_have_no_equivalent_on_the_quantizer_path():
    _one_line_error(ValueError, lambda: resolve_settings("float16", quantizer="litert"), "no LiteRT Quantizer recipe", "quantizer='converter'")
    _one_line_error(ValueError, lambda: resolve_settings("dynamic", quantizer="litert", recipe="dynamic_wi4_afp32"), "not both")
    _one_line_error(ValueError, lambda: resolve_settings(quantizer="litert", recipe="x", supported_ops=["TFLITE_BUILTINS_INT8"]), "converter setting")
    _one_line_error(ValueError, lambda: resolve_settings(quantizer="lite"), "did you mean 'litert'")
    _one_line_error(ValueError, lambda: resolve_settings(recipe="static_wi8_ai8", quantizer="converter"), "quantizer='litert'")
    _one_line_error(ValueError, lambda: resolve_settings("int8", quantizer="litert"), "representative dataset")


def test_a_calibrating_recipe_without_data_is_a_one_line_error(cnn):
    _one_line_error(ValueError, lambda: tj.convert(cnn, quantizer="litert", recipe="static_wi8_ai8"), "representative dataset")


def test_without_the_extra_it_says_how_to_install(cnn, monkeypatch):
    from tfl_jupyter.core.worker import litert

    monkeypatch.setattr(litert.importlib.util, "find_spec", lambda name: None)
    message = _one_line_error(ImportError, lambda: tj.convert(cnn, quantizer="litert", quantize="dynamic"), "pip install 'tfl_jupyter[quantizer]'")
    assert "LiteRT Quantizer" in message
    assert tj.convert(cnn, quantize="dynamic").settings.quantizer == "converter"  # the converter path is untouched


def test_in_process_conversion_takes_the_same_path(cnn):
    worker = tj.convert(cnn, quantizer="litert", recipe="dynamic_wi8_afp32")
    here = tj.convert(cnn, quantizer="litert", recipe="dynamic_wi8_afp32", in_process=True)
    assert here.recipe == worker.recipe
    assert set(here.ops["quant_scheme"]) == set(worker.ops["quant_scheme"])
    assert os.path.basename(here.entry_point).startswith("from_")


# ---- the magic ------------------------------------------------------------------------------


def test_the_magic_takes_quantizer_and_recipe(ipython, cnn, images, capsys):
    ipython.user_ns.update(litert_cnn=cnn, litert_calib=images[0])
    try:
        outcome = ipython.run_cell("%tflite_convert litert_cnn --quantizer litert --recipe dynamic_wi4_afp32 -o litert_r --quiet")
        assert outcome.error_in_exec is None
        result = ipython.user_ns["litert_r"]
        assert result.settings.quantizer == "litert" and '"num_bits": 4' in result.recipe
        ipython.user_ns["litert_recipe"] = result.recipe
        again = ipython.run_cell("%tflite_convert litert_cnn --quantizer litert --recipe litert_recipe -o litert_r2 --quiet")
        assert again.error_in_exec is None and ipython.user_ns["litert_r2"].tflite_model == result.tflite_model
        capsys.readouterr()
        ipython.run_cell("%tflite_convert litert_cnn --quantizer litert --recipe no_such_recipe")
        said = capsys.readouterr()
        assert "unknown LiteRT Quantizer recipe 'no_such_recipe'" in said.out + said.err
    finally:
        for name in ("litert_cnn", "litert_calib", "litert_r", "litert_r2", "litert_recipe", "_tflite_error"):
            ipython.user_ns.pop(name, None)


# ---- the sweep ------------------------------------------------------------------------------


def test_sweep_puts_both_paths_in_one_table(cnn, images):
    table = tj.sweep(cnn, ["float", "dynamic", "float16", "int8"], quantizers=("converter", "litert"),
                     recipes=["dynamic_wi4_afp32", "weight_only_wi4_afp32"], representative_dataset=images[0],
                     samples=images[1], parallel=False, progress=False)
    assert list(table.index) == ["float", "dynamic", "float16", "int8", "dynamic (litert)", "int8 (litert)",
                                 "dynamic_wi4_afp32", "weight_only_wi4_afp32"]
    assert table["error"].isna().all() if "error" in table else True
    assert table.loc["int8 (litert)", "max_abs_error"] <= BOUNDS["int8"]["max_abs_error"]
    assert table.loc["dynamic_wi4_afp32", "size_bytes"] < table.loc["dynamic (litert)", "size_bytes"]
    assert {"float_ops", "sqnr_db"} <= set(table.columns) and any(c.startswith("latency_ms") for c in table.columns)
    assert any("float16" in note and "LiteRT" in note for note in table.notes)
    assert table.results["int8 (litert)"].settings.quantizer == "litert"


def test_sweep_checks_its_quantizers(cnn):
    _one_line_error(ValueError, lambda: tj.sweep(cnn, ["dynamic"], quantizers=("converter", "tflite")), "quantizers takes converter, litert")


def test_layers_of_a_litert_result_name_tensors_that_requantize_keeps_in_float(static_int8, images):
    comparison = static_int8.compare(images[1], n=16)
    layers = comparison.layers
    assert len(layers) >= 3 and set(layers["op"]) >= {"CONV_2D", "FULLY_CONNECTED"}
    assert (layers["rmse"] >= 0).all() and (layers["scale"] > 0).all()
    worst = layers.iloc[:1]
    fixed, _ = static_int8.requantize(worst, samples=images[1])
    assert fixed.denylisted_nodes == (worst["tensor"].iloc[0],)
    kept = fixed.ops[fixed.ops["op"] == worst["op"].iloc[0]]
    assert ("float32",) in set(kept["output_types"])


def test_a_hadamard_recipe_runs_at_a_fixed_batch_and_says_so_at_a_dynamic_one(cnn, images):
    dynamic = tj.convert(cnn, quantizer="litert", recipe="dynamic_wi8_afp32_hadamard")
    assert any("batch_size=1" in note and "Hadamard" in note for note in dynamic.notes)
    fixed = tj.convert(cnn, quantizer="litert", recipe="dynamic_wi8_afp32_hadamard", batch_size=1)
    assert not any("Hadamard" in note for note in fixed.notes)
    assert fixed.compare(images[1], n=16).summary["max_abs_error"].max() < BOUNDS["dynamic"]["max_abs_error"]
    # The dynamic-batch model fails to prepare at a bigger batch: compare runs it one sample at a time.
    compared = dynamic.compare(images[1], n=16).summary
    assert compared["max_abs_error"].max() < BOUNDS["dynamic"]["max_abs_error"]
