"""``result.compare()``, ``.layers`` and ``result.requantize()``: real conversions of tiny models.

Metrics are checked against an independent NumPy computation on the arrays, the converted
outputs against the LiteRT interpreter driven by hand, and the (de)quantization against
hand-computed values.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.compare.calibration import CalibratedModels, calibrated_model, known_calibrated_model
from tfl_jupyter.core.compare.metrics import output_metrics
from tfl_jupyter.core.compare.quantization import dequantize, quantize
from tfl_jupyter.core.result import ConversionResult
from tfl_jupyter.core.settings import ConversionSettings
from tfl_jupyter.core.sources import ModelSource

METRICS = ["max_abs_error", "mean_abs_error", "rmse", "cosine_similarity", "sqnr_db"]


# ---- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def int8(tiny_model, calib):
    return tj.convert(tiny_model, quantize="int8", representative_dataset=calib)


@pytest.fixture(scope="module")
def int8_full(tiny_model, calib):
    return tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib)


@pytest.fixture(scope="module")
def float_result(tiny_model):
    return tj.convert(tiny_model)


@pytest.fixture(scope="module")
def int8_comparison(int8):
    return int8.compare(progress=False)


def hand_run(tflite_model: bytes, x: np.ndarray) -> np.ndarray:
    """Run a one-input, one-output model sample by sample with the LiteRT interpreter, (de)quantizing by hand."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite_model)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    results = []
    for sample in x:
        value = sample[None]
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            value = np.clip(np.round(value / scale) + zero, info.min, info.max).astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], value)
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"])
        if out["dtype"] != np.float32:
            scale, zero = out["quantization"]
            raw = (raw.astype(np.float64) - zero) * scale
        results.append(raw[0])
    return np.array(results)


# ---- metrics ---------------------------------------------------------------------------


def numpy_metrics(ref: np.ndarray, out: np.ndarray) -> dict:
    """The metrics written out plainly, sample by sample, for comparison with the package's."""
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    errors = (out - ref).ravel()
    cosines = []
    for r, o in zip(ref.reshape(len(ref), -1), out.reshape(len(out), -1)):
        cosines.append(np.dot(r, o) / (np.sqrt(np.dot(r, r)) * np.sqrt(np.dot(o, o))))
    return {
        "max_abs_error": max(abs(e) for e in errors),
        "mean_abs_error": sum(abs(e) for e in errors) / len(errors),
        "rmse": (sum(e * e for e in errors) / len(errors)) ** 0.5,
        "cosine_similarity": sum(cosines) / len(cosines),
        "sqnr_db": 10 * np.log10(sum(v * v for v in ref.ravel()) / sum(e * e for e in errors)),
    }


def test_metrics_match_an_independent_numpy_computation():
    rng = np.random.default_rng(7)
    ref = rng.normal(size=(20, 12)).astype(np.float32)
    out = ref + rng.normal(scale=0.05, size=ref.shape).astype(np.float32)
    out[3] = ref[3][::-1]  # one sample with a different arg-max
    got = output_metrics(ref, out)
    for name, expected in numpy_metrics(ref, out).items():
        assert got[name] == pytest.approx(expected, rel=1e-9), name
    top1 = np.mean([np.argmax(r) == np.argmax(o) for r, o in zip(ref, out)])
    top5 = np.mean([np.argmax(r) in np.argsort(o)[-5:] for r, o in zip(ref, out)])
    assert got["top1_agreement"] == pytest.approx(top1) and got["top1_agreement"] < 1
    assert got["top5_agreement"] == pytest.approx(top5)


def test_metrics_edge_cases():
    ref = np.arange(12, dtype=np.float32).reshape(3, 4)
    exact = output_metrics(ref, ref.copy())
    assert exact["rmse"] == 0 and exact["max_abs_error"] == 0
    assert exact["sqnr_db"] == float("inf") and exact["cosine_similarity"] == pytest.approx(1.0)
    assert exact["top1_agreement"] == 1.0 and "top5_agreement" not in exact  # 4 classes: no top-5
    images = output_metrics(np.ones((2, 4, 4, 3)), np.ones((2, 4, 4, 3)))
    assert "top1_agreement" not in images  # not class scores
    with pytest.raises(ValueError, match="shapes differ"):
        output_metrics(np.zeros((2, 3)), np.zeros((2, 4)))


