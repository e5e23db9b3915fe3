"""``tj.convert`` on every kind of source, preset and dataset form: real conversions."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tfl_jupyter as tj



def tensor_dtypes(result) -> set:
    """All tensor dtypes in the main subgraph of a ConversionResult."""
    return {tensor.dtype for tensor in result.model.subgraphs[0].tensors}


# ---- sources ---------------------------------------------------------------------------


def test_keras_model_object(tiny_model):
    result = tj.convert(tiny_model)
    assert result.entry_point == "from_keras_model"
    assert [t.dtype for t in result.inputs] == ["float32"]
    assert result.inputs[0].shape_signature == (-1, 8)
    assert result.outputs[0].shape_signature[-1] == 3
    assert result.tflite_model[4:8] == b"TFL3"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_files(keras_files, suffix):
    result = tj.convert(str(keras_files[suffix]))
    assert result.source.kind == "keras"
    assert result.outputs[0].shape_signature == (-1, 3)
    assert f"load_model({str(keras_files[suffix])!r}" in result.code


def test_saved_model_converts_every_signature_by_default(saved_model_dir):
    result = tj.convert(str(saved_model_dir))
    assert result.entry_point == "from_saved_model"
    assert sorted(s.key for s in result.model.signatures) == ["serving_default", "shifted"]


def test_saved_model_signature_key(saved_model_dir):
    result = tj.convert(str(saved_model_dir), signature_keys=["serving_default"])
    assert [s.key for s in result.model.signatures] == ["serving_default"]
    assert "MUL" in {op.op for op in result.model.subgraphs[0].operators}


def test_saved_model_signature_keys_and_tags(saved_model_dir):
    result = tj.convert(str(saved_model_dir), signature_keys=["shifted"], tags=["serve"])
    assert [s.key for s in result.model.signatures] == ["shifted"]
    assert {op.op for op in result.model.subgraphs[0].operators} == {"ADD"}
    assert "signature_keys=['shifted']" in result.code


def test_tf_function_with_signature(tf):
    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def double(x):
        return x * 2.0

    result = tj.convert(double)
    assert result.entry_point == "from_concrete_functions"
    assert result.inputs[0].shape == (1, 4)


def test_concrete_function_and_module_keep_variables_alive(tf):
    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(3.0)

        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def __call__(self, x):
            return x * self.w

    module = Affine()
    from_module = tj.convert(module)
    from_concrete = tj.convert(module.__call__.get_concrete_function())
    for result in (from_module, from_concrete):
        assert result.inputs[0].shape == (2,)
    assert from_module.source.trackable is module  # held for the converter's lifetime


# ---- presets ---------------------------------------------------------------------------


def test_dynamic_range_has_int8_weights_and_float_io(tiny_model):
    result = tj.convert(tiny_model, quantize="dynamic")
    assert "int8" in tensor_dtypes(result)
    assert result.inputs[0].dtype == "float32" and result.outputs[0].dtype == "float32"


def test_float16_stores_float16_weights(tiny_model):
    result = tj.convert(tiny_model, quantize="float16")
    assert "float16" in tensor_dtypes(result)
    assert "DEQUANTIZE" in {op.op for op in result.model.subgraphs[0].operators}


def test_int8_full_has_int8_io_with_scale_and_zero_point(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib)
    for tensor in result.inputs + result.outputs:
        assert tensor.dtype == "int8"
        assert len(tensor.scale) == 1 and tensor.scale[0] > 0
    assert "float32" not in tensor_dtypes(result)
    assert result.calibration_samples == len(calib)
    assert "zero point" in result._repr_html_()


def test_int8_with_uint8_io(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=calib,
                        inference_input_type="uint8", inference_output_type="uint8")
    assert result.inputs[0].dtype == "uint8" and result.outputs[0].dtype == "uint8"


def test_int16x8_has_int16_activations(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int16x8", representative_dataset=calib)
    assert "int16" in tensor_dtypes(result)


def test_tf_objects_are_accepted_for_settings(tf, tiny_model, calib):
    result = tj.convert(
        tiny_model,
        optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=calib,
        supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8],
        inference_input_type=tf.int8,
        inference_output_type=tf.int8,
    )
    assert result.inputs[0].dtype == "int8"
    assert "tf.lite.OpsSet.TFLITE_BUILTINS_INT8" in result.code


def test_any_converter_attribute_can_be_set(tiny_model):
    result = tj.convert(tiny_model, quantize="dynamic", _experimental_disable_per_channel=True,
                        experimental_enable_resource_variables=True)
    assert dict(result.settings.converter_attrs)["experimental_enable_resource_variables"] is True
    assert "converter._experimental_disable_per_channel = True" in result.code


def test_customize_sees_the_configured_converter(tf, tiny_model):
    seen = {}

    def customize(converter):
        seen["optimizations"] = list(converter.optimizations)
        converter._experimental_disable_per_channel = True

    tj.convert(tiny_model, quantize="dynamic", customize=customize)
    assert seen["optimizations"] == [tf.lite.Optimize.DEFAULT]


def test_errors_in_customize_are_the_users_own(tiny_model):
    def customize(converter):
        raise KeyError("from the cell body")

    with pytest.raises(KeyError, match="from the cell body"):
        tj.convert(tiny_model, customize=customize)


# ---- representative datasets ---------------------------------------------------------


def _generator(calib):
    def samples():
        for row in calib:
            yield [row[np.newaxis]]

    return samples


@pytest.mark.parametrize(
    "make_dataset",
    [
        pytest.param(lambda calib, tf: _generator(calib), id="generator-function"),
        pytest.param(lambda calib, tf: calib, id="array"),
        pytest.param(lambda calib, tf: list(calib), id="list-of-arrays-without-batch-dim"),
        pytest.param(lambda calib, tf: [[row[np.newaxis]] for row in calib], id="list-of-lists"),
        pytest.param(lambda calib, tf: {"features": calib}, id="dict-by-input-name"),
        pytest.param(lambda calib, tf: tf.data.Dataset.from_tensor_slices(calib).batch(1), id="tf.data"),
        pytest.param(lambda calib, tf: tf.data.Dataset.from_tensor_slices((calib, np.zeros(len(calib)))).batch(1), id="tf.data-with-labels"),
        pytest.param(lambda calib, tf: calib.astype(np.float64), id="float64-array-cast"),
    ],
)
def test_every_dataset_form_calibrates(tiny_model, calib, tf, make_dataset):
    result = tj.convert(tiny_model, quantize="int8-full", representative_dataset=make_dataset(calib, tf))
    assert result.inputs[0].dtype == "int8"
    assert result.calibration_samples == len(calib)


def test_multi_input_lists_follow_the_model_order(two_input_model):
    rng = np.random.default_rng(0)
    samples = [[rng.normal(size=(1, 4)).astype(np.float32), rng.normal(size=(1, 3)).astype(np.float32)] for _ in range(8)]
    result = tj.convert(two_input_model, quantize="int8", representative_dataset=samples)
    assert result.calibration_samples == 8


def test_multi_input_dicts_by_name(two_input_model):
    data = {"alpha": np.ones((8, 3), np.float32), "zeta": np.ones((8, 4), np.float32)}
    result = tj.convert(two_input_model, quantize="int8", representative_dataset=data)
    assert result.calibration_samples == 8


def test_saved_model_calibrates_by_signature_name(saved_model_dir):
    result = tj.convert(str(saved_model_dir), signature_keys=["serving_default"], quantize="int8-full",
                        representative_dataset=np.ones((6, 4), np.float32))
    assert result.inputs[0].dtype == "int8"
    assert result.calibration_samples == 6


# ---- failed conversions ----------------------------------------------------------------


@pytest.mark.parametrize("model", ["tiny_model", "saved_model_dir"])
def test_saved_model_path_without_the_second_load_gives_tensorflows_model(tf, model, request, tmp_path):
    # The worker converts SavedModels with a converter that reads the debug info from its
    # file instead of loading the model again; the model and the debug info must be
    # TensorFlow's own.
    from tfl_jupyter.core import engine

    source = request.getfixturevalue(model)
    path = str(source)
    if model == "tiny_model":
        path = str(tmp_path / "exported")
        source.export(path, verbose=False)
    ours = engine._saved_model_converter_without_loading(path, ["serving_default"], None)
    assert type(ours).__name__ == "SavedModelConverter"
    theirs = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=["serving_default"])
    assert ours.convert() == theirs.convert()
    assert ours._debug_info == theirs._debug_info


def test_unsupported_op_raises_conversion_error_pointing_at_user_code(string_function):
    with pytest.raises(tj.ConversionError) as caught:
        tj.convert(string_function)
    error = caught.value
    blocking = error.errors[0]
    assert blocking.tf_op == "tf.StringLength"
    assert blocking.error_code == "ERROR_NEEDS_FLEX_OPS"
    assert "SELECT_TF_OPS" in blocking.fix
    assert blocking.location is not None
    assert os.path.basename(blocking.location.filename) == "conftest.py"
    assert "# BLOCKING LINE" in blocking.location.code
    assert list(error.ops["tf_op"]) == ["tf.StringLength"]
    message = str(error)
    assert len(message.splitlines()) < 8 and "loc(" not in message
    assert "Select TF ops" in message or "SELECT_TF_OPS" in message
    assert "StringLength" in error._repr_html_()


def test_the_suggested_fix_converts(string_function):
    result = tj.convert(string_function, supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"])
    assert any(op.op == "CUSTOM" or (op.custom_code or "").startswith("Flex") for op in result.model.subgraphs[0].operators)


def _fake_quant_dense(tf, x, kernel):
    """A dense layer as quantization-aware training leaves it: fake-quant ops carry the ranges."""
    fake_quant = tf.quantization.fake_quant_with_min_max_vars
    return fake_quant(tf.matmul(fake_quant(x, -3.0, 3.0), fake_quant(kernel, -1.0, 1.0)), -8.0, 8.0)


def _quantization_aware(kind, tf, keras):
    kernel = np.random.default_rng(0).uniform(-1, 1, size=(4, 3)).astype(np.float32)
    if kind == "module":
        class FakeQuantModule(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
            def __call__(self, x):
                return _fake_quant_dense(tf, x, tf.constant(kernel))

        return FakeQuantModule()

    class FakeQuantDense(keras.layers.Layer):
        def build(self, shape):
            self.kernel = self.add_weight(shape=(shape[-1], 3), initializer=keras.initializers.Constant(kernel))

        def call(self, x):
            return _fake_quant_dense(tf, x, self.kernel)

    inputs = keras.Input((4,), name="x")
    return keras.Model(inputs, FakeQuantDense()(inputs))


@pytest.mark.parametrize("kind", ["module", "keras"])
def test_quantization_aware_model_takes_int8_io_without_a_dataset(tf, keras, kind):
    # raw TensorFlow converts it with optimizations=[DEFAULT] and int8 I/O, no dataset: the fake-quant ops give the ranges
    model = _quantization_aware(kind, tf, keras)
    result = tj.convert(model, quantize="dynamic", inference_input_type="int8", inference_output_type="int8")
    assert [t.dtype for t in result.inputs + result.outputs] == ["int8", "int8"]
    assert result.inputs[0].scale[0] == pytest.approx(6.0 / 255) and result.outputs[0].scale[0] == pytest.approx(16.0 / 255)
    assert list(result.ops["op"]) == ["FULLY_CONNECTED"] and result.ops["quantized"].all()
    from ai_edge_litert.interpreter import Interpreter

    x = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    interpreter = Interpreter(model_content=result.tflite_model)
    interpreter.allocate_tensors()
    (given,), (taken,) = interpreter.get_input_details(), interpreter.get_output_details()
    scale, zero = given["quantization"]
    interpreter.set_tensor(given["index"], np.round(x / scale + zero).astype(np.int8))
    interpreter.invoke()
    scale, zero = taken["quantization"]
    got = (interpreter.get_tensor(taken["index"]).astype(np.float32) - zero) * scale
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=2 * scale)


def test_integer_io_on_a_model_without_fake_quant_ops_says_to_calibrate(tiny_model, calib):
    # raw TensorFlow: "The inference_input_type and inference_output_type must be tf.float32."
    with pytest.raises(ValueError, match="no fake-quant ops.*quantize='int8' with representative_dataset"):
        tj.convert(tiny_model, quantize="dynamic", inference_input_type="int8", inference_output_type="int8")
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=calib, inference_input_type="int8",
                        inference_output_type="int8")  # the fix it names
    assert [t.dtype for t in result.inputs + result.outputs] == ["int8", "int8"]


def test_a_wrong_signature_key_names_the_valid_ones(saved_model_dir):
    # no dataset, so nothing reads the signatures before the converter: the worker checks the key
    for in_process in (False, True):
        with pytest.raises(ValueError, match=r"no signature 'shiftd'; it has \['serving_default', 'shifted'\]"):
            tj.convert(str(saved_model_dir), signature_keys=["shiftd"], in_process=in_process)


def test_calibration_stopped_by_a_flex_op_names_the_op_and_the_fix(tf):
    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def with_erf(x):
        return tf.math.erf(x * 2.0)  # no TFLite builtin: a Flex op, which the calibrating interpreter cannot run

    with pytest.raises(tj.ConversionError) as caught:
        tj.convert(with_erf, quantize="int8", representative_dataset=np.ones((4, 4), np.float32),
                   supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"])
    message = str(caught.value)
    assert "FlexErf (node" in message and "not supported by this interpreter" in message
    assert "Fix: quantize='dynamic'" in message and len(message.splitlines()) <= 4
    assert list(caught.value.ops["tf_op"]) == ["tf.Erf"]
    result = tj.convert(with_erf, quantize="dynamic", supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"])
    assert "flex" in set(result.ops["kind"])


def test_a_tensor_list_of_dynamic_size_on_static_inputs_blames_neither_the_batch_nor_tf_const(tf):
    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def growing(x):
        steps = tf.cast(tf.reduce_sum(x) > 0, tf.int32) + 2
        rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        _, rows = tf.while_loop(lambda i, rows: i < steps, lambda i, rows: (i + 1, rows.write(i, x)), [0, rows])
        return rows.stack()

    with pytest.raises(tj.ConversionError) as caught:
        tj.convert(growing)
    error = caught.value
    message = str(error)
    assert "tf.Const" not in message and "tf.Const" not in set(error.ops["tf_op"])
    assert "batch" not in message and "dynamic dimension" not in message, message
    assert "TensorList" in error.summary and "dynamic size" in message
    assert "fixed size" in message and "SELECT_TF_OPS" in message
    assert tj.convert(growing, supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"]).tflite_model  # the fix it names


def test_converter_output_is_captured_not_printed(tiny_model, capfd):
    capfd.readouterr()
    result = tj.convert(tiny_model, quantize="dynamic")
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == ""
    assert result.log.strip()  # the converter did say things; they are kept here


# ---- output files ----------------------------------------------------------------------


def test_output_file_is_written_and_reported(tiny_model, tmp_path):
    target = tmp_path / "model.tflite"
    result = tj.convert(tiny_model, output_file=str(target))
    assert target.read_bytes() == result.tflite_model
    assert result.output_file == str(target)
    assert os.listdir(tmp_path) == ["model.tflite"]


def test_failed_conversion_leaves_an_existing_file_untouched(string_function, tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"previous model")
    with pytest.raises(tj.ConversionError):
        tj.convert(string_function, output_file=str(target))
    assert target.read_bytes() == b"previous model"
    assert os.listdir(tmp_path) == ["model.tflite"]


def test_save_is_atomic_and_returns_the_path(tiny_model, tmp_path):
    result = tj.convert(tiny_model)
    path = result.save(tmp_path / "copy.tflite")
    assert open(path, "rb").read() == result.tflite_model


# ---- the result ------------------------------------------------------------------------


def test_generated_code_reproduces_the_conversion(tf, tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib,
                        source_name="model", dataset_name="calib")
    namespace = {"model": tiny_model, "calib": calib}
    code = result.code.replace("with open('model.tflite', 'wb') as f:\n    f.write(tflite_model)\n", "")
    exec(code, namespace)
    assert len(namespace["tflite_model"]) == pytest.approx(result.size_bytes, rel=0.05)


def test_display_shows_size_mode_time_and_io(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8-full", representative_dataset=calib)
    html = result._repr_html_()
    for text in ("KiB", "int8-full", "integer only", "serving_default_features", "scale", "zero point"):
        assert text in html
    assert "int8-full" in repr(result) and "zero point" in repr(result)


def _code_sources(tf, keras):
    """One source of each kind ``.code`` spells differently, by name."""

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.weight = tf.Variable(tf.reshape(tf.range(12, dtype=tf.float32), [3, 4]))

        @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
        def __call__(self, x):
            return tf.matmul(x, self.weight)

        @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
        def double(self, x):
            return x * 2.0

    module = Affine()

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2.0

    subclassed = Subclassed()
    subclassed(np.zeros((1, 3), np.float32))
    inputs = keras.Input((3,))
    return {
        "tf.function": module.double,
        "ConcreteFunction": module.double.get_concrete_function(),
        "tf.Module": module,
        "list of functions": [module.__call__, module.double],
        "Keras functional": keras.Model(inputs, keras.layers.Dense(2)(inputs)),
        "Keras subclassed": subclassed,
    }


@pytest.mark.parametrize("in_process", [False, True], ids=["worker", "in_process"])
def test_code_reproduces_the_model_byte_for_byte(tf, keras, in_process):
    """``.code`` is the raw call that gives exactly the model tj.convert returned, for every kind of source."""
    for kind, source in _code_sources(tf, keras).items():
        result = tj.convert(source, source_name="model", in_process=in_process)
        namespace = {"model": source}
        exec(result.code.replace("with open('model.tflite', 'wb') as f:\n    f.write(tflite_model)\n", ""), namespace)
        assert namespace["tflite_model"] == result.tflite_model, f"{kind}: .code gives another model\n{result.code}"
