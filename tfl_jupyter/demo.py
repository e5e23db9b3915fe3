"""A built-in demo model and samples, made in code: nothing is downloaded."""

from __future__ import annotations

import numpy as np


def demo_model(seed: int = 0):
    """A small Keras image classifier (32x32 RGB -> 10 classes) with seeded random weights.

    Real enough to show every feature (conv, depthwise conv, pooling, dense, softmax),
    small enough to convert in about a second.

    Parameters
    ----------
    seed : int
        Seed for the weights; the same seed gives the same model.

    Returns
    -------
    keras.Model
    """
    from .core.tensorflow_import import import_tensorflow

    import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 3), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="demo_cnn")


def demo_samples(n: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` images shaped like the demo model's input: smooth random patterns in [0, 1].

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(n, 32, 32, 3)``.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, 8, 8, 3), dtype=np.float32)
    return np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)  # blocky images, not white noise
