"""The result cache never serves a stale model: every part of what shapes a model is in its key.

Each test converts, changes one part (a captured constant, a variable's value, a weight, a
setting, the calibration data), converts again, and checks that the second model is new
and right. Where a part cannot be fingerprinted (a lookup table, a subclassed Keras
model's Python ``call``), the conversion is never served from the cache.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import tfl_jupyter as tj

CACHED = "served from the cache"


def run(tflite_model: bytes, *inputs) -> np.ndarray:
    interpreter = Interpreter(model_content=tflite_model)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def served_from_cache(result) -> bool:
    return any(CACHED in note for note in result.notes)


def test_a_captured_constant_is_part_of_the_key(tf):
    """The issue's case: 4,096 values captured as a tensor, not inlined in the graph."""

    class Shift(tf.Module):
        def __init__(self, value):
            super().__init__()
            self.offset = tf.fill([4096], value)

        @tf.function(input_signature=[tf.TensorSpec([4096], tf.float32)])
        def __call__(self, x):
            return x + self.offset

    one, two = Shift(1.0), Shift(2.0)
    first = tj.convert(one.__call__.get_concrete_function())
    second = tj.convert(two.__call__.get_concrete_function())
    zeros = np.zeros(4096, np.float32)
    assert run(first.tflite_model, zeros)[0] == 1.0
    assert run(second.tflite_model, zeros)[0] == 2.0
    assert not served_from_cache(second)
    assert served_from_cache(tj.convert(two.__call__.get_concrete_function()))  # unchanged: served


def test_a_variable_value_is_part_of_the_key(tf):
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.factor = tf.Variable(tf.fill([4, 4], 3.0))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            return tf.matmul(x, self.factor)

    module = Scale()
    ones = np.ones((1, 4), np.float32)
    assert run(tj.convert(module).tflite_model, ones)[0, 0] == 12.0
    module.factor.assign(tf.fill([4, 4], 5.0))
    changed = tj.convert(module)
    assert not served_from_cache(changed)
    assert run(changed.tflite_model, ones)[0, 0] == 20.0


def test_a_keras_weight_is_part_of_the_key(keras):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, use_bias=False)(inputs))
    model.set_weights([np.ones((4, 2), np.float32)])
    ones = np.ones((1, 4), np.float32)
    assert run(tj.convert(model).tflite_model, ones)[0, 0] == 4.0
    model.set_weights([np.full((4, 2), 2.0, np.float32)])
    changed = tj.convert(model)
    assert not served_from_cache(changed)
    assert run(changed.tflite_model, ones)[0, 0] == 8.0


@pytest.fixture
def unseen_model(keras):
    """A dense model no other test has converted (the cache lives as long as the session)."""
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(256, activation="relu")(inputs)))


def test_settings_are_part_of_the_key(unseen_model):
    floating = tj.convert(unseen_model)
    dynamic = tj.convert(unseen_model, quantize="dynamic")
    assert not served_from_cache(dynamic)
    assert dynamic.tflite_model != floating.tflite_model
    assert served_from_cache(tj.convert(unseen_model, quantize="dynamic"))


def test_calibration_data_is_part_of_the_key(unseen_model):
    rng = np.random.default_rng(5)
    narrow = rng.uniform(-1, 1, size=(16, 8)).astype(np.float32)
    wide = narrow * 8
    first = tj.convert(unseen_model, quantize="int8", representative_dataset=narrow)
    second = tj.convert(unseen_model, quantize="int8", representative_dataset=wide)
    assert not served_from_cache(second)
    assert second.inputs[0].scale == pytest.approx(first.inputs[0].scale * 8, rel=0.01)


def test_a_captured_resource_is_never_served_from_the_cache(tf):
    """A lookup table's content cannot be read without running it: no fingerprint, no cache."""

    class Lookup(tf.Module):
        def __init__(self):
            super().__init__()
            keys, values = tf.constant([1, 2], tf.int64), tf.constant([10.0, 20.0])
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), -1.0)

        @tf.function(input_signature=[tf.TensorSpec([3], tf.int64)])
        def __call__(self, x):
            return self.table.lookup(x)

    module = Lookup()
    flex = ["TFLITE_BUILTINS", "SELECT_TF_OPS"]
    first = tj.convert(module, supported_ops=flex)
    again = tj.convert(module, supported_ops=flex)
    assert not served_from_cache(again)
    assert list(again.ops["op"]) == list(first.ops["op"])  # the same model, converted again (its table's name differs)


def test_a_subclassed_keras_model_is_never_served_from_the_cache(keras):
    """Its ``call`` is Python that may read any attribute: changing one changes the model."""

    class Scaled(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, use_bias=False, kernel_initializer="ones")
            self.factor = 1.0

        def call(self, x):
            return self.dense(x) * self.factor

    model = Scaled()
    model(np.zeros((1, 4), np.float32))
    ones = np.ones((1, 4), np.float32)
    assert run(tj.convert(model).tflite_model, ones)[0, 0] == 4.0
    model.factor = 3.0
    changed = tj.convert(model)
    assert not served_from_cache(changed)
    assert run(changed.tflite_model, ones)[0, 0] == 12.0
