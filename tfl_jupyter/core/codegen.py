"""The equivalent plain-TensorFlow code for a conversion, ready to copy out of the notebook."""

from __future__ import annotations

from typing import Any, Optional

from .datasets import is_tf_dataset
from .settings import ConversionSettings
from .shapes import resolve_shapes, signature_specs
from .sources import ModelSource


def converter_code(
    source: ModelSource,
    settings: ConversionSettings,
    *,
    entry_point: str,
    source_name: Optional[str] = None,
    dataset_name: Optional[str] = None,
    output_file: Optional[str] = None,
    customize_source: Optional[str] = None,
) -> str:
    """Return Python that performs the same conversion with ``tf.lite.TFLiteConverter`` alone.

    Parameters
    ----------
    source, settings : ModelSource, ConversionSettings
        What was converted and how.
    entry_point : str
        The converter constructor actually used (it differs from the source's kind when
        the Keras fallback through a SavedModel was taken).
    source_name, dataset_name : str, optional
        Notebook variable names to use in the code; generic names otherwise.
    output_file : str, optional
        Where the model is written.
    customize_source : str, optional
        Code that was run on the configured ``converter`` (the magic's cell body).

    With ``quantizer="litert"`` the code converts to float, then quantizes with the LiteRT
    Quantizer's API and the exact recipe used.
    """
    litert = settings.quantizer == "litert"
    lines = ["import tensorflow as tf", ""]
    if settings.fixes_shapes:
        lines += _fixed_shape_lines(source, resolve_shapes(source, settings), source_name or "model")
    else:
        lines += _source_lines(source, entry_point, source_name or "model")
    if settings.uses_representative_dataset:
        lines += [""] + _dataset_lines(settings.representative_dataset, dataset_name) + [""]
    if not litert:
        lines += _setting_lines(settings)
    if customize_source and customize_source.strip():
        lines += ["# from the %%tflite_convert cell:"] + customize_source.strip().splitlines()
    lines.append("tflite_model = converter.convert()")
    if litert:
        lines += _litert_lines(settings)
    target = output_file or "model.tflite"
    lines += ["", f"with open({target!r}, 'wb') as f:", "    f.write(tflite_model)"]
    return "\n".join(lines) + "\n"


def _litert_lines(settings: ConversionSettings) -> list:
    """Quantize ``tflite_model`` (float) with the LiteRT Quantizer and the recipe used."""
    lines = [
        "",
        "# then quantize the float model with the LiteRT Quantizer (pip install litert-quantizer)",
        "import json",
        "from litert_quantizer import Quantizer",
        "",
        f"recipe = json.loads(r\"\"\"{settings.recipe}\"\"\")  # {settings.recipe_name or 'custom recipe'}",
        "quantizer = Quantizer(tflite_model)",
        "quantizer.load_quantization_recipe(recipe)",
    ]
    if settings.uses_representative_dataset:
        lines += [
            "from ai_edge_litert.interpreter import Interpreter",
            "signature_key, signature = next(iter(Interpreter(model_content=tflite_model).get_signature_list().items()))",
            "samples = [s if isinstance(s, dict) else dict(zip(signature['inputs'], s)) for s in representative_dataset()]",
            "calibration = quantizer.calibrate({signature_key: samples})",
            "tflite_model = quantizer.quantize(calibration).quantized_model",
        ]
    else:
        lines.append("tflite_model = quantizer.quantize().quantized_model")
    return lines


def _source_lines(source: ModelSource, entry_point: str, name: str) -> list:
    if source.kind == "saved_model":
        args = [repr(source.path)]
        if source.signature_keys:
            args.append(f"signature_keys={list(source.signature_keys)!r}")
        if source.tags:
            args.append(f"tags={set(source.tags)!r}")
        return [f"converter = tf.lite.TFLiteConverter.from_saved_model({', '.join(args)})"]
    if source.kind == "keras":
        lines = []
        if source.path:
            lines.append(f"{name} = tf.keras.models.load_model({source.path!r}, compile=False)")
        if entry_point == "from_saved_model":
            lines += [
                f"{name}.export('exported_model')  # from_keras_model failed here; a SavedModel works",
                "converter = tf.lite.TFLiteConverter.from_saved_model('exported_model')",
            ]
        else:
            lines.append(f"converter = tf.lite.TFLiteConverter.from_keras_model({name})")
        return lines
    if isinstance(source.trackable, type(source.obj[0])):  # a ConcreteFunction, its own trackable
        return [f"converter = tf.lite.TFLiteConverter.from_concrete_functions([{name}], {name})"]
    if hasattr(source.trackable, "get_concrete_function"):  # a tf.function
        return [f"converter = tf.lite.TFLiteConverter.from_concrete_functions([{name}.get_concrete_function()], {name})"]
    if hasattr(getattr(source.trackable, "__call__", None), "get_concrete_function"):  # a tf.Module
        return [f"converter = tf.lite.TFLiteConverter.from_concrete_functions([{name}.__call__.get_concrete_function()], {name})"]
    return [  # a list of functions: an owner that tracks what they capture, so they save as signatures
        f"functions = [f if isinstance(f, tf.types.experimental.ConcreteFunction) else f.get_concrete_function() for f in {name}]",
        "owner = tf.Module()",
        "owner.captured_variables = [v for f in functions for v in f.variables]",
        "converter = tf.lite.TFLiteConverter.from_concrete_functions(functions, owner)",
    ]


