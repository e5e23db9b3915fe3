"""The models of TensorFlow's own converter tests, rebuilt for Keras 3 and TensorFlow 2.21.

Each case ports one test of ``tensorflow/lite/python/lite_v2_test.py`` (its helpers come
from ``lite_v2_test_util.py``): it builds the same tiny model in code and says how to convert
it twice, with the raw ``tf.lite.TFLiteConverter`` entry point and with ``tj.convert``, with
the same settings. ``test_equivalence.py`` runs and compares the two.

A case's ``build(env)`` returns a :class:`Conversion`:

- ``source``: what ``tj.convert`` gets; ``make_converter()``: the raw entry point on the
  same source (``from_concrete_functions``, ``from_saved_model``, ``from_keras_model``);
- ``settings``: converter attributes in ``tj.convert``'s keyword spelling (``optimizations=
  ["DEFAULT"]``, ``supported_ops=[...]``, ``inference_input_type="int8"``, any other attribute
  by name); the test applies them to the raw converter the same way;
- ``dataset``: the representative dataset, one seeded generator function for both.

Upstream names are ``Class.testMethod[_parameters]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class Env:
    """What case builders need: TensorFlow, Keras and a folder for SavedModels."""

    tf: Any
    keras: Any
    folder: str

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)


@dataclass
class Conversion:
    """One model, and how to convert it both ways (see the module docstring)."""

    source: Any
    make_converter: Callable[[], Any]
    settings: dict = field(default_factory=dict)
    source_kwargs: dict = field(default_factory=dict)  # signature_keys / tags, for tj.convert
    dataset: Optional[Callable] = None
    raw_dataset: Optional[Callable] = None  # where TensorFlow needs the same samples in another form
    feeds: Optional[Callable[[np.random.Generator], list]] = None  # inputs to run on, in input order
    run: bool = True  # False: Flex or custom ops, which the pip interpreter cannot run
    keep: Any = None  # an object the source needs alive (a ConcreteFunction's module)
    refusal: Optional[str] = None  # a ValueError from tj.convert matching this is also a right answer


@dataclass(frozen=True)
class Case:
    name: str
    upstream: str
    build: Callable[[Env], Conversion]


CASES: list = []


def case(upstream: str):
    """Register the decorated builder as a case named after the function."""

    def register(build):
        CASES.append(Case(build.__name__, upstream, build))
        return build

    return register


# -- shared pieces ---------------------------------------------------------------------------


def samples(*shapes, n: int = 5, low: float = -1.0, high: float = 1.0, seed: int = 0):
    """A seeded generator function yielding ``[array, ...]``, one float32 array per shape."""

    def generate():
        rng = np.random.default_rng(seed)
        for _ in range(n):
            yield [rng.uniform(low, high, size=shape).astype(np.float32) for shape in shapes]

    return generate


def functions(env: Env, functions_, trackable) -> Callable[[], Any]:
    """The raw ``from_concrete_functions`` entry point."""
    concrete = [f if isinstance(f, env.tf.types.experimental.ConcreteFunction) else f.get_concrete_function()
                for f in functions_]
    return lambda: env.tf.lite.TFLiteConverter.from_concrete_functions(concrete, trackable)


def one_function(env: Env, function, **extra) -> Conversion:
    """``tj.convert(function)`` against ``from_concrete_functions([its concrete function], function)``."""
    return Conversion(source=function, make_converter=functions(env, [function], function), **extra)


def saved_model(env: Env, path: str, signature_keys=None, tags=None, **extra) -> Conversion:
    """``tj.convert(path, signature_keys=, tags=)`` against ``from_saved_model(path, ...)``."""
    tf = env.tf
    kwargs = {k: v for k, v in (("signature_keys", signature_keys), ("tags", tags)) if v is not None}
    return Conversion(
        source=path,
        make_converter=lambda: tf.lite.TFLiteConverter.from_saved_model(
            path, signature_keys=signature_keys, tags=set(tags) if tags else None),
        source_kwargs=kwargs,
        **extra,
    )


def keras_model(env: Env, model, **extra) -> Conversion:
    """``tj.convert(model)`` against ``from_keras_model(model)``."""
    return Conversion(source=model, make_converter=lambda: env.tf.lite.TFLiteConverter.from_keras_model(model), **extra)


def simple_variable_model(tf, shape=(1,)):
    """lite_v2_test_util._getSimpleVariableModel: ``f(x) = v1 * v2 * x`` with variables 3 and 2."""
    root = tf.Module()
    root.v1 = tf.Variable(3.0)
    root.v2 = tf.Variable(2.0)
    root.f = tf.function(lambda x: root.v1 * root.v2 * x, input_signature=[tf.TensorSpec(shape, tf.float32)])
    return root


def multi_function_model(tf):
    """lite_v2_test_util._getMultiFunctionModel: ``add`` (+2), ``sub`` (-3) and ``mul_add`` (x*3+y)."""

    class BasicModel(tf.Module):
        def __init__(self):
            super().__init__()
            self.y = tf.Variable(2.0)
            self.z = tf.Variable(3.0)

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x")])
        def add(self, x):
            return x + self.y

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x")])
        def sub(self, x):
            return x - self.z

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x"),
                                      tf.TensorSpec([1], tf.float32, name="y")])
        def mul_add(self, x, y):
            return x * self.z + y

    return BasicModel()


def integer_quantize_function(tf, num_filters: int = 16):
    """FromConcreteFunctionTest._getIntegerQuantizeModel: CONV_2D of ones + RELU on 1x5x5x3."""

    @tf.function(input_signature=[tf.TensorSpec([1, 5, 5, 3], tf.float32)])
    def func(inp):
        conv = tf.nn.conv2d(inp, tf.ones([3, 3, 3, num_filters]), strides=[1, 1, 1, 1], padding="SAME")
        return tf.nn.relu(conv, name="output")

    return func


CONV_SAMPLES = samples((1, 5, 5, 3))


def v1_saved_model(env: Env, name: str, build_graph, tags=("serve",)) -> str:
    """A TF1 SavedModel: ``build_graph(tf)`` returns ({key: placeholder}, {key: tensor})."""
    tf = env.tf
    path = env.path(name)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        inputs, outputs = build_graph(tf)
        sess.run(tf.compat.v1.global_variables_initializer())
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)
        builder = tf.compat.v1.saved_model.builder.SavedModelBuilder(path)
        builder.add_meta_graph_and_variables(sess, list(tags), signature_def_map={"serving_default": signature},
                                             main_op=tf.compat.v1.tables_initializer(), strip_default_attrs=True)
        builder.save()
    return path


# -- from_concrete_functions: FromConcreteFunctionTest ---------------------------------------------


@case("FromConcreteFunctionTest.testFloat")
def function_variables_module_trackable(env):
    # Upstream passes the module as the trackable object. tj.convert(root.f) converts as
    # from_concrete_functions([f], f) does (its .code says so); a list, even of one function,
    # is converted with a tf.Module that owns what the functions capture, as upstream's is here.
    root = simple_variable_model(env.tf)
    return Conversion(source=[root.f], make_converter=functions(env, [root.f], root))


@case("FromConcreteFunctionTest.testFloat (trackable = the function)")
def function_variables_function_trackable(env):
    root = simple_variable_model(env.tf)
    return one_function(env, root.f)


@case("FromSavedModelTest.testConstModel, from a concrete function")
def function_captured_constant(env):
    tf = env.tf
    scale = tf.constant([2.0, -1.0, 0.5])

    @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
    def f(x):
        return scale * x

    return one_function(env, f)


@case("FromConcreteFunctionTest.testScalarInput")
def scalar_input(env):
    root = simple_variable_model(env.tf, shape=())
    return one_function(env, root.f)


@case("FromConcreteFunctionTest.testStringInput (tf.Module __call__, float)")
def module_call(env):
    tf = env.tf

    class Scaler(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0, -2.0], [0.5, 3.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w))

    module = Scaler()
    return Conversion(source=module, make_converter=functions(env, [module.__call__], module))


@case("FromConcreteFunctionTest.testStringInput")
def module_string_identity(env):
    tf = env.tf

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([11], tf.string)])
        def __call__(self, x):
            return x

    module = Model()
    words = np.array([str(i).encode() for i in range(11)], dtype=object)
    return Conversion(source=module, make_converter=functions(env, [module.__call__], module),
                      feeds=lambda rng: [words])


@case("FromConcreteFunctionTest.testModelWithoutInputs")
def no_inputs_random(env):
    tf = env.tf

    @tf.function(input_signature=[])
    def func():
        return tf.random.uniform(shape=[3], dtype=tf.float32, seed=7)  # seeded: runs are comparable

    return one_function(env, func)


@case("FromConcreteFunctionTest.testMultiFunctionModel (a ConcreteFunction as the source)")
def concrete_function_source(env):
    root = multi_function_model(env.tf)
    add = root.add.get_concrete_function()
    return Conversion(source=add, make_converter=functions(env, [add], add), keep=root)


@case("FromConcreteFunctionTest.testConvertMultipleFunctions")
def two_functions_module_trackable(env):
    # Upstream: from_concrete_functions([add, sub], root) gives signatures 'add' and 'sub'.
    # tj.convert([add, sub]) has no way to name the module: its signatures are compared.
    root = multi_function_model(env.tf)
    return Conversion(source=[root.add, root.sub], make_converter=functions(env, [root.add, root.sub], root))


@case("FromConcreteFunctionTest.testPostTrainingCalibrateAndQuantize")
def int8_float_io(env):
    return one_function(env, integer_quantize_function(env.tf), settings=dict(optimizations=["DEFAULT"]),
                        dataset=CONV_SAMPLES)


@case("FromConcreteFunctionTest.testPostTrainingCalibrateAndQuantize_DisableMlirQuantizer")
def int8_old_quantizer(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES,
                        settings=dict(optimizations=["DEFAULT"], experimental_new_quantizer=False))


@case("FromConcreteFunctionTest.testIntegerQuantization_IntOnly_INT8InputOutput")
def int8_int8_io(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS_INT8"],
        inference_input_type="int8", inference_output_type="int8"))


@case("FromConcreteFunctionTest.testIntegerQuantization_UINT8InputOutput")
def int8_uint8_io(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES, settings=dict(
        optimizations=["DEFAULT"], inference_input_type="uint8", inference_output_type="uint8"))


@case("FromConcreteFunctionTest.testCalibrateAndQuantizeBuiltinInt16")
def int16x8_float_io(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"]))


@case("FromConcreteFunctionTest.testIntegerQuantization_INT16Quantize_INT16InputOutput")
def int16x8_int16_io(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES, settings=dict(
        optimizations=["DEFAULT"],
        supported_ops=["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8", "TFLITE_BUILTINS"],
        inference_input_type="int16", inference_output_type="int16"))


@case("FromConcreteFunctionTest.testConversionMetadataForFloat16")
def float16(env):
    return one_function(env, integer_quantize_function(env.tf), dataset=CONV_SAMPLES,
                        settings=dict(optimizations=["DEFAULT"], supported_types=["float16"]))


@case("FromConcreteFunctionTest.testDisablePerChannelQuantization_PerChannelDynamicRange")
def dynamic_range(env):
    # 38 filters: 1026 weights, over the 1024 below which dynamic range leaves weights float.
    return one_function(env, integer_quantize_function(env.tf, num_filters=38), settings=dict(optimizations=["DEFAULT"]))


@case("FromConcreteFunctionTest.testDisablePerChannelQuantization_PerTensorQuant")
def int8_per_tensor(env):
    return one_function(env, integer_quantize_function(env.tf, num_filters=38), dataset=CONV_SAMPLES, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS"], _experimental_disable_per_channel=True))


@case("FromConcreteFunctionTest.testIntegerQuantizationWithUnsupportedOps_INT8InputOutput")
def two_inputs_two_outputs_int8_io(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([3], tf.float32), tf.TensorSpec([3], tf.float32)])
    def func(a, b):
        left = tf.math.ceil(a)  # CEIL has no int8 kernel: it stays float
        right = tf.nn.tanh(b)
        return tf.math.ceil(tf.math.add(left, right)), right

    # Different ranges per input, so int8 parameters fed to the wrong input would show.
    def calibration():
        rng = np.random.default_rng(0)
        for _ in range(5):
            yield [rng.uniform(-8, 8, size=3).astype(np.float32), rng.uniform(-1, 1, size=3).astype(np.float32)]

    return one_function(env, func, dataset=calibration, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS"],
        inference_input_type="int8", inference_output_type="int8"))


@case("FromConcreteFunctionTest.testOpVersion")
def op_version(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([5, 5], tf.float32)])
    def custom_resize(image):
        image = image[tf.newaxis, ..., tf.newaxis]
        resize1 = tf.compat.v1.image.resize_bilinear(image, [2, 2], half_pixel_centers=True)  # version 3
        resize2 = tf.compat.v1.image.resize_bilinear(image, [2, 2])  # version 1
        return resize1 + resize2

    return one_function(env, custom_resize)


@case("FromConcreteFunctionTest.testForceSelectTFOps")
def force_select_tf_ops(env):
    root = simple_variable_model(env.tf)
    return one_function(env, root.f, settings=dict(supported_ops=["SELECT_TF_OPS"]), run=False)


@case("FromConcreteFunctionTest.testIntegerQuantizationWithFlexOp_Default (erf needs Flex in 2.21)")
def flex_erf(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([2, 3], tf.float32)])
    def func(x):
        return tf.math.tanh(tf.math.erf(x * 2.0))

    return one_function(env, func, settings=dict(supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"]), run=False)


@case("CalibrateAndQuantizeWithCustomOpTest (allow_custom_ops; erf as the custom op)")
def custom_op_erf(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([2, 3], tf.float32)])
    def func(x):
        return tf.math.erf(x) + 1.0

    return one_function(env, func, settings=dict(allow_custom_ops=True), run=False)


@case("FromConcreteFunctionTest.testExcludeConversionMetadata")
def exclude_conversion_metadata(env):
    root = simple_variable_model(env.tf)
    return one_function(env, root.f, settings=dict(exclude_conversion_metadata=True))


@case("FromConcreteFunctionTest.testSerializeDebugMetadata")
def serialize_debug_metadata(env):
    root = simple_variable_model(env.tf)
    return one_function(env, root.f, settings=dict(serialize_debug_metadata=True))


@case("FromConcreteFunctionTest.testEmbeddings (200x30 instead of 2000x300)")
def embeddings(env):
    tf = env.tf

    class EmbeddingModel(tf.Module):
        def __init__(self):
            super().__init__()
            self.shared_weights = tf.Variable(tf.random.stateless_normal((200, 30), seed=[1, 2], stddev=30 ** -0.5))

        @tf.function(input_signature=[tf.TensorSpec([20], tf.int32)])
        def __call__(self, x):
            return tf.gather(self.shared_weights, x)

    module = EmbeddingModel()
    return Conversion(source=module, make_converter=functions(env, [module.__call__], module),
                      feeds=lambda rng: [rng.integers(0, 200, size=20).astype(np.int32)])


@case("FromConcreteFunctionTest.testGatherNDQI8 (_experimental_qdq_conversion_mode='STATIC')")
def gather_nd_qdq(env):
    tf = env.tf

    class GatherNDQI8QDQ(tf.Module):  # upstream: a tf.keras.Model; Keras 3 models do not hold tf.functions
        @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32)])
        def __call__(self, x):
            x = tf.quantization.fake_quant_with_min_max_args(x, -3.0, 3.0)
            x = tf.gather_nd(x, [[0, 0], [1, 1]])
            return tf.quantization.fake_quant_with_min_max_args(x, -3.0, 3.0)

    module = GatherNDQI8QDQ()
    return Conversion(source=module, make_converter=functions(env, [module.__call__], module),
                      settings=dict(_experimental_qdq_conversion_mode="STATIC"))


# -- from_concrete_functions: ControlFlowTest, StridedSliceTest, GrapplerTest, UnknownShapes -------


@case("ControlFlowTest.testCond")
def cond(env):
    tf = env.tf
    weights = tf.Variable([[0.1, 0.2], [0.3, 0.4]], dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, 2], tf.float32), tf.TensorSpec((), tf.bool)])
    def model(x, b):
        return tf.cond(b, true_fn=lambda: tf.matmul(x, weights), false_fn=lambda: tf.add(x, weights))

    return one_function(env, model)


@case("ControlFlowTest.testCondWithFullIntegerQuantization (bool samples)")
def cond_int8(env):
    tf = env.tf
    weights = tf.Variable([[0.1, 0.2], [0.3, 0.4]], dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, 2], tf.float32), tf.TensorSpec((), tf.bool)])
    def model(x, b):
        return tf.cond(b, true_fn=lambda: tf.matmul(x, weights), false_fn=lambda: tf.add(x, weights))

    def calibration():  # five samples through each branch, as upstream
        rng = np.random.default_rng(0)
        for flag in (True, False):
            for _ in range(5):
                yield [rng.uniform(-1, 1, size=(1, 2)).astype(np.float32), np.array(flag)]

    return one_function(env, model, dataset=calibration, settings=dict(optimizations=["DEFAULT"]))


@case("ControlFlowTest.testWhileLoop")
def while_loop(env):
    tf = env.tf
    weights = tf.Variable([[0.1, 0.2], [0.3, 0.4]], dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32)])
    def model(x):
        return tf.while_loop(lambda x: tf.reduce_sum(x) < 100, lambda x: tf.add(x, weights), [x])

    return one_function(env, model)


@case("StridedSliceTest.testStridedSlice")
def strided_slice(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([6], tf.float32), tf.TensorSpec([1], tf.int32)])
    def model(a, begin):
        return tf.strided_slice(a, begin, begin + 3)

    return one_function(env, model, feeds=lambda rng: [rng.standard_normal(6).astype(np.float32),
                                                       np.array([1], np.int32)])


@case("GrapplerTest.testConstantFolding")
def grappler_constant_folding(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([3, 3], tf.float32)])
    def func(x):
        y_broadcast = tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), [3, 3])
        return tf.matmul(x, y_broadcast)

    return one_function(env, func)


@case("GrapplerTest.testConstantFolding (then optimizations=[DEFAULT])")
def grappler_constant_folding_dynamic_range(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([3, 3], tf.float32)])
    def func(x):
        y_broadcast = tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), [3, 3])
        return tf.matmul(x, y_broadcast)

    return one_function(env, func, settings=dict(optimizations=["DEFAULT"]))


@case("UnknownShapes.testMatMul")
def unknown_batch_matmul(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def model(in_tensor):
        fill = tf.transpose(tf.fill(tf.shape(in_tensor), 1.0))
        return tf.matmul(fill, in_tensor)

    return one_function(env, model, feeds=lambda rng: [rng.standard_normal((10, 4)).astype(np.float32)])


def _unknown_shapes_33(tf):
    const = np.random.default_rng(0).uniform(-10.0, 10.0, size=[33, 33]).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 33], tf.float32)])
    def model(input_tensor):  # UnknownShapes._getIntegerQuantizeModelWithUnknownShapes
        const_tensor = tf.constant(const, name="inputB")
        fill = tf.transpose(tf.fill(tf.shape(input_tensor), 1.0))
        return tf.matmul(tf.matmul(fill, input_tensor), const_tensor)

    return model


@case("UnknownShapes.testMatMulQuantize")
def unknown_batch_dynamic_range(env):
    return one_function(env, _unknown_shapes_33(env.tf), settings=dict(optimizations=["DEFAULT"]))


@case("UnknownShapes.testMatMulCalibrateAndQuantize")
def unknown_batch_int8(env):
    def calibration():  # batches of 5, 10 and 15, as upstream
        rng = np.random.default_rng(0)
        for batch in range(5, 20, 5):
            for _ in range(2):
                yield [rng.uniform(-1, 1, size=(batch, 33)).astype(np.float32)]

    return one_function(env, _unknown_shapes_33(env.tf), dataset=calibration, settings=dict(optimizations=["DEFAULT"]))


@case("UnknownShapes.testBatchMatMul (inputs 'x' then 'b')")
def batch_matmul_x_then_b(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 5], tf.float32, name="x"),
                                  tf.TensorSpec([None, 5, 3], tf.float32, name="b")])
    def model(x, b):
        return tf.matmul(x, b)

    return one_function(env, model)


@case("UnknownShapes.testBatchMatMulInputInt8Int8OutputInt32")
def batch_matmul_int8_inputs(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 6], tf.int8), tf.TensorSpec([None, 6, 2], tf.int8)])
    def model(in_tensor_1, in_tensor_2):
        return tf.matmul(in_tensor_1, in_tensor_2, output_type=tf.int32)

    return one_function(env, model)


@case("UnknownShapes.testBatchMatMulHybrid (rhs 1x32x64)")
def batch_matmul_hybrid(env):
    tf = env.tf
    rhs = np.random.default_rng(1).random((1, 32, 64)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 32], tf.float32)])
    def model(in_tensor):
        return tf.matmul(in_tensor, tf.constant(rhs))

    return one_function(env, model, settings=dict(optimizations=["DEFAULT"]))


# -- from_concrete_functions: ResourceAndVariantTypes, DatasetOpsTest, SparsityTest, BufferOffsetTest,
# -- BoundaryValueTest, IntermediatesTest -----------------------------------------------------------


@case("ResourceAndVariantTypes.testVariants")
def variants_tensor_map(env):
    tf = env.tf
    from tensorflow.python.ops import map_ops

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
    def model(v):
        m = map_ops.empty_tensor_map()
        p = tf.add(tf.constant(1.0), v)
        with tf.control_dependencies([m]):
            m2 = map_ops.tensor_map_insert(m, p, v)
            with tf.control_dependencies([m2]):
                return map_ops.tensor_map_size(m2)

    return one_function(env, model, settings=dict(supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"]), run=False)


@case("DatasetOpsTest.testReduceDataset (no inputs, Flex)")
def dataset_reduce_no_inputs(env):
    tf = env.tf

    @tf.function(input_signature=[])
    def model():
        return tf.data.Dataset.from_tensor_slices([1, 2, 3, 4]).reduce(np.int32(0), lambda x, y: x + y)

    return one_function(env, model, settings=dict(supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"]), run=False)


@case("SparsityTest.testRandomSparsity")
def random_sparsity(env):
    tf = env.tf
    values = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0,
                       0, 0, 0, 0, 0, 0, 0, 1], np.float32)

    @tf.function(input_signature=[tf.TensorSpec([16, 4], tf.float32)])
    def func(inp):
        matrix_b = tf.reshape(tf.constant(values), [4, 8])
        return tf.nn.relu(tf.matmul(inp, matrix_b), name="output")

    return one_function(env, func, settings=dict(optimizations=["EXPERIMENTAL_SPARSITY"]))


@case("BufferOffsetTest.testCOncreteFunctionFloat")
def buffer_offset(env):
    root = simple_variable_model(env.tf)
    return one_function(env, root.f, settings=dict(_experimental_use_buffer_offset=True))


@case("BoundaryValueTest.testFloatBoundaryValue_EnableCanonicalizeInfAsMaxMinFloatFromConcreteFunc")
def inf_canonicalized_no_inputs(env):
    tf = env.tf
    root = tf.Module()
    root.v = tf.Variable([1.0, 2.0])

    @tf.function(input_signature=[])
    def func():  # lite_v2_test_util._getInfFloatModel: an infinite constant, no inputs
        return root.v * np.float32(np.inf)

    return one_function(env, func, settings=dict(canonicalizing_inf_as_min_max_float=True))


@case("IntermediatesTest (f(x) = ((x+x)+(x+x))*2, scalar)")
def intermediates_scalar(env):
    tf = env.tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def f(x):
        y = tf.add(x, x, name="y")
        z = tf.add(y, y, name="z")
        return tf.add(z, z, name="w")

    return one_function(env, f)


# -- from_saved_model: FromSavedModelTest, ResourceAndVariantTypes ---------------------------------


@case("FromSavedModelTest.testVariableModel")
def saved_model_variables(env):
    root = simple_variable_model(env.tf)
    path = env.path("variables")
    env.tf.saved_model.save(root, path, root.f.get_concrete_function())
    return saved_model(env, path)


@case("FromSavedModelTest.testNativeVariablesModel_EnableResourceVariables")
def saved_model_resource_variables(env):
    tf = env.tf

    class SimpleModelWithOneVariable(tf.Module):  # lite_v2_test_util._getSimpleModelWithVariables
        def __init__(self):
            super().__init__()
            self.var = tf.Variable(tf.zeros((1, 10)))

        @tf.function(input_signature=[tf.TensorSpec([1, 10], tf.float32)])
        def assign_add(self, x):
            self.var.assign_add(x)
            return self.var.read_value()

    root = SimpleModelWithOneVariable()
    path = env.path("resource_variables")
    tf.saved_model.save(root, path, root.assign_add.get_concrete_function())
    return saved_model(env, path, settings=dict(experimental_enable_resource_variables=True))


def _three_signatures(env, name):
    root = multi_function_model(env.tf)
    path = env.path(name)
    env.tf.saved_model.save(root, path, {"add": root.add.get_concrete_function(),
                                         "sub": root.sub.get_concrete_function(),
                                         "mul_add": root.mul_add.get_concrete_function()})
    return path


@case("FromSavedModelTest.testMultipleFunctionModel (every signature)")
def saved_model_signatures(env):
    return saved_model(env, _three_signatures(env, "signatures"))


@case("FromSavedModelTest.testMultipleFunctionModel (signature_keys subset)")
def saved_model_signature_keys_subset(env):
    return saved_model(env, _three_signatures(env, "subset"), signature_keys=["sub", "mul_add"])


@case("FromSavedModelTest.testMultipleFunctionQuantizedModel_INT8InputOutput")
def saved_model_signatures_int8_io(env):
    root = multi_function_model(env.tf)
    path = env.path("signatures_int8")
    env.tf.saved_model.save(root, path, {"add": root.add.get_concrete_function(),
                                         "sub": root.sub.get_concrete_function()})

    def calibration():  # the converter's own multi-signature form: (key, {input: array})
        rng = np.random.default_rng(0)
        for key in ("add", "add", "sub", "sub"):
            yield key, {"x": rng.uniform(0, 1, size=(1,)).astype(np.float32)}

    return saved_model(env, path, dataset=calibration, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS"],
        inference_input_type="int8", inference_output_type="int8"))


@case("FromSavedModelTest.testSignatureDefsQuantizedModel (dict samples)")
def saved_model_int8_dict_samples(env):
    root = multi_function_model(env.tf)
    path = env.path("mul_add_int8")
    env.tf.saved_model.save(root, path, {"mul_add": root.mul_add.get_concrete_function()})

    def calibration():
        rng = np.random.default_rng(0)
        for _ in range(4):
            yield {"x": rng.uniform(0, 10, size=(1,)).astype(np.float32), "y": rng.uniform(0, 1, size=(1,)).astype(np.float32)}

    return saved_model(env, path, signature_keys=["mul_add"], dataset=calibration, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS_INT8"]))


def _v1_two_inputs(tf):
    # FromSavedModelTest._createV1SavedModel: key 'x' is placeholder 'inputB', 'y' is 'inputA';
    # the .tflite orders its inputs by tensor name (inputA first), not by key.
    in_b = tf.compat.v1.placeholder(shape=[1, 4], dtype=tf.float32, name="inputB")
    in_a = tf.compat.v1.placeholder(shape=[1, 4], dtype=tf.float32, name="inputA")
    variable = tf.Variable(1.0, name="variable_node")
    return {"x": in_b, "y": in_a}, {"z": in_b + in_a * variable}


@case("FromSavedModelTest.testV1SimpleModel")
def saved_model_v1_two_inputs(env):
    return saved_model(env, v1_saved_model(env, "v1_simple", _v1_two_inputs))


@case("FromSavedModelTest.testV1SimpleModel, int8 with list-form samples")
def saved_model_v1_int8_list_samples(env):
    # TensorFlow is wrong here: it feeds a list sample by position to the .tflite's inputs
    # (inputA = 'y', inputB = 'x'), while the list follows the signature's keys in order
    # ('x', 'y', as get_signature_list() and saved_model_cli list them), so the int8 ranges
    # of x (0..100) and y (0..1) end up swapped. What is right is what TensorFlow gives for
    # the same samples keyed by name, so that is the reference here.
    def as_list():
        rng = np.random.default_rng(0)
        for _ in range(5):
            yield [rng.uniform(0, 100, size=(1, 4)).astype(np.float32), rng.uniform(0, 1, size=(1, 4)).astype(np.float32)]

    def as_dict():
        for x, y in as_list():
            yield {"x": x, "y": y}

    # Refusing the list, with a message that asks for dicts, is right too.
    return saved_model(env, v1_saved_model(env, "v1_int8", _v1_two_inputs), dataset=as_list, raw_dataset=as_dict,
                       refusal=r"(?i)dict", settings=dict(optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS_INT8"],
                                     inference_input_type="int8", inference_output_type="int8"))


@case("FromSavedModelTest._createV1SavedModel with tags={'edge'} (non-default tags)")
def saved_model_non_default_tags(env):
    def graph(tf):
        x = tf.compat.v1.placeholder(shape=[1, 3], dtype=tf.float32, name="x")
        return {"x": x}, {"y": tf.nn.relu(x * 3.0 - 1.0)}

    return saved_model(env, v1_saved_model(env, "tags", graph, tags=("edge",)), tags=["edge"])


@case("FromSavedModelTest.testUnknownInputShapeModel")
def saved_model_unknown_rank(env):
    def graph(tf):
        x = tf.compat.v1.placeholder(shape=None, dtype=tf.float32, name="input")
        return {"input": x}, {"output": x + x}

    return saved_model(env, v1_saved_model(env, "unknown_rank", graph),
                       feeds=lambda rng: [np.array([1.0, 2.0, 3.0], np.float32)])


@case("FromSavedModelTest.testModelWithHashTableInitializer (a TF2 StaticHashTable)")
def saved_model_hash_table(env):
    tf = env.tf

    class Lookup(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(["a", "b", "c", "d"], tf.constant([1, 2, 3, 4], tf.int64)), -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="x")])
        def __call__(self, x):
            return self.table.lookup(x)

    module = Lookup()
    path = env.path("hash_table")
    tf.saved_model.save(module, path, signatures=module.__call__.get_concrete_function())
    return saved_model(env, path, feeds=lambda rng: [np.array([b"a", b"b", b"c", b"z"], dtype=object)])


@case("FromSavedModelTest.testKerasSequentialModelExport")
def saved_model_keras_export(env):
    keras = env.keras
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    path = env.path("keras_export")
    model.export(path, verbose=False)
    return saved_model(env, path)


@case("FromSavedModelTest.testBiasQuantization_INT16Quant_INT64Bias_Set (Dense 64)")
def saved_model_int16_int64_bias(env):
    keras, tf = env.keras, env.tf
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, bias_initializer="ones")])
    path = env.path("int16_bias")
    model.export(path, verbose=False)
    return saved_model(env, path, dataset=samples((1, 64)), settings=dict(
        optimizations=["DEFAULT"], supported_ops=["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"],
        _experimental_full_integer_quantization_bias_type=tf.int64))


@case("ResourceAndVariantTypes.testResources")
def resources_stack(env):
    def graph(tf):
        in_tensor = tf.compat.v1.placeholder(shape=[1], dtype=tf.float32, name="input")
        stack = tf.raw_ops.StackV2(max_size=10, elem_type=tf.float32)
        pushed = tf.raw_ops.StackPushV2(handle=stack, elem=in_tensor)
        with tf.control_dependencies([pushed]):
            a = in_tensor + in_tensor
            with tf.control_dependencies([a]):
                out = a + tf.raw_ops.StackPopV2(handle=stack, elem_type=tf.float32)
        return {"x": in_tensor}, {"z": out}

    return saved_model(env, v1_saved_model(env, "stack", graph),
                       settings=dict(supported_ops=["TFLITE_BUILTINS", "SELECT_TF_OPS"]), run=False)


@case("ResourceAndVariantTypes.testTensorListWithStaticSize_EnableLoweringTensorListOps")
def tensor_list_static_size(env):
    def graph(tf):
        in_tensor = tf.compat.v1.placeholder(shape=[1], dtype=tf.float32, name="input")
        ta = tf.TensorArray(tf.float32, size=3, dynamic_size=False, clear_after_read=False)
        ta = ta.write(0, 10.0).write(1, 20.0).write(2, 30.0)
        return {"x": in_tensor}, {"z": ta.read(0) + ta.read(2) + in_tensor}

    return saved_model(env, v1_saved_model(env, "tensor_list", graph),
                       settings=dict(_experimental_lower_tensor_list_ops=True))


# -- from_keras_model: FromKerasModelTest, ControlFlowTest (Keras RNNs) ----------------------------


@case("FromKerasModelTest.testSequentialModel")
def keras_sequential(env):
    keras = env.keras
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    return keras_model(env, model)


@case("FromKerasModelTest.testSequentialMultiInputOutputModel")
def keras_multi_input_output(env):
    keras = env.keras
    keras.utils.set_random_seed(4)
    input_a = keras.Input((3,), name="input_a")
    input_b = keras.Input((3,), name="input_b")
    dense = keras.layers.Dense(8, name="dense_1")
    merged = keras.layers.concatenate([dense(input_a), dense(input_b)], name="merge")
    output_c = keras.layers.Dense(3, activation="softmax", name="dense_2")(merged)
    output_d = keras.layers.Dense(2, activation="softmax", name="dense_3")(merged)
    return keras_model(env, keras.Model([input_a, input_b], [output_c, output_d]))


@case("FromKerasModelTest.testKerasFallbackPath (a subclassed model, called once)")
def keras_subclassed(env):
    keras = env.keras
    keras.utils.set_random_seed(6)

    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)
            self.shared_weights = self.add_weight(shape=(3,), initializer="random_normal", name="shared")

        def call(self, x):
            return self.dense(x) + self.shared_weights

    model = Model()
    model(np.zeros((1, 4), np.float32))
    return keras_model(env, model)


@case("Keras Conv2D + BatchNormalization (FromKerasModelTest style)")
def keras_conv_batchnorm(env):
    keras = env.keras
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(), keras.layers.ReLU()])
    bn = model.layers[1]
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 4).astype(np.float32))  # not the identity
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 4).astype(np.float32))
    return keras_model(env, model)


@case("FromConcreteFunctionTest.testTrainingTimeQuantization_INT8InputOutput")
def keras_qat_int8_io_without_dataset(env):
    keras, tf = env.keras, env.tf
    keras.utils.set_random_seed(11)

    class QLinear(keras.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(name="weight", shape=(input_shape[-1], self.units), initializer="random_normal")
            self.min_var = self.add_weight(name="min", shape=(), initializer=keras.initializers.Constant(-6.0), trainable=False)
            self.max_var = self.add_weight(name="max", shape=(), initializer=keras.initializers.Constant(6.0), trainable=False)

        def call(self, inputs):
            x = tf.quantization.fake_quant_with_min_max_vars(inputs, self.min_var, self.max_var)
            w_fq = tf.quantization.fake_quant_with_min_max_vars(self.w, self.min_var, self.max_var)
            return tf.quantization.fake_quant_with_min_max_vars(tf.matmul(x, w_fq), self.min_var, self.max_var)

    model = keras.Sequential([keras.Input((2,)), QLinear(3)])
    # Quantization-aware: int8 I/O from the fake-quant ranges, no representative dataset.
    return keras_model(env, model, settings=dict(optimizations=["DEFAULT"], inference_input_type="int8",
                                                  inference_output_type="int8"))


@case("FromSavedModelTest.testReduceSumWithInt16Quant (from_keras_model, dict samples)")
def keras_reduce_sum_int16_io(env):
    keras, tf = env.keras, env.tf

    class ReduceSum(keras.layers.Layer):
        def call(self, x):
            return tf.reduce_sum(x, axis=-1)

    inp = keras.Input([3, 3], 3, name="x")
    model = keras.Model(inp, ReduceSum()(inp))
    sample = {"x": np.random.default_rng(0).normal(size=(3, 3, 3)).astype(np.float32)}
    return keras_model(env, model, dataset=lambda: [sample], settings=dict(
        optimizations=["DEFAULT"], supported_ops=["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"],
        inference_input_type="int16", inference_output_type="int16"))


@case("Keras functional model, inputs 'zeta' then 'alpha', int8 with list-form samples")
def keras_two_inputs_int8_list_samples(env):
    keras = env.keras
    keras.utils.set_random_seed(13)
    zeta = keras.Input((4,), name="zeta")
    alpha = keras.Input((4,), name="alpha")
    out = keras.layers.Add()([keras.layers.Dense(2)(zeta), keras.layers.Dense(2)(alpha)])

    def calibration():  # zeta 0..100, alpha 0..1: swapped ranges would show in the input scales
        rng = np.random.default_rng(0)
        for _ in range(5):
            yield [rng.uniform(0, 100, (1, 4)).astype(np.float32), rng.uniform(0, 1, (1, 4)).astype(np.float32)]

    return keras_model(env, keras.Model([zeta, alpha], out), dataset=calibration, settings=dict(
        optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS_INT8"],
        inference_input_type="int8", inference_output_type="int8"))


@case("ControlFlowTest.testKerasRNNMultiBatches_LSTM (batch fixed at 2)")
def keras_lstm_fixed_batch(env):
    keras = env.keras
    keras.utils.set_random_seed(14)
    x = keras.Input(batch_shape=(2, 5, 3))
    return keras_model(env, keras.Model(x, keras.layers.LSTM(4)(x)))


@case("ControlFlowTest.testKerasRNN_SimpleRNNBatchSizeOne")
def keras_simple_rnn_single_batch(env):
    keras = env.keras
    keras.utils.set_random_seed(16)
    model = keras.Sequential([keras.Input((5, 3), name="input"), keras.layers.SimpleRNN(4)])
    return keras_model(env, model, settings=dict(_experimental_default_to_single_batch_in_tensor_list_ops=True),
                       feeds=lambda rng: [rng.standard_normal((1, 5, 3)).astype(np.float32)])
