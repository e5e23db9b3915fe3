"""Fixed input shapes: recurrent Keras models with a dynamic batch, the fix offered when they
fail, and ``input_shapes``/``batch_size`` on every kind of source. Real conversions."""

from __future__ import annotations

import numpy as np
import pytest

import tfl_jupyter as tj

STEPS, FEATURES, VOCABULARY = 6, 3, 20


def _sequence_input(keras):
    return keras.Input((STEPS, FEATURES), name="seq")


def _gru(keras):
    inputs = _sequence_input(keras)
    x = keras.layers.GRU(4, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x), name="gru")


def _lstm(keras):
    inputs = _sequence_input(keras)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(4)(inputs)), name="lstm")


def _bidirectional(keras):
    inputs = keras.Input((STEPS,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCABULARY, 4)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4))(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x), name="bilstm")


def _stacked(keras):
    inputs = _sequence_input(keras)
    x = keras.layers.LSTM(4, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(4)(x)), name="stacked")


def _conv_lstm(keras):
    inputs = _sequence_input(keras)
    x = keras.layers.Conv1D(4, 3, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(4)(x)), name="conv_lstm")


ZOO = {"gru": _gru, "lstm": _lstm, "bilstm": _bidirectional, "stacked": _stacked, "conv_lstm": _conv_lstm}


@pytest.fixture(scope="module")
def zoo(keras):
    """The models, built once with seeded weights and Keras' default dynamic batch."""
    keras.utils.set_random_seed(3)
    return {name: make(keras) for name, make in ZOO.items()}


def samples_for(model, n=8):
    rng = np.random.default_rng(0)
    shape = (n, *model.inputs[0].shape[1:])
    if model.inputs[0].dtype == "int32":
        return rng.integers(0, VOCABULARY, size=shape).astype(np.int32)
    return rng.normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_fails_without_fixed_shapes_and_the_fix_says_batch_size(zoo, name):
    with pytest.raises(tj.ConversionError) as caught:
        tj.convert(zoo[name])
    error = caught.value
    input_name = zoo[name].inputs[0].name
    fixes = [fix for fix in error.ops["fix"] if fix]
    assert fixes and all(fix.startswith("fix the batch size: `--batch_size 1`") for fix in fixes), error.ops
    assert f"input {input_name!r}: dimension 0 is dynamic" in fixes[0]
    # the Flex route comes second, with its cost
    assert fixes[0].index("SELECT_TF_OPS") > fixes[0].index("--batch_size 1")
    assert "no microcontroller, GPU delegate or Edge TPU" in fixes[0]
    assert "Fix: fix the batch size" in str(error)
    assert "dynamic dimension" in str(error) and "tf.Const" not in str(error)  # the pass's summary names no op


def _builtin_only(result):
    assert set(result.ops["kind"]) == {"builtin"}, result.ops[["op", "kind"]]


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_converts_in_float_with_batch_size_1_and_matches_keras(zoo, name):
    model = zoo[name]
    result = tj.convert(model, batch_size=1)
    _builtin_only(result)
    assert list(result.inputs[0].shape_signature) == [1, *model.inputs[0].shape[1:]]
    assert not any("dynamic input shape" in note for note in result.notes)
    samples = samples_for(model)
    summary = result.compare(samples).summary
    assert (summary["max_abs_error"] <= 1e-5).all(), summary
    # and against Keras directly, one sample at a time (the model's batch is 1)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=result.tflite_model)
    runner = interpreter.get_signature_runner()
    (input_key,) = runner.get_input_details()
    for sample in samples[:3]:
        (got,) = runner(**{input_key: sample[None]}).values()
        np.testing.assert_allclose(got, np.asarray(model(sample[None], training=False)), atol=1e-5)


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_converts_with_dynamic_range_quantization_and_batch_size_1(zoo, name):
    model = zoo[name]
    result = tj.convert(model, quantize="dynamic", batch_size=1)
    _builtin_only(result)
    assert result.inputs[0].shape[0] == 1
    assert np.isfinite(result.compare(samples_for(model)).summary["max_abs_error"]).all()