def _fixed_shape_lines(source: ModelSource, shapes: dict, name: str) -> list:
    """Trace the source again at fixed input shapes, then convert that."""
    dtypes = {key: {spec.name: spec.dtype for spec in inputs} for key, inputs in signature_specs(source).items()}

    def specs(key) -> list:
        return [f"tf.TensorSpec({list(dims)}, tf.{dtypes[key][n]}, name={n!r})" for n, dims in shapes[key]]

    if source.kind == "keras":
        structure, texts = source.obj.input, specs("serving_default")
        if isinstance(structure, dict):
            signature = "{" + ", ".join(f"{n!r}: {t}" for (n, _), t in zip(shapes["serving_default"], texts)) + "}"
        elif isinstance(structure, (list, tuple)):
            signature = f"[{', '.join(texts)}]"
        else:
            signature = texts[0]
        lines = [f"{name} = tf.keras.models.load_model({source.path!r}, compile=False)"] if source.path else []
        return lines + [
            "# fixed input shapes: the converter needs them to lower recurrent layers to builtin ops",
            f"{name}.export('exported_model', input_signature=[{signature}])",
            "converter = tf.lite.TFLiteConverter.from_saved_model('exported_model')",
        ]
    if source.kind == "saved_model":
        return [
            f"loaded = tf.saved_model.load({source.path!r}" + (f", tags={list(source.tags)!r})" if source.tags else ")"),
            "signatures = {}",
            "for key, specs in {" + ", ".join(f"{key!r}: [{', '.join(specs(key))}]" for key in shapes) + "}.items():",
            "    # the signature again, at fixed input shapes",
            "    call = lambda *xs, f=loaded.signatures[key], names=[s.name for s in specs]: f(**dict(zip(names, xs)))",
            "    signatures[key] = tf.function(call, input_signature=specs).get_concrete_function()",
            "tf.saved_model.save(loaded, 'fixed_shapes_model', signatures=signatures)",
            f"converter = tf.lite.TFLiteConverter.from_saved_model('fixed_shapes_model', signature_keys={list(shapes)!r})",
        ]
    if hasattr(source.trackable, "python_function"):
        function = f"{name}.python_function"  # a tf.function: traced again from its Python code
    elif hasattr(source.trackable, "structured_input_signature"):
        function = name  # a ConcreteFunction: called from a function at the fixed shapes
    else:
        function = f"{name}.__call__.python_function"  # a tf.Module
    return [
        f"fixed = tf.function({function}, input_signature=[{', '.join(specs('serving_default'))}])  # fixed input shapes",
        f"converter = tf.lite.TFLiteConverter.from_concrete_functions([fixed.get_concrete_function()], {name})",
    ]


def _dataset_lines(dataset: Any, name: Optional[str]) -> list:
    import numpy as np

    if name is None:
        return ["def representative_dataset():", "    ...  # yield [input_array] per sample, batch size 1"]
    if callable(dataset) and not isinstance(dataset, (np.ndarray, list, dict)) and not is_tf_dataset(dataset):
        return [f"representative_dataset = {name}"]
    if isinstance(dataset, dict):
        return [
            "def representative_dataset():",
            f"    for i in range(len(next(iter({name}.values())))):",
            f"        yield {{key: value[i:i + 1] for key, value in {name}.items()}}",
        ]
    if isinstance(dataset, np.ndarray):
        return ["def representative_dataset():", f"    for i in range(len({name})):", f"        yield [{name}[i:i + 1]]"]
    if is_tf_dataset(dataset):
        return ["def representative_dataset():", f"    for sample in {name}:", "        yield [sample]"]
    return ["def representative_dataset():", f"    for sample in {name}:", "        yield sample if isinstance(sample, (list, dict)) else [sample]"]


def _setting_lines(settings: ConversionSettings) -> list:
    lines = []
    if settings.optimizations:
        lines.append(f"converter.optimizations = [{', '.join('tf.lite.Optimize.' + o for o in settings.optimizations)}]")
    if settings.uses_representative_dataset:
        lines.append("converter.representative_dataset = representative_dataset")
    if settings.supported_ops:
        lines.append(f"converter.target_spec.supported_ops = [{', '.join('tf.lite.OpsSet.' + o for o in settings.supported_ops)}]")
    if settings.supported_types:
        lines.append(f"converter.target_spec.supported_types = [{', '.join('tf.' + t for t in settings.supported_types)}]")
    if settings.inference_input_type:
        lines.append(f"converter.inference_input_type = tf.{settings.inference_input_type}")
    if settings.inference_output_type:
        lines.append(f"converter.inference_output_type = tf.{settings.inference_output_type}")
    if settings.allow_custom_ops:
        lines.append("converter.allow_custom_ops = True")
    if not settings.experimental_new_converter:
        lines.append("converter.experimental_new_converter = False")
    for attribute, value in settings.converter_attrs:
        lines.append(f"converter.{attribute} = {value!r}")
    return lines

