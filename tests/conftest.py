"""Shared fixtures: tiny real models, built in code (nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported once for the session."""
    from tfl_jupyter.core.tensorflow_import import import_tensorflow

    return import_tensorflow()


@pytest.fixture(scope="session")
def keras(tf):
    """Keras 3, as bundled with TensorFlow."""
    import keras

    return keras


@pytest.fixture(scope="session")
def tiny_model(keras):
    """An 8 -> 3 dense classifier with seeded weights (2048 weights: enough for dynamic-range quantization)."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(256, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
    return keras.Model(inputs, outputs, name="tiny")


@pytest.fixture(scope="session")
def calib():
    """32 calibration samples for ``tiny_model``."""
    return np.random.default_rng(0).normal(size=(32, 8)).astype(np.float32)


@pytest.fixture(scope="session")
def two_input_model(keras):
    """A model with inputs ``zeta`` (4,) then ``alpha`` (3,): not in alphabetical order."""
    zeta = keras.Input((4,), name="zeta")
    alpha = keras.Input((3,), name="alpha")
    merged = keras.layers.Concatenate()([zeta, alpha])
    return keras.Model([zeta, alpha], keras.layers.Dense(2)(merged), name="two_inputs")


@pytest.fixture(scope="session")
def two_outputs(keras):
    """Outputs ``output_0`` (2 values) and ``output_1`` (5-class softmax), stored in the .tflite in the other order."""
    keras.utils.set_random_seed(3)
    zeta, alpha = keras.Input((4,), name="zeta"), keras.Input((3,), name="alpha")
    merged = keras.layers.Concatenate()([zeta, alpha])
    first = keras.layers.Dense(2, name="first")(merged)
    second = keras.layers.Dense(5, activation="softmax", name="second")(merged)
    return keras.Model([zeta, alpha], [first, second])


@pytest.fixture(scope="session")
def saved_model_dir(tf, tmp_path_factory):
    """A SavedModel with signatures ``serving_default`` (x*w) and ``shifted`` (x+w)."""

    class Scaler(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.fill([4], 2.0))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def scale(self, x):
            return {"y": tf.nn.relu(x * self.w)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def shift(self, x):
            return {"y": x + self.w}

    module = Scaler()
    path = tmp_path_factory.mktemp("saved") / "scaler"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.scale, "shifted": module.shift})
    return path


@pytest.fixture(scope="session")
def keras_files(tiny_model, tmp_path_factory):
    """``tiny_model`` saved as ``.keras`` and ``.h5``: {suffix: path}."""
    folder = tmp_path_factory.mktemp("keras_files")
    paths = {}
    for suffix in (".keras", ".h5"):
        path = folder / f"tiny{suffix}"
        tiny_model.save(path)
        paths[suffix] = path
    return paths


@pytest.fixture(scope="session")
def string_function(tf):
    """A tf.function with an op that has no TFLite builtin (needs Flex).

    The op is created on the line marked ``# BLOCKING LINE`` so tests can check that
    the error points into this file.
    """

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def string_lengths(text):
        return tf.strings.length(text)  # BLOCKING LINE

    return string_lengths


@pytest.fixture(scope="session")
def ipython():
    """The one real IPython shell of the test session, with tfl_jupyter loaded."""
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "tfl_jupyter")
    return shell


# How a worker process dies, as a job it runs instead of the next conversion (see worker_fault).
_DEATHS = {
    "segfault": ("ctypes:string_at", (0,)),
    "abort": ("os:abort", ()),
    "exit": ("os:_exit", (3,)),
}


@pytest.fixture
def worker_fault(monkeypatch):
    """``worker_fault(how, nth=1)``: the nth conversion job from now kills its worker process.

    The process really dies (a segfault, an abort or an exit code); what is faked is only
    which job it was running: the conversion request is swapped for one that dies.
    """
    from tfl_jupyter.core.worker.process import WorkerProcess

    exchange = WorkerProcess.exchange
    planned = {}

    def dying_exchange(self, request, *args, **kwargs):
        if request[0] == "convert" and planned:
            planned["count"] -= 1
            if planned["count"] == 0:
                target, arguments = _DEATHS[planned.pop("how")]
                planned.clear()
                request = ("call", target, arguments, {})
        return exchange(self, request, *args, **kwargs)

    monkeypatch.setattr(WorkerProcess, "exchange", dying_exchange)

    def plan(how: str, nth: int = 1) -> None:
        planned.update(how=how, count=nth)

    return plan
