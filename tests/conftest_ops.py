"""Tiny real TFLite models for the reader / op-support / inspect tests.

Each builder converts a model built here with the raw ``tf.lite.TFLiteConverter`` and is
cached for the whole test session (several test modules share them), so every model is
converted once. TensorFlow is imported lazily, inside the builders.
"""
from __future__ import annotations

import functools

import numpy as np

INPUT_SHAPE = (1, 16, 16, 3)


def _tf():
    import tensorflow as tf

    return tf


def _representative(shapes, n=8, seed=0):
    rng = np.random.default_rng(seed)

    def generator():
        for _ in range(n):
            yield [rng.random(s, dtype=np.float32) for s in shapes]

    return generator


def _cnn():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(INPUT_SHAPE[1:], batch_size=1),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.DepthwiseConv2D(3),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 1),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
        keras.layers.Softmax(),
    ])


def _convert_keras(model, **attrs):
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    for key, value in attrs.items():
        setattr(converter, key, value)
    return converter.convert()


@functools.lru_cache(maxsize=None)
def float_cnn() -> bytes:
    """Conv / depthwise / pooling / mean / dense / softmax, float32 (a chain)."""
    return _convert_keras(_cnn())


@functools.lru_cache(maxsize=None)
def int8_cnn() -> bytes:
    """The CNN with full-integer int8 quantization (float I/O: QUANTIZE/DEQUANTIZE)."""
    tf = _tf()
    return _convert_keras(_cnn(), optimizations=[tf.lite.Optimize.DEFAULT],
                          representative_dataset=_representative([INPUT_SHAPE]))


@functools.lru_cache(maxsize=None)
def int16x8_cnn() -> bytes:
    """The CNN with int16 activations and int8 weights."""
    tf = _tf()
    return _convert_keras(_cnn(), optimizations=[tf.lite.Optimize.DEFAULT],
                          representative_dataset=_representative([INPUT_SHAPE]),
                          target_spec=_int16x8_spec(tf))


@functools.lru_cache(maxsize=None)
def int16x8_repeats() -> bytes:
    """Three identical int16x8 TANH ops: notes that name tensors, in one op group."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def model(x):
        for _ in range(3):
            x = tf.tanh(x * 1.5)
        return x

    return _convert_function(
        model, optimizations=[tf.lite.Optimize.DEFAULT],
        representative_dataset=_representative([(1, 8)]),
        target_spec=_int16x8_spec(tf))


def _int16x8_spec(tf):
    spec = tf.lite.TargetSpec()
    spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    return spec


@functools.lru_cache(maxsize=None)
def float16_cnn() -> bytes:
    """The CNN with float16 weights (DEQUANTIZE ops feeding float32 kernels)."""
    tf = _tf()
    tf_model = _cnn()
    converter = tf.lite.TFLiteConverter.from_keras_model(tf_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


@functools.lru_cache(maxsize=None)
def dynamic_range_cnn() -> bytes:
    """The CNN with post-training dynamic-range quantization (int8 weights only)."""
    tf = _tf()
    return _convert_keras(_cnn(), optimizations=[tf.lite.Optimize.DEFAULT])


def _convert_function(fn, *, select_tf_ops=False, allow_custom_ops=False, **attrs):
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [fn.get_concrete_function()], fn)
    if select_tf_ops:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]
    converter.allow_custom_ops = allow_custom_ops
    for key, value in attrs.items():
        setattr(converter, key, value)
    return converter.convert()


def _string_fn():
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([4], tf.string)])
    def string_length(x):
        return tf.cast(tf.strings.length(x), tf.float32) * 2.0

    return string_length


@functools.lru_cache(maxsize=None)
def flex_model() -> bytes:
    """tf.strings.length through the Select TF ops (Flex) runtime, then a builtin MUL."""
    return _convert_function(_string_fn(), select_tf_ops=True)


@functools.lru_cache(maxsize=None)
def custom_model() -> bytes:
    """The same graph with allow_custom_ops: StringLength becomes a custom op."""
    return _convert_function(_string_fn(), allow_custom_ops=True)


@functools.lru_cache(maxsize=None)
def while_model() -> bytes:
    """A tf.while_loop: WHILE with cond/body subgraphs (a multi-subgraph model)."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def loop(x):
        i = tf.constant(0)
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * 2.0 + 1.0), (i, x))
        return y

    return _convert_function(loop)