@pytest.mark.xfail(raises=tj.WorkerDied, strict=True,
                   reason="TF 2.21's calibrator segfaults on WHILE loops (tensorflow/tensorflow#75140), "
                          "with or without tfl_jupyter; the worker keeps the kernel alive")
def test_zoo_int8_with_batch_size_1(zoo):
    model = zoo["gru"]
    calib = samples_for(model, 8)
    result = tj.convert(model, quantize="int8", batch_size=1, representative_dataset=calib)
    _builtin_only(result)


def test_in_process_uses_the_same_fixed_shapes(zoo):
    result = tj.convert(zoo["bilstm"], input_shapes={"tokens": [1, STEPS]}, in_process=True)
    _builtin_only(result)
    assert list(result.inputs[0].shape_signature) == [1, STEPS]
    assert result.inputs[0].dtype == "int32"


def test_code_exports_with_a_fixed_input_signature_and_runs(zoo, tmp_path, monkeypatch):
    result = tj.convert(zoo["gru"], batch_size=1, source_name="gru")
    assert "gru.export('exported_model', input_signature=[tf.TensorSpec([1, 6, 3], tf.float32, name='seq')])" in result.code
    monkeypatch.chdir(tmp_path)
    namespace = {"gru": zoo["gru"]}
    exec(result.code, namespace)
    written = (tmp_path / "model.tflite").read_bytes()
    assert tj.inspect(written).ops["kind"].eq("builtin").all()


def test_magic_batch_size_and_input_shapes(ipython, zoo):
    ipython.user_ns["gru_model"] = zoo["gru"]
    ipython.run_line_magic("tflite_convert", "gru_model --batch_size 1 --quiet -o r_gru")
    assert list(ipython.user_ns["r_gru"].inputs[0].shape_signature) == [1, STEPS, FEATURES]
    ipython.run_line_magic("tflite_convert", "gru_model --input_shapes seq=2,6,3 --quiet -o r_gru2")
    assert list(ipython.user_ns["r_gru2"].inputs[0].shape_signature) == [2, STEPS, FEATURES]


def test_magic_failure_names_the_fix(ipython, zoo):
    from IPython.core.error import UsageError

    ipython.user_ns["gru_model"] = zoo["gru"]
    with pytest.raises(UsageError, match="could not be converted"):
        ipython.run_line_magic("tflite_convert", "gru_model --quiet")
    assert "--batch_size 1" in str(ipython.user_ns["_tflite_error"])


# ---- other sources ---------------------------------------------------------------------


def test_dynamic_batch_is_shown_with_a_note(tiny_model):
    result = tj.convert(tiny_model)
    assert list(result.inputs[0].shape_signature) == [-1, 8]
    note = next(note for note in result.notes if "dynamic input shape" in note)
    assert "resize_tensor_input" in note and "GPU delegate" in note
    assert "[-1, 8]" in repr(result)
    fixed = tj.convert(tiny_model, batch_size=4)
    assert list(fixed.inputs[0].shape_signature) == [4, 8]
    assert not any("dynamic input shape" in note for note in fixed.notes)
    assert fixed.compare(n=10).summary["max_abs_error"].max() < 1e-5  # fed in batches of 4, the last padded


def test_calibration_batches_samples_to_the_fixed_batch(tiny_model, calib):
    samples = calib[:10]  # two full batches of 4 and a last one filled up
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=samples, batch_size=4)
    assert result.calibration_samples == 10
    assert list(result.inputs[0].shape_signature) == [4, 8]
    assert result.compare(samples).summary["max_abs_error"].max() < 0.05