def test_quantize_and_dequantize_by_hand_int8():
    x = np.array([1.2, -1.3, 0.25, -0.25, 100.0, -100.0])
    # scale 0.5, zero point -3: x/0.5 = 2.4, -2.6, 0.5, -0.5, 200, -200 -> rounded half away from zero
    assert quantize(x, 0.5, -3, np.int8).tolist() == [-1, -6, -2, -4, 127, -128]
    assert quantize(x, 0.5, -3, np.int8).dtype == np.int8
    assert dequantize(np.array([-1, -6, 127, -128], np.int8), 0.5, -3).tolist() == [1.0, -1.5, 65.0, -62.5]


def test_quantize_and_dequantize_by_hand_uint8():
    x = np.array([0.26, 0.0, -20.0, 12.74, 30.0])
    # scale 0.1, zero point 128: 2.6 -> 3, 0, -200 -> saturates, 127.4 -> 127, 300 -> saturates
    assert quantize(x, 0.1, 128, np.uint8).tolist() == [131, 128, 0, 255, 255]
    assert dequantize(np.array([131, 128, 0, 255], np.uint8), 0.1, 128) == pytest.approx([0.3, 0.0, -12.8, 12.7])


# ---- compare: what is measured ---------------------------------------------------------


def test_summary_matches_numpy_on_the_raw_outputs(int8_comparison, int8, tiny_model, calib):
    summary = int8_comparison.summary
    assert list(summary.index) == ["output_0"]
    assert {*METRICS, "top1_agreement"} <= set(summary.columns)
    reference = tiny_model.predict(calib, verbose=0)  # Keras, not our reference runner
    np.testing.assert_allclose(int8_comparison.reference_outputs["output_0"], reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(int8_comparison.outputs["output_0"], hand_run(int8.tflite_model, calib), atol=1e-6)
    expected = numpy_metrics(reference, hand_run(int8.tflite_model, calib))
    for name in METRICS:
        assert summary.loc["output_0", name] == pytest.approx(expected[name], rel=1e-4, abs=1e-6), name
    assert summary.loc["output_0", "top1_agreement"] == pytest.approx(
        np.mean(np.argmax(reference, 1) == np.argmax(hand_run(int8.tflite_model, calib), 1)))


def test_int8_io_is_quantized_and_dequantized_with_the_models_parameters(int8_full, tiny_model, calib):
    comparison = int8_full.compare(samples=calib[:10], progress=False)
    np.testing.assert_allclose(comparison.outputs["output_0"], hand_run(int8_full.tflite_model, calib[:10]), atol=1e-6)
    assert comparison.summary.loc["output_0", "dtype"] == "int8"
    assert comparison.summary.loc["output_0", "max_abs_error"] < 0.05  # dequantized, not raw int8 codes
    output = int8_full.outputs[0]
    assert any(f"scale {output.scale[0]:.6g} and zero point {output.zero_point[0]}" in n for n in comparison.notes)


def test_uint8_io(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=calib,
                        inference_input_type="uint8", inference_output_type="uint8")
    comparison = result.compare(samples=calib[:8], progress=False)
    np.testing.assert_allclose(comparison.outputs["output_0"], hand_run(result.tflite_model, calib[:8]), atol=1e-6)
    assert comparison.summary.loc["output_0", "dtype"] == "uint8"
    assert comparison.summary.loc["output_0", "max_abs_error"] < 0.05


def test_float_conversion_is_nearly_exact(float_result, calib):
    comparison = float_result.compare(samples=calib, progress=False)
    assert comparison.summary.loc["output_0", "max_abs_error"] < 1e-5
    assert comparison.summary.loc["output_0", "sqnr_db"] > 80
    assert comparison.summary.loc["output_0", "top1_agreement"] == 1.0


def test_float_tflite_splits_conversion_and_quantization_error(int8, calib):
    comparison = int8.compare(samples=calib, float_tflite=True, progress=False)
    breakdown = comparison.breakdown
    assert breakdown.loc[("output_0", "conversion (float .tflite vs TensorFlow)"), "rmse"] < 1e-5
    total = breakdown.loc[("output_0", "total (int8 vs TensorFlow)")]
    assert total["rmse"] == pytest.approx(comparison.summary.loc["output_0", "rmse"])
    quantization = breakdown.loc[("output_0", "quantization (int8 vs float .tflite)"), "rmse"]
    assert quantization == pytest.approx(total["rmse"], rel=0.05)  # almost all of it is quantization
    assert "Where the error comes from" in comparison._repr_html_()


# ---- compare: where the samples come from ----------------------------------------------


def test_default_samples_are_the_representative_dataset(int8_comparison, calib):
    assert int8_comparison.n_samples == len(calib)
    assert int8_comparison.samples_origin.startswith("the representative dataset: 32 samples (asked for 100)")
    np.testing.assert_array_equal(int8_comparison.samples["features"], calib)


def test_without_any_data_samples_are_generated(float_result, int8, calib):
    generated = float_result.compare(n=12, progress=False)
    assert generated.n_samples == 12 and "generated from the input signature" in generated.samples_origin
    assert "uniform [0, 1)" in generated.samples_origin
    # an int8 model knows the input range it was calibrated for: generated inputs follow it
    no_dataset = dataclasses.replace(int8, settings=dataclasses.replace(int8.settings, representative_dataset=None))
    ranged = no_dataset.compare(n=50, progress=False)
    assert "(calibrated range)" in ranged.samples_origin
    x = ranged.samples["features"]
    assert x.min() < -1 and x.max() > 1  # calib is N(0, 1): its range is much wider than [0, 1)
    assert calib.min() - 0.1 < x.min() and x.max() < calib.max() + 0.1


@pytest.mark.parametrize("form", ["array", "list", "dict", "tf.data", "generator", "single"])
def test_every_sample_form(form, float_result, calib, tf):
    x = calib[:6]
    samples = {
        "array": x,
        "list": [row for row in x],
        "dict": {"features": x},
        "tf.data": tf.data.Dataset.from_tensor_slices(x).batch(4),
        "generator": lambda: ([x[i : i + 1]] for i in range(len(x))),
        "single": x[0],
    }[form]
    comparison = float_result.compare(samples=samples, progress=False)
    expected = 1 if form == "single" else 6
    assert comparison.n_samples == expected
    assert comparison.samples_origin.startswith(f"your samples: {expected} sample")
    np.testing.assert_allclose(comparison.samples["features"], x[:expected])


def test_n_limits_the_samples(float_result, calib):
    assert float_result.compare(samples=calib, n=5, progress=False).n_samples == 5
    assert float_result.compare(samples=calib, n=None, progress=False).n_samples == len(calib)


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros((4, 9), np.float32), r"input 'features': shape \(1, 9\) does not fit the model's \(None, 8\)"),
        (np.array([["a"] * 8] * 2), r"input 'features': dtype .* does not fit the model's float32"),
        ({"nope": np.zeros((2, 8), np.float32)}, r"input names \['nope'\] do not match the model's \['features'\]"),
        ([], "samples= holds no samples"),
    ],
)
def test_mismatched_samples_get_a_clear_message(float_result, samples, message):
    with pytest.raises(ValueError, match=message):
        float_result.compare(samples=samples, progress=False)