@functools.lru_cache(maxsize=None)
def cumsum_model() -> bytes:
    """CUMSUM on float32 (GPU-compatible) and on int32 (not), plus a 5-D ADD."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32),
                                  tf.TensorSpec([1, 8], tf.int32),
                                  tf.TensorSpec([1, 2, 2, 2, 3], tf.float32)])
    def model(x, k, v):
        return tf.math.cumsum(x, axis=1), tf.math.cumsum(k, axis=1), v + tf.ones([1, 2, 2, 2, 3])

    return _convert_function(model)


@functools.lru_cache(maxsize=None)
def logical_model() -> bytes:
    """GREATER feeding a CAST to float (GPU takes both), and a bare LESS output."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3], tf.float32)])
    def model(x):
        mask = tf.cast(x > 0.5, tf.float32)
        return x * mask, x < 0.25

    return _convert_function(model)


def all_models() -> dict:
    """Every test model by name."""
    return {
        "float_cnn": float_cnn(), "int8_cnn": int8_cnn(), "int16x8_cnn": int16x8_cnn(),
        "float16_cnn": float16_cnn(), "dynamic_range_cnn": dynamic_range_cnn(),
        "flex_model": flex_model(), "custom_model": custom_model(),
        "while_model": while_model(), "cumsum_model": cumsum_model(),
        "logical_model": logical_model(), "int16x8_repeats": int16x8_repeats(),
    }


@functools.lru_cache(maxsize=None)
def concat_model() -> bytes:
    """A CONCATENATION of five tensors (long tensor lists to fold in the display)."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3], tf.float32)])
    def model(x):
        return tf.concat([x, x * 2.0, x * 3.0, x * 4.0, x * 5.0], axis=3)

    return _convert_function(model)


def delegated_by_xnnpack(model_bytes: bytes) -> set:
    """Indices of the subgraph-0 operators the runtime's default delegate replaced.

    Reads the DELEGATE nodes the LiteRT interpreter adds when XNNPACK takes a
    partition: every node on a path from a partition's outputs back to its inputs
    ran inside it. Only call this on models that are known to be valid.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    interpreter.allocate_tensors()
    details = interpreter._get_ops_details()  # noqa: SLF001 - the only per-node view
    producer = {}
    for node in details:
        if node["op_name"] != "DELEGATE":
            for t in node["outputs"]:
                producer[int(t)] = node["index"]
    taken = set()
    for node in details:
        if node["op_name"] != "DELEGATE":
            continue
        boundary = {int(t) for t in node["inputs"]}
        stack = [int(t) for t in node["outputs"]]
        while stack:
            t = stack.pop()
            if t in boundary or t not in producer or producer[t] in taken:
                continue
            taken.add(producer[t])
            stack.extend(int(x) for x in details[producer[t]]["inputs"] if x >= 0)
    return taken


@functools.lru_cache(maxsize=None)
def partitioned_chain(cuts: int) -> bytes:
    """A float chain of ``cuts + 1`` MUL-ADD-TANH runs split by ``cuts`` REVERSE_V2 ops,
    which neither XNNPACK nor the GPU delegate takes: ``cuts + 1`` delegate partitions."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 4], tf.float32)])
    def model(x):
        for run in range(cuts + 1):
            if run:
                x = tf.reverse(x, axis=[1])
            x = tf.tanh(x * 1.5 + 0.25)
        return x

    return _convert_function(model)


def delegate_nodes(model_bytes: bytes) -> int:
    """How many DELEGATE nodes (partitions) the LiteRT interpreter's XNNPACK made."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    interpreter.allocate_tensors()
    return sum(node["op_name"] == "DELEGATE"
               for node in interpreter._get_ops_details())  # noqa: SLF001 - per-node view