def test_input_shapes_on_a_saved_model_with_two_signatures(tf, tmp_path, monkeypatch):
    class Two(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones([4]))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def scale(self, x):
            return {"y": x * self.w}

        @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.float32, name="frames")])
        def pool(self, frames):
            return {"mean": tf.reduce_mean(frames, axis=1) + self.w}

    module = Two()
    path = tmp_path / "two"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.scale, "pool": module.pool})
    result = tj.convert(str(path), input_shapes={"frames": [2, 5, 4]}, batch_size=2)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=result.tflite_model)
    shapes = {key: {name: list(d["shape_signature"]) for name, d in interpreter.get_signature_runner(key).get_input_details().items()}
              for key in ("serving_default", "pool")}
    assert shapes == {"serving_default": {"x": [2, 4]}, "pool": {"frames": [2, 5, 4]}}
    frames = np.arange(40, dtype=np.float32).reshape(2, 5, 4)
    out = interpreter.get_signature_runner("pool")(frames=frames)["mean"]
    np.testing.assert_allclose(out, frames.mean(axis=1) + 1, rtol=1e-6)
    assert "tf.saved_model.load(" in result.code and "[2, 5, 4]" in result.code
    monkeypatch.chdir(tmp_path)
    exec(result.code, {})  # the generated code does the same in plain TensorFlow
    again = Interpreter(model_path=str(tmp_path / "model.tflite"))
    assert list(again.get_signature_runner("pool").get_input_details()["frames"]["shape_signature"]) == [2, 5, 4]


def test_input_shapes_on_a_tf_function(tf):
    weights = tf.Variable(tf.ones([3, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def project(x):
        return tf.matmul(x, weights)

    result = tj.convert(project, input_shapes=[[2, 3]])
    assert list(result.inputs[0].shape_signature) == [2, 3]
    np.testing.assert_allclose(result.compare(np.ones((4, 3), np.float32)).summary["max_abs_error"], 0, atol=1e-6)
    assert "input_signature=[tf.TensorSpec([2, 3], tf.float32, name='x')]" in result.code
    in_process = tj.convert(project, batch_size=1, in_process=True)
    assert list(in_process.inputs[0].shape_signature) == [1, 3]
    concrete = project.get_concrete_function()
    for in_process in (False, True):
        from_concrete = tj.convert(concrete, batch_size=5, in_process=in_process, source_name="concrete")
        assert list(from_concrete.inputs[0].shape_signature) == [5, 3]
    assert "fixed = tf.function(concrete, input_signature=[tf.TensorSpec([5, 3]" in from_concrete.code


def test_input_shapes_on_a_tf_module(tf):
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.fill([3], 2.0))

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def __call__(self, x):
            return x * self.w

    module = Scale()
    result = tj.convert(module, batch_size=2, source_name="scale")
    assert list(result.inputs[0].shape_signature) == [2, 3]
    assert "tf.function(scale.__call__.python_function" in result.code
    assert result.compare(np.ones((3, 3), np.float32)).summary["max_abs_error"].max() < 1e-6


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, words", [
    ({"input_shapes": {"seq": [1, 6]}}, "rank 3"),
    ({"input_shapes": {"seqs": [1, 6, 3]}}, "did you mean 'seq'"),
    ({"input_shapes": {"seq": [-1, 6, 3]}}, "positive integer"),
    ({"batch_size": 0}, "positive integer"),
    ({"batch_size": 2, "input_shapes": {"seq": [1, 6, 3]}}, "drop batch_size"),
    ({"input_shapes": {"seq": [1, 7, 3]}}, "only dynamic (None) dimensions"),
    ({"input_shapes": "seq=1,x,3"}, "integers"),
])
def test_bad_shapes_fail_in_one_line_and_write_nothing(zoo, tmp_path, kwargs, words):
    target = tmp_path / "out.tflite"
    with pytest.raises((ValueError, TypeError)) as caught:
        tj.convert(zoo["gru"], output_file=str(target), **kwargs)
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert not target.exists()


def test_sweep_with_a_fixed_batch(zoo):
    model = zoo["bilstm"]
    table = tj.sweep(model, modes=("float", "dynamic"), samples=samples_for(model), batch_size=1, progress=False)
    assert list(table.index) == ["float", "dynamic"]
    assert not table["error"].fillna("").astype(bool).any(), table["error"]
    assert (table["flex_ops"] == 0).all()
    assert table.loc["float", "max_abs_error"] <= 1e-5
    with pytest.raises(ValueError, match="rank 2"):
        tj.sweep(model, modes=("float",), input_shapes={"tokens": [1]}, progress=False)
