"""Tiny op models for LiteRT's GPU accelerator (the ``litert_gpu`` target and ``gpu_check``).

Each is a ``tf.function`` at fixed shapes, converted with the raw ``tf.lite.TFLiteConverter``
(builtin ops only) and cached for the test session. They are chosen to exercise what the
accelerator takes and what it refuses: one or two interesting ops each, some in a chain of
supported ops so that a refused op cuts the graph into partitions. TensorFlow is imported
lazily, inside the builders (the GPU accelerator itself runs in TF-free worker processes).
"""
from __future__ import annotations

import functools

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def _graphs(tf) -> dict:
    """name -> (input signature as [(shape, dtype)], function)."""
    f32, i32 = tf.float32, tf.int32
    img = [([1, 8, 8, 4], f32)]
    vec = [([1, 16], f32)]
    seq = [([1, 8, 4], f32)]
    w4 = np.linspace(-1, 1, 3 * 3 * 4 * 6, dtype=np.float32).reshape(3, 3, 4, 6)
    dw = np.linspace(-1, 1, 3 * 3 * 4 * 2, dtype=np.float32).reshape(3, 3, 4, 2)
    dense = np.linspace(-1, 1, 16 * 8, dtype=np.float32).reshape(16, 8)
    return {
        "conv2d_relu": (img, lambda x: tf.nn.relu(tf.nn.conv2d(x, w4, 1, "SAME") + 0.5)),
        "depthwise": (img, lambda x: tf.nn.depthwise_conv2d(x, dw[..., :1], [1, 1, 1, 1], "SAME")),
        "depthwise_multiplier2": (img, lambda x: tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME")),
        "dense_tanh": (vec, lambda x: tf.tanh(tf.matmul(x, dense) + 0.1)),
        "max_pool": (img, lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID") * 2.0),
        "avg_pool": (img, lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID") + 1.0),
        "mean_spatial": (img, lambda x: tf.reduce_mean(x * 3.0, axis=[1, 2])),
        "softmax": (vec, lambda x: tf.nn.softmax(x * 2.0)),
        "logistic_mul": (vec, lambda x: tf.sigmoid(x) * x),
        "relu6_sub": (vec, lambda x: tf.nn.relu6(x - 0.5)),
        "exp_log": (vec, lambda x: tf.math.log(tf.exp(x) + 1.0)),
        "sqrt_rsqrt": (vec, lambda x: tf.sqrt(tf.abs(x) + 1.0) * tf.math.rsqrt(tf.abs(x) + 2.0)),
        "sin_cos": (vec, lambda x: tf.sin(x) + tf.cos(x)),
        "square_neg": (vec, lambda x: -tf.square(x)),
        "maximum_minimum": (vec, lambda x: tf.minimum(tf.maximum(x, 0.2), 0.8)),
        "squared_difference": (vec, lambda x: tf.math.squared_difference(x, 0.5)),
        "pow": (vec, lambda x: tf.pow(tf.abs(x) + 1.0, 1.5)),
        "div": (vec, lambda x: x / (tf.abs(x) + 1.0)),
        "concat": (img, lambda x: tf.concat([x, x * 2.0], axis=3)),
        "reshape_transpose": (img, lambda x: tf.transpose(tf.reshape(x * 2.0, [1, 16, 16]), [0, 2, 1])),
        "pad": (img, lambda x: tf.pad(x * 2.0, [[0, 0], [1, 1], [1, 1], [0, 0]])),
        "padv2": (img, lambda x: tf.pad(x * 2.0, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=1.0)),
        "mirror_pad": (img, lambda x: tf.pad(x * 2.0, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")),
        "resize_bilinear": (img, lambda x: tf.image.resize(x * 2.0, [16, 16], "bilinear")),
        "resize_nearest": (img, lambda x: tf.image.resize(x * 2.0, [16, 16], "nearest")),
        "strided_slice": (img, lambda x: (x * 2.0)[:, 1:7:2, :, :]),
        "split": (img, lambda x: tf.split(x * 2.0, 2, axis=3)[1] + 1.0),
        "space_to_depth": (img, lambda x: tf.nn.space_to_depth(x * 2.0, 2)),
        "depth_to_space": (img, lambda x: tf.nn.depth_to_space(x * 2.0, 2)),
        "batch_matmul": ([([1, 4, 8], f32), ([1, 8, 4], f32)], lambda a, b: tf.matmul(a, b)),
        "leaky_relu": (vec, lambda x: tf.nn.leaky_relu(x * 2.0, 0.1)),
        "hard_swish": (vec, lambda x: x * tf.nn.relu6(x + 3.0) / 6.0),
        "gelu": (vec, lambda x: tf.nn.gelu(x, approximate=False)),
        "l2_normalize": (vec, lambda x: tf.math.l2_normalize(x * 2.0, axis=-1)),
        "cumsum_float": (vec, lambda x: tf.math.cumsum(x * 2.0, axis=1)),
        "cumsum_int": ([([1, 16], i32)], lambda k: tf.math.cumsum(k, axis=1)),
        "topk": (vec, lambda x: tf.math.top_k(x * 2.0, 4).values),
        "argmax": (vec, lambda x: tf.argmax(x * 2.0, axis=1, output_type=tf.int32)),
        "argmin": (vec, lambda x: tf.argmin(x * 2.0, axis=1, output_type=tf.int32)),
        "ceil_floor": (vec, lambda x: tf.math.ceil(x * 4.0) + tf.floor(x * 4.0)),
        "round": (vec, lambda x: tf.round(x * 4.0)),
        "cast_to_int": (vec, lambda x: tf.cast(x * 10.0, tf.int32)),
        "greater_cast": (vec, lambda x: x * tf.cast(x > 0.5, tf.float32)),
        "less_output": (vec, lambda x: x * 2.0 < 0.5),
        "select": (vec, lambda x: tf.where(x > 0.5, x, x * 2.0)),
        "sign": (vec, lambda x: tf.sign(x - 0.5) * 2.0),
        "add_n": (vec, lambda x: tf.add_n([x, x * 2.0, x * 3.0])),
        "reverse_chain": (seq, lambda x: tf.tanh(tf.reverse(x * 1.5, axis=[1]) + 0.25)),
        "reverse_cut_chain": (seq, lambda x: tf.tanh(tf.reverse(tf.tanh(x * 1.5) * 2.0, axis=[1]) + 0.25) * 3.0),
        "logical_or_not": (vec, lambda x: tf.cast(tf.logical_not(tf.logical_or(x > 0.8, x < 0.2)), tf.float32)),
        "logical_and": (vec, lambda x: tf.cast(tf.logical_and(x > 0.2, x < 0.8), tf.float32)),
        "one_hot": ([([1, 4], i32)], lambda k: tf.one_hot(k, 5) * 2.0),
        "gather": (vec, lambda x: tf.gather(x * 2.0, [3, 1, 2], axis=1)),
        "tile": (vec, lambda x: tf.tile(x * 2.0, [2, 1])),
        "sum_max": (img, lambda x: tf.reduce_sum(x, axis=[3]) + tf.reduce_max(x, axis=[3])),
        "rank5_add": ([([1, 2, 2, 2, 3], f32)], lambda v: v + tf.ones([1, 2, 2, 2, 3])),
        "mul_both_broadcast": ([([1, 4, 1], f32), ([1, 1, 4], f32)], lambda a, b: a * b),
        "while_loop": ([([1, 4], f32)], lambda x: tf.while_loop(
            lambda i, y: i < 3, lambda i, y: (i + 1, y * 2.0 + 1.0), (tf.constant(0), x))[1]),
        "int_add": ([([1, 16], i32)], lambda k: k + 3),
        "unpack_pack": ([([1, 4, 6], f32)], lambda x: tf.stack(tf.unstack(x * 2.0, axis=1)[::-1], axis=1)),
        "gather_nd": ([([1, 4, 6], f32)], lambda x: tf.gather_nd(x * 2.0, [[0, 1], [0, 3]])),
        "floor_div_mod": (vec, lambda x: tf.math.floordiv(x * 8.0, 3.0) + tf.math.floormod(x * 8.0, 3.0)),
        "reduce_min_prod": (img, lambda x: tf.reduce_min(x, axis=[3]) * tf.reduce_prod(x, axis=[3])),
        "reduce_any": (vec, lambda x: tf.cast(tf.reduce_any(x > 0.5, axis=1), tf.float32)),
        "log_softmax": (vec, lambda x: tf.nn.log_softmax(x * 2.0)),
        "elu": (vec, lambda x: tf.nn.elu(x * 2.0)),
        "expand_squeeze": (vec, lambda x: tf.squeeze(tf.expand_dims(x * 2.0, 1), 1) + 1.0),
        "broadcast_to": ([([1, 1, 4], f32)], lambda x: tf.broadcast_to(x * 2.0, [1, 3, 4])),
        "transpose_conv": (img, lambda x: tf.nn.conv2d_transpose(
            x, np.ones((3, 3, 2, 4), np.float32), [1, 16, 16, 2], 2, "SAME")),
        "dilated_conv": (img, lambda x: tf.nn.conv2d(x, w4, 1, "SAME", dilations=2)),
        "embedding_lookup": ([([1, 4], i32)], lambda k: tf.nn.embedding_lookup(dense, k) * 2.0),
        "zeros_like_fill": (vec, lambda x: x + tf.zeros_like(x) + 1.0),
        "two_cumsums": ([([1, 8], f32), ([1, 8], i32)], lambda x, k: (tf.math.cumsum(x, axis=1),
                                                                       tf.math.cumsum(k, axis=1))),
        "conv3d": ([([1, 4, 4, 4, 2], f32)], lambda x: tf.nn.conv3d(x, np.ones((2, 2, 2, 2, 3), np.float32),
                                                                    [1, 1, 1, 1, 1], "SAME")),
        "reverse_sequence": (seq, lambda x: tf.reverse_sequence(x * 2.0, [3], seq_axis=1, batch_axis=0)),
        "sort_like_topk_int": ([([1, 16], i32)], lambda k: tf.math.top_k(k, 4).values),
        "argmax_then_cast": (vec, lambda x: tf.cast(tf.argmax(x, axis=1), tf.float32) * 2.0),
        "gather_2d_mid": (vec, lambda x: tf.tanh(tf.gather(tf.tanh(x * 2.0) + 1.0, [[1, 2], [3, 4]], axis=1) * 3.0) - 1.0),
        "l2norm_cut": (vec, lambda x: tf.tanh(tf.math.l2_normalize(tf.tanh(x * 1.5), axis=-1) * 2.0) + 0.25),
        "two_gathers": (vec, lambda x: tf.gather(x * 2.0, [3, 1], axis=1)
                        + tf.reduce_sum(tf.gather(x, [[1, 2]], axis=1), axis=1)),
        "while_body_refused": ([([1, 4], f32)], lambda x: tf.while_loop(
            lambda i, y: i < 3, lambda i, y: (i + 1, tf.math.l2_normalize(y * 2.0, axis=-1)), (tf.constant(0), x))[1] * 3.0),
    }


def names() -> list:
    """Every model's name."""
    return sorted(_graphs(_FakeTF()))


class _FakeTF:
    """Enough of TensorFlow's namespace to list the graphs without importing it."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


@functools.lru_cache(maxsize=None)
def model(name: str) -> bytes:
    """The ``.tflite`` bytes of one model (builtin ops only, float32)."""
    tf = _tf()
    signature, body = _graphs(tf)[name]
    fn = tf.function(body, input_signature=[tf.TensorSpec(shape, dtype) for shape, dtype in signature])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    return converter.convert()


@functools.lru_cache(maxsize=None)
def dynamic_range_dense() -> bytes:
    """A dense layer with int8 weights and float activations (FULLY_CONNECTED with hybrid kernels)."""
    tf = _tf()
    weights = np.linspace(-1, 1, 64 * 48, dtype=np.float32).reshape(64, 48)
    fn = tf.function(lambda x: tf.nn.relu(tf.matmul(x, weights)), input_signature=[tf.TensorSpec([1, 64], tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()
