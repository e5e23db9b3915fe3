"""The catalogue of bad input: every mistake gets a short message that names the fix, and
nothing is left half-written on disk.

Each API case converts with ``output_file`` in an empty folder and checks that the folder
is still empty afterwards; each magic case runs in a real IPython shell and checks that the
message is one line with no traceback.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.datasets import DatasetError


def _file(folder, name, data):
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _unbuilt_model(keras):
    class Unbuilt(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    return Unbuilt()


def _unsigned_function(tf):
    @tf.function
    def unsigned(x):
        return x

    return unsigned


def _two_functions(tf):
    specs = [tf.TensorSpec([1], tf.float32)]
    return [tf.function(lambda x: x + 1.0, input_signature=specs), tf.function(lambda x: x - 1.0, input_signature=specs)]


def _late_bad_samples():
    yield [np.ones((1, 8), np.float32)]
    yield [np.ones((1, 5), np.float32)]


def _endless_samples():
    while True:
        yield [np.ones((1, 8), np.float32)]


# (id, source, keyword arguments, exception, message): `source` and values may be callables
# taking the fixtures dict, for objects that need TensorFlow or a folder.
API_CASES = [
    ("path-not-found", lambda f: str(f["folder"] / "missing"), {}, ValueError, "path not found"),
    ("folder-not-a-savedmodel", lambda f: str(f["scratch"]), {}, ValueError, "not a SavedModel.*model.export"),
    ("text-file", lambda f: _file(f["scratch"], "notes.txt", b"hello"), {}, ValueError, "is not a model"),
    ("tflite-file", lambda f: _file(f["scratch"], "m.tflite", b"x"), {}, ValueError, "already a TFLite model.*tj.inspect"),
    ("broken-keras-file", lambda f: _file(f["scratch"], "broken.keras", b"not a zip"), {}, ValueError, "could not load Keras model"),
    ("integer-source", lambda f: 42, {}, TypeError, "cannot convert a int"),
    ("plain-callable", lambda f: (lambda x: x), {}, TypeError, "plain Python callable.*@tf.function"),
    ("empty-list", lambda f: [], {}, ValueError, "empty list"),
    ("tf-function-without-signature", lambda f: _unsigned_function(f["tf"]), {}, ValueError, "no input_signature.*tf.TensorSpec"),
    ("functions-with-one-name", lambda f: _two_functions(f["tf"]), {}, ValueError, "several functions are named '<lambda>'.*distinct names"),
    ("unbuilt-subclassed-model", lambda f: _unbuilt_model(f["keras"]), {"quantize": "dynamic"}, ValueError, "no input shape yet.*model.build"),
    ("signature-keys-on-keras", "model", {"signature_keys": ["serving_default"]}, ValueError, "SavedModel directories only"),
    ("unknown-signature", "saved", {"signature_keys": ["nope"], "quantize": "int8", "representative_dataset": np.ones((4, 4), np.float32)}, ValueError, "no signature 'nope'.*'serving_default', 'shifted'"),
    ("unknown-signature-without-dataset", "saved", {"signature_keys": ["shiftd"]}, ValueError, r"no signature 'shiftd'; it has \['serving_default', 'shifted'\]"),
    ("unknown-tags", "saved", {"tags": ["train"], "quantize": "int8", "representative_dataset": np.ones((4, 4), np.float32)}, ValueError, "no meta graph with tags"),
    ("multi-signature-calibration", "saved", {"quantize": "int8", "representative_dataset": np.ones((4, 4), np.float32)}, DatasetError, "several signatures: pass signature_keys"),
    ("unknown-preset", "model", {"quantize": "int8_fulll"}, ValueError, "did you mean 'int8-full'"),
    ("preset-not-a-string", "model", {"quantize": 8}, TypeError, "quantize must be one of"),
    ("int8-without-dataset", "model", {"quantize": "int8"}, ValueError, "needs a representative dataset"),
    ("int8-full-without-dataset", "model", {"quantize": "int8-full"}, ValueError, "needs a representative dataset"),
    ("int16x8-without-dataset", "model", {"quantize": "int16x8"}, ValueError, "needs a representative dataset"),
    ("integer-io-without-quantization", "model", {"inference_input_type": "int8"}, ValueError, "needs quantization"),
    ("integer-io-without-fake-quant-ops", "model", {"quantize": "dynamic", "inference_input_type": "int8"}, ValueError, "no fake-quant ops.*quantize='int8' with representative_dataset"),
    ("integer-only-ops-without-dataset", "model", {"quantize": "dynamic", "supported_ops": ["TFLITE_BUILTINS_INT8"]}, ValueError, "needs a representative dataset.*whatever the model"),
    ("float16-with-integer-mode", "model", {"quantize": "int8", "representative_dataset": "calib", "supported_types": ["float16"]}, ValueError, "conflicts with integer"),
    ("int16x8-with-int8-io", "model", {"quantize": "int16x8", "representative_dataset": "calib", "inference_input_type": "int8"}, ValueError, "int16x8 models take"),
    ("unknown-ops-set", "model", {"supported_ops": ["SELECT_TF_OP"]}, ValueError, "did you mean 'SELECT_TF_OPS'"),
    ("unknown-io-type", "model", {"inference_output_type": "bfloat16"}, ValueError, "unknown inference_output_type"),
    ("unknown-converter-attribute", "model", {"alow_custom_ops": True}, TypeError, "did you mean 'allow_custom_ops'"),
    ("dataset-wrong-shape", "model", {"quantize": "int8", "representative_dataset": np.ones((4, 9), np.float32)}, DatasetError, r"shape \(1, 9\) does not fit the model's \(None, 8\)"),
    ("dataset-wrong-count", "model", {"quantize": "int8", "representative_dataset": [[np.ones((1, 8), np.float32)] * 2]}, DatasetError, r"has 2 array\(s\) but the model has 1 input"),
    ("dataset-wrong-names", "model", {"quantize": "int8", "representative_dataset": {"feature": np.ones((4, 8), np.float32)}}, DatasetError, r"do not match the model's \['features'\]"),
    ("dataset-wrong-dtype", "model", {"quantize": "int8", "representative_dataset": np.array([["a"] * 8])}, DatasetError, "dtype .* does not fit the model's float32"),
    ("dataset-empty", "model", {"quantize": "int8", "representative_dataset": np.ones((0, 8), np.float32)}, DatasetError, "representative dataset is empty"),
    ("dataset-function-returns-none", "model", {"quantize": "int8", "representative_dataset": lambda: None}, TypeError, "returned NoneType, not an iterable"),
    ("dataset-not-iterable", "model", {"quantize": "int8", "representative_dataset": 3.5}, TypeError, "cannot be a representative dataset"),
    ("dataset-bad-later-sample", "model", {"quantize": "int8", "representative_dataset": _late_bad_samples}, DatasetError, "sample 1"),
    ("dataset-endless-with-timeout", "model", {"quantize": "int8", "representative_dataset": _endless_samples, "timeout": 8}, TimeoutError, "timeout=8 s"),
    ("in-process-with-timeout", "model", {"in_process": True, "timeout": 5}, ValueError, "timeout needs the worker"),
    ("unsupported-op", "text_fn", {}, tj.ConversionError, "(?s)tf.StringLength.*SELECT_TF_OPS"),
]


@pytest.fixture(scope="module")
def fixtures(tf, keras, tiny_model, calib, saved_model_dir, string_function, tmp_path_factory):
    """Everything the cases refer to by name."""
    return {
        "tf": tf, "keras": keras, "model": tiny_model, "calib": calib, "saved": str(saved_model_dir),
        "text_fn": string_function, "folder": tmp_path_factory.mktemp("nothing_here"),
        "scratch": tmp_path_factory.mktemp("scratch"),
    }


def _resolve(value, fixtures):
    if callable(value) and getattr(value, "__name__", "") == "<lambda>" and value.__code__.co_argcount == 1:
        return value(fixtures)
    if isinstance(value, str) and value in fixtures:
        return fixtures[value]
    return value


@pytest.mark.parametrize("case, source, kwargs, exception, message", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_mistakes_name_the_fix_and_write_nothing(fixtures, tmp_path, case, source, kwargs, exception, message):
    source = _resolve(source, fixtures)
    kwargs = {key: _resolve(value, fixtures) for key, value in kwargs.items()}
    output_folder = tmp_path / "out"
    output_folder.mkdir()
    with pytest.raises(exception, match=message) as caught:
        tj.convert(source, output_file=str(output_folder / "model.tflite"), **kwargs)
    assert len(str(caught.value).splitlines()) <= 6, str(caught.value)
    assert "Traceback" not in str(caught.value) and "loc(" not in str(caught.value)
    assert list(output_folder.iterdir()) == []


def test_output_paths_that_cannot_be_written(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="does not exist.*os.makedirs"):
        tj.convert(tiny_model, output_file=str(tmp_path / "no" / "such" / "m.tflite"))
    with pytest.raises(ValueError, match="is a folder"):
        tj.convert(tiny_model, output_file=str(tmp_path))


def test_a_huge_dataset_streams_through(tiny_model):
    huge = np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32)
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=huge)
    assert result.calibration_samples == 5000


MAGIC_CASES = [
    ("%tflite_convert no_such_model", "neither a variable in this notebook nor an existing path"),
    ("%tflite_convert", "no model given"),
    ("%tflite_convert model --saved_model_dir x", "exactly one model"),
    ("%tflite_convert model --quantize int8-full", "needs a representative dataset"),
    ("%tflite_convert model --quantize int8 --representative_dataset nope", "no variable 'nope'"),
    ("%tflite_convert model --quantize int9", "unknown quantize preset 'int9' (did you mean 'int8'?)"),
    ("%tflite_convert model --bogus", "unrecognized arguments"),
    ("%tflite_convert model --attr noequals", "NAME=VALUE"),
    ("%tflite_convert model --experimental_new_converter maybe", "expected true or false"),
    ("%tflite_convert model --output_file /no/such/dir/m.tflite", "does not exist"),
    ("%tflite_convert model --quantize int8 --representative_dataset np_bad", "does not fit"),
    ("%tflite_convert model --timeout soon", "invalid float value"),
    ("%tflite_convert model --in_process --timeout 3", "timeout needs the worker"),
    ("%%tflite_convert model --timeout 3\nconverter.allow_custom_ops = True\n", "the cell form"),
    ("%tflite_convert --keras_model_file /no/such.keras", "path not found"),
]


@pytest.fixture(scope="module")
def shell(ipython, tiny_model):
    """The real IPython shell, with a model and a dataset that does not fit it."""
    ipython.user_ns.update(model=tiny_model, np_bad=np.ones((4, 5), np.float32))
    return ipython


@pytest.mark.parametrize("line, message", MAGIC_CASES, ids=[c[0].split(" ", 1)[-1] for c in MAGIC_CASES])
def test_magic_mistakes_get_one_line_that_names_the_fix(shell, capsys, line, message):
    capsys.readouterr()
    outcome = shell.run_cell(line)
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert message in text
    assert "Traceback" not in text
    assert outcome.error_in_exec is not None  # the cell is marked failed, so "run all" stops