def test_two_inputs_by_name_by_position_and_wrong_count(two_input_model):
    result = tj.convert(two_input_model)
    rng = np.random.default_rng(0)
    zeta, alpha = rng.random((5, 4), dtype=np.float32), rng.random((5, 3), dtype=np.float32)
    by_name = result.compare(samples={"alpha": alpha, "zeta": zeta}, progress=False)
    by_position = result.compare(samples=[zeta, alpha], progress=False)  # the model.predict form
    expected = two_input_model.predict([zeta, alpha], verbose=0)
    for comparison in (by_name, by_position):
        np.testing.assert_allclose(comparison.reference_outputs["output_0"], expected, rtol=1e-5)
        assert comparison.summary.loc["output_0", "max_abs_error"] < 1e-5
    with pytest.raises(ValueError, match=r"has 1 array\(s\) but the model has 2 input\(s\)"):
        result.compare(samples=zeta, progress=False)
    with pytest.raises(ValueError, match="different lengths"):
        result.compare(samples={"zeta": zeta, "alpha": alpha[:3]}, progress=False)


def test_outputs_are_matched_by_name_not_graph_order(two_outputs):
    result = tj.convert(two_outputs)
    graph_order = [t.name for t in result.outputs]
    comparison = result.compare(n=6, progress=False)
    assert list(comparison.summary.index) == ["output_0", "output_1"]
    assert comparison.summary["shape"].tolist() == ["(2,)", "(5,)"]
    assert (comparison.summary["max_abs_error"] < 1e-5).all(), graph_order


def test_saved_model_signatures(saved_model_dir):
    both = tj.convert(str(saved_model_dir))
    with pytest.raises(ValueError, match="several signatures"):
        both.compare(progress=False)
    x = np.array([[1, -2, 3, -4]], np.float32)
    shifted = both.compare(samples={"x": x}, signature_key="shifted", progress=False)
    np.testing.assert_allclose(shifted.reference_outputs["y"], x + 2)
    np.testing.assert_allclose(shifted.outputs["y"], x + 2)
    one = tj.convert(str(saved_model_dir), signature_keys=["serving_default"])
    scaled = one.compare(samples=x, progress=False)
    np.testing.assert_allclose(scaled.outputs["y"], np.maximum(x * 2, 0))