@functools.lru_cache(maxsize=None)
def branching_model() -> bytes:
    """MUL feeding a REVERSE_V2 and a TANH that meet again in an ADD: the runtime puts
    MUL and TANH in one partition whatever their order, ADD in a second."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 4], tf.float32)])
    def model(x):
        x = x * 1.5
        return tf.reverse(x, axis=[1]) + tf.tanh(x)

    return _convert_function(model)


def _edgetpu_graphs(tf):
    """name -> (input shape, function): small graphs that each meet one Edge TPU rule."""
    return {
        "cut": ([1, 8, 4], lambda x: tf.tanh(tf.reverse(x * 1.5, axis=[1]) + 0.25)),
        "mean_spatial": ([1, 4, 4, 8], lambda x: tf.reduce_mean(x, axis=[1, 2])),
        "mean_channels": ([1, 4, 4, 8], lambda x: tf.reduce_mean(x, axis=3)),
        "softmax_large": ([1, 16001], tf.nn.softmax),
        "rank5": ([1, 2, 2, 2, 3], lambda x: x + x),
        "dynamic_batch": ([None, 8], lambda x: x * 1.5),
    }


@functools.lru_cache(maxsize=None)
def edgetpu_case(name: str) -> bytes:
    """One of ``_edgetpu_graphs``, quantized to int8 (float I/O)."""
    tf = _tf()
    shape, body = _edgetpu_graphs(tf)[name]
    fn = tf.function(body, input_signature=[tf.TensorSpec(shape, tf.float32)])
    sample = tuple(1 if d is None else d for d in shape)
    return _convert_function(fn, optimizations=[tf.lite.Optimize.DEFAULT],
                             representative_dataset=_representative([sample]))


@functools.lru_cache(maxsize=None)
def lstm_model() -> bytes:
    """A Keras LSTM at batch 1: Keras 3 LSTMs convert to a WHILE loop, not a fused op."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 3), batch_size=1), keras.layers.LSTM(4),
                              keras.layers.Dense(2)])
    return _convert_keras(model)


@functools.lru_cache(maxsize=None)
def int8_io_cnn() -> bytes:
    """The int8 CNN with int8 inputs and outputs (the int8-full preset)."""
    tf = _tf()
    spec = tf.lite.TargetSpec()
    spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return _convert_keras(_cnn(), optimizations=[tf.lite.Optimize.DEFAULT],
                          representative_dataset=_representative([INPUT_SHAPE]),
                          target_spec=spec, inference_input_type=tf.int8,
                          inference_output_type=tf.int8)


def _gpu_graphs(tf):
    """name -> (input specs, function): small graphs for the classic GPU delegate's rules
    (tests/test_gpu_rules.py), each with the op a rule of model_builder.cc judges."""
    f32, S = tf.float32, tf.TensorSpec
    image = S([1, 4, 4, 3], f32)
    table = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    return {
        "add_n_2": ([S([1, 4], f32)] * 2, lambda a, b: tf.math.add_n([a, b])),
        "add_n_3": ([S([1, 4], f32)] * 3, lambda a, b, c: tf.math.add_n([a, b, c])),
        "gather_int32": ([S([4], tf.int32)], lambda i: tf.gather(table, i)),
        "gather_int64": ([S([4], tf.int64)], lambda i: tf.gather(table, i)),
        "gelu": ([image], tf.nn.gelu),
        "sign": ([image], tf.sign),
        "logical_and": ([image] * 2, lambda x, y: tf.cast(tf.logical_and(x > 0, y > 0), f32) * x),
        "padv2": ([image], lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]],
                                            constant_values=1.0)),
        "select_bool": ([S([1, 4, 4, 3], tf.bool), image, image],
                        lambda c, a, b: tf.compat.v1.where(c, a, b)),
        "select_2d": ([S([1, 8], tf.bool), S([1, 8], f32), S([1, 8], f32)],
                      lambda c, a, b: tf.compat.v1.where(c, a, b)),
        "compare_select": ([image] * 2, lambda a, b: tf.where(a > b, a, b)),
        "compare_two_consumers": ([image], lambda x: tf.where(x > 0, x, -x)
                                  + tf.cast(x > 0, f32)),
        "compare_int_cast": ([image], lambda x: tf.cast(x > 0, tf.int32)),
        "unpack": ([S([1, 3, 4], f32)], lambda x: tf.unstack(x, axis=1)),
        "cast_output": ([image], lambda x: (x * 2.0, tf.cast(x > 0, f32))),
        "cast_bool_input": ([S([1, 4, 4, 3], tf.bool)], lambda c: tf.cast(c, f32) * 2.0),
        "mul_both_broadcast": ([S([1, 8, 1, 4], f32), S([1, 1, 8, 4], f32)], lambda a, b: a * b),
        "depthwise_multiplier": ([S([1, 8, 8, 3], f32)], lambda x: tf.nn.depthwise_conv2d(
            x, tf.ones([3, 3, 3, 2]), [1, 1, 1, 1], "SAME")),
    }


@functools.lru_cache(maxsize=None)
def gpu_case(name: str) -> bytes:
    """One of ``_gpu_graphs``, converted as float32."""
    tf = _tf()
    specs, body = _gpu_graphs(tf)[name]
    return _convert_function(tf.function(body, input_signature=specs))