def test_concrete_function_outputs_in_flattened_order(tf):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def two(x):
        return {"b_sum": tf.reduce_sum(x, axis=1, keepdims=True), "a_double": x * 2}

    result = tj.convert(two)
    comparison = result.compare(samples=np.ones((4, 3), np.float32), progress=False)
    assert list(comparison.summary.index) == ["a_double", "b_sum"]
    np.testing.assert_allclose(comparison.outputs["a_double"], 2 * np.ones((4, 3)))
    np.testing.assert_allclose(comparison.outputs["b_sum"], 3 * np.ones((4, 1)))


def test_fixed_batch_model_runs_sample_by_sample(keras, calib):
    inputs = keras.Input((8,), batch_size=1, name="features")
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    result = tj.convert(model)
    assert result.inputs[0].shape_signature[0] == 1
    comparison = result.compare(samples=calib[:7], progress=False)
    assert comparison.n_samples == 7
    np.testing.assert_allclose(comparison.outputs["output_0"], model.predict(calib[:7], verbose=0), rtol=1e-5, atol=1e-6)


def test_a_model_the_interpreter_cannot_run_is_explained(tf):
    @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float32)])
    def inverse(x):
        return tf.linalg.inv(x)  # MatrixInverse has no builtin: a Flex op

    result = tj.convert(inverse, supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"])
    with pytest.raises(RuntimeError, match=r"cannot run this model .*Flex ops \(FlexMatrixInverse\).*without SELECT_TF_OPS"):
        result.compare(samples=np.eye(3, dtype=np.float32)[None], progress=False)


def test_an_interrupt_leaves_the_kernel_usable(float_result, calib):
    def interrupted():
        for i in range(len(calib)):
            if i == 3:
                raise KeyboardInterrupt
            yield [calib[i : i + 1]]

    with pytest.raises(KeyboardInterrupt):
        float_result.compare(samples=interrupted, progress=False)
    assert float_result.compare(samples=calib[:4], progress=False).n_samples == 4


# ---- display ---------------------------------------------------------------------------


def test_html_embeds_the_table_and_png_plots(int8_comparison):
    html = int8_comparison._repr_html_()
    assert html.count("<img") == 1 and "data:image/png;base64," in html
    for column in METRICS + ["top1_agreement"]:
        assert column in html
    assert "the representative dataset" in html and ".layers" in html
    assert "sqnr_db" in repr(int8_comparison)


def test_plot_returns_a_figure_with_scatter_and_histogram(int8_comparison):
    figure = int8_comparison.plot()
    assert len(figure.axes) == 2
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no output 'nope'"):
        int8_comparison.plot("nope")


def test_progress_bars_can_be_shown(float_result, calib, capsys):
    float_result.compare(samples=calib, progress=True)
    assert "reference (TensorFlow)" in capsys.readouterr().err


# ---- per-layer error and requantize ----------------------------------------------------


def test_layers_table(int8_comparison, int8):
    layers = int8_comparison.layers
    assert {"op", "tensor", "rmse_over_scale", "suspect", "rmse", "scale", "zero_point"} <= set(layers.columns)
    assert {"FULLY_CONNECTED", "SOFTMAX"} <= set(layers["op"])
    ratios = layers["rmse_over_scale"].to_numpy()
    assert (np.diff(ratios) <= 0).all()  # worst first
    np.testing.assert_allclose(ratios, layers["rmse"] / layers["scale"])
    assert (layers["suspect"] == (layers["rmse_over_scale"] > 0.7)).all()
    assert int8_comparison.suspects == list(layers.loc[layers["suspect"], "tensor"])
    assert "Per-layer error" in int8_comparison._repr_html_()
    assert len(int8_comparison.plot_layers().axes) == 1


def test_layers_need_an_int8_model(tiny_model):
    comparison = tj.convert(tiny_model, quantize="dynamic").compare(n=4, progress=False)
    with pytest.raises(ValueError, match="needs a model with calibrated int8 activations"):
        comparison.layers


def test_requantize_with_nothing_denied_reproduces_the_model(int8, int8_comparison):
    again, comparison = int8.requantize(denylist=[], samples=int8_comparison.samples["features"], progress=False)
    assert abs(again.size_bytes - int8.size_bytes) <= 0.02 * int8.size_bytes
    assert [op.op for op in again.model.subgraphs[0].operators] == [op.op for op in int8.model.subgraphs[0].operators]
    assert comparison.summary.loc["output_0", "rmse"] == pytest.approx(int8_comparison.summary.loc["output_0", "rmse"], rel=1e-3)


def test_requantize_keeps_denied_ops_in_float(int8_comparison, int8):
    fully_connected = int8_comparison.layers.query("op == 'FULLY_CONNECTED'")["tensor"].iloc[0]
    outcome = int8_comparison.requantize(["SOFTMAX", fully_connected])
    table = outcome.table
    assert table.loc["after", "float_ops"] >= 2 > table.loc["before", "float_ops"]
    assert table.loc["after", "size_bytes"] > table.loc["before", "size_bytes"]  # float weights take room
    assert table.loc["after", "rmse"] < table.loc["before", "rmse"]
    assert outcome.baseline is int8_comparison  # same samples, same reference
    assert "kept in float: op types SOFTMAX; 1 tensor(s)" in outcome.result.notes[-1]
    assert outcome.result.settings == int8.settings and outcome.result.source is int8.source
    assert "Requantized" in outcome._repr_html_()


def test_requantizing_a_requantized_model_adds_to_its_denylist(int8, calib):
    first, _ = int8.requantize(denylist=["SOFTMAX"], samples=calib[:8], progress=False)
    second, comparison = first.requantize(denylist=["FULLY_CONNECTED"], samples=calib[:8], progress=False)
    assert "op types SOFTMAX, FULLY_CONNECTED" in second.notes[-1]
    float_ops = {op.op for op in second.model.subgraphs[0].operators
                 if second.model.subgraphs[0].tensors[op.outputs[0]].dtype == "float32"}
    assert {"SOFTMAX", "FULLY_CONNECTED"} <= float_ops
    assert comparison.layers.empty  # its layers are those of the requantized model: none left quantized
    assert comparison.suspects == []


def test_requantize_int8_full_keeps_integer_io(int8_full, calib):
    outcome = int8_full.requantize(denylist="SOFTMAX", samples=calib[:8], progress=False)
    assert outcome.result.inputs[0].dtype == "int8" and outcome.result.outputs[0].dtype == "int8"
    assert "no longer integer-only" in outcome.result.notes[-1]


def test_a_requantized_result_reuses_the_calibrated_model_and_shares_nothing_mutable(int8, calib):
    calibrated = calibrated_model(int8, progress=False)
    new, _ = int8.requantize(denylist=["SOFTMAX"], samples=calib[:8], progress=False)
    assert known_calibrated_model(new) is calibrated  # the same bytes from the cache: not calibrated again
    for f in dataclasses.fields(new):
        value = getattr(new, f.name)
        if value is getattr(int8, f.name):
            assert isinstance(value, IMMUTABLE) or _frozen(type(value)), f.name


def test_a_conversion_result_is_a_record_fixed_at_conversion():
    assert ConversionResult.__dataclass_params__.frozen
    hints = typing.get_type_hints(ConversionResult)
    for f in dataclasses.fields(ConversionResult):
        assert f.default_factory is dataclasses.MISSING, f.name  # no box or container made per result
        for kind in typing.get_args(hints[f.name]) or (hints[f.name],):
            kind = typing.get_origin(kind) or kind
            assert kind in IMMUTABLE or _frozen(kind), (f.name, kind)


def test_the_calibrated_model_cache_is_bounded_and_keyed_by_identity():
    cache = CalibratedModels(size=2)
    source = ModelSource("keras", "m")
    settings = [ConversionSettings(quantize="int8") for _ in range(3)]
    for i, each in enumerate(settings):
        cache.put(source, each, bytes([i]))
    assert cache.get(source, settings[0]) is None  # the least recently used went
    assert cache.get(source, settings[1]) == b"\x01" and cache.get(source, settings[2]) == b"\x02"
    assert cache.get(ModelSource("keras", "m"), settings[2]) is None  # equal but not the same: maybe another model


IMMUTABLE = (bytes, str, int, float, bool, tuple, type(None))


def _frozen(kind) -> bool:
    return dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen


def test_requantize_rejects_unknown_names(int8):
    with pytest.raises(ValueError, match="neither an op type .* nor a tensor of this model"):
        int8.requantize(denylist=["no/such/tensor"])
    with pytest.raises(ValueError, match="has no CONV_2D op"):
        int8.requantize(denylist=["CONV_2D"])
    with pytest.raises(ValueError, match="needs a model with calibrated int8 activations"):
        tj.convert(int8.source.obj, quantize="float16").requantize(denylist=["SOFTMAX"])
