"""Fixed input shapes: trace a source again at static shapes before it is converted.

The converter cannot lower some ops when a dimension is dynamic (Keras 3 recurrent layers
keep their state in TensorLists whose element shape includes the batch). Tracing the model
at a fixed batch makes those shapes static. Every kind of source becomes a SavedModel whose
signatures take the fixed shapes:

- a Keras model is exported with an input signature in its own input structure (the way
  ``from_keras_model`` exports it, training off);
- a ``tf.function`` is traced again at the fixed specs; a ConcreteFunction is called from a
  new function with those specs;
- a SavedModel is loaded and each selected signature is signed again at the fixed shapes.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Optional

from .errors import (STATIC_SHAPES_REASON, TENSOR_LIST_REASON, ConversionError, is_tensor_list_error, static_shapes_fix,
                     with_calibration_fix)
from .settings import ConversionSettings, fixed_input_shapes
from .sources import InputSpec, ModelSource, saved_model_signature_specs
from .tensorflow_import import import_tensorflow


def signature_specs(source: ModelSource) -> dict:
    """The inputs of each signature the source converts, ``{key: [InputSpec, ...]}``.

    Raises
    ------
    ValueError
        The inputs cannot be known (a subclassed Keras model never called, several functions).
    """
    if source.kind == "saved_model":
        return saved_model_signature_specs(source.path, source.signature_keys, source.tags) or {}
    specs = source.inputs
    if not specs:
        what = "these functions: convert one function at a time" if source.kind != "keras" else (
            "this Keras model: build it on keras.Input(...) layers, or call it once on data")
        raise ValueError(f"input_shapes/batch_size need the model's input shapes, which are unknown for {what}")
    return {"serving_default": specs}


def resolve_shapes(source: ModelSource, settings: ConversionSettings) -> dict:
    """The fixed shapes of every selected signature, ``{key: ((name, dims), ...)}``, checked.

    Raises
    ------
    ValueError
        A name that no signature has, a shape of the wrong rank, a fixed dimension changed,
        or a list of shapes for several signatures; the message names the fix.
    """
    specs = signature_specs(source)
    if len(specs) > 1 and any(isinstance(key, int) for key, _ in settings.input_shapes or ()):
        raise ValueError(
            f"this SavedModel converts {len(specs)} signatures ({', '.join(specs)}): give input_shapes as a dict "
            "by input name, or pick one with signature_keys=[...]"
        )
    resolved = {key: fixed_input_shapes(inputs, settings.input_shapes, settings.batch_size, strict_names=len(specs) == 1)
                for key, inputs in specs.items()}
    known = {name for inputs in specs.values() for name in (spec.name for spec in inputs)}
    unknown = [key for key, _ in settings.input_shapes or () if isinstance(key, str) and key not in known]
    if unknown:
        raise ValueError(f"input_shapes names {unknown[0]!r}, which no signature takes as an input; the inputs are {', '.join(map(repr, sorted(known)))}")
    return resolved


def with_fixed_shapes(source: ModelSource, settings: ConversionSettings, path: str) -> ModelSource:
    """Write ``source`` traced at the settings' fixed shapes to a SavedModel at ``path``; its source.

    Parameters
    ----------
    source : ModelSource
    settings : ConversionSettings
        With ``input_shapes`` and/or ``batch_size``.
    path : str
        An empty folder.

    Returns
    -------
    ModelSource
        The SavedModel, marked ``shapes_fixed``.
    """
    shapes = resolve_shapes(source, settings)
    export_at_shapes(source, shapes, path)
    keys = tuple(shapes) if source.kind == "saved_model" else ("serving_default",)
    return ModelSource(kind="saved_model", description=source.description, path=path, signature_keys=keys,
                       inputs=fixed_inputs(source, shapes), shapes_fixed=True)  # saved with the default tag set


def fixed_inputs(source: ModelSource, shapes: dict) -> Optional[tuple]:
    """The source's inputs at ``shapes`` (from :func:`resolve_shapes`), in order; None for a SavedModel."""
    if source.kind == "saved_model" or source.inputs is None:
        return None
    return tuple(replace(spec, shape=tuple(dims)) for spec, (_, dims) in zip(source.inputs, shapes["serving_default"]))


def export_at_shapes(source: ModelSource, shapes: Optional[dict], path: str) -> None:
    """Save ``source`` as a SavedModel at ``path``, at ``shapes`` (from :func:`resolve_shapes`) or as it is."""
    if source.kind == "keras":
        export_keras(source.obj, path, dict(shapes["serving_default"]) if shapes else None)
    elif source.kind == "saved_model":
        _resign_saved_model(source, shapes, path)
    elif shapes:
        fixed = _retrace(source, shapes["serving_default"])
        save_function(fixed.get_concrete_function(), fixed, path)  # tracking it tracks what it captures
    else:
        save_function(source.obj[0], source.trackable, path)


def export_keras(model, path: str, shapes: Optional[dict] = None) -> None:
    """Export the way ``TFLiteConverter.from_keras_model`` does: ``__call__`` with training off.

    ``shapes`` (``{input name: dims}``) fixes the input signature's shapes.
    """
    import keras

    if not model.inputs:  # a subclassed model: let Keras find its input signature
        model.export(path, verbose=False)
        return
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The call takes its inputs in the structure the model was built with: a functional model
    # keeps it (one tensor, a list, or a dict by name); a Sequential model has one input.
    structure = getattr(model, "_inputs_struct", None)
    structure = model.inputs[0] if structure is None else structure
    signature = [keras.tree.map_structure(functools.partial(_tensor_spec, shapes=shapes or {}), structure)]
    archive.add_endpoint("serving_default", functools.partial(model.__call__, training=False), signature)
    archive.write_out(path, options=_keep_source_locations(), verbose=False)


def _tensor_spec(keras_tensor, shapes: dict):
    tf = import_tensorflow()

    name = keras_tensor.name.split(":")[0]
    return tf.TensorSpec(shapes.get(name, keras_tensor.shape), dtype=keras_tensor.dtype, name=name)


def save_function(function, trackable, path: str) -> None:
    """Save a ConcreteFunction as the ``serving_default`` signature of a SavedModel."""
    tf = import_tensorflow()

    owner = trackable if isinstance(trackable, tf.Module) else tf.Module()
    if owner is not trackable:
        owner.function = trackable
        # Variables a function captures from its closure are tracked by nothing else.
        owner.captured_variables = list(function.variables)
    tf.saved_model.save(owner, path, signatures={"serving_default": function}, options=_keep_source_locations())


def _retrace(source: ModelSource, shapes: tuple):
    """A ``tf.function`` of the source's function at fixed ``shapes``: from its Python code where
    there is one, else calling the ConcreteFunction."""
    tf = import_tensorflow()

    specs = [tf.TensorSpec(dims, spec.dtype, name=spec.name) for (_, dims), spec in zip(shapes, source.inputs)]
    polymorphic = source.trackable
    if isinstance(polymorphic, tf.Module) and not isinstance(polymorphic, tf.types.experimental.ConcreteFunction):
        polymorphic = polymorphic.__call__
    python_function = getattr(polymorphic, "python_function", None)
    if python_function is None:
        python_function = source.obj[0]
    return tf.function(python_function, input_signature=specs)


def _resign_saved_model(source: ModelSource, shapes: Optional[dict], path: str) -> None:
    tf = import_tensorflow()

    tags = list(source.tags) if source.tags else None
    loaded = tf.saved_model.load(source.path, tags=tags)
    signatures = {}
    for key, inputs in (shapes or {}).items():
        specs = [tf.TensorSpec(dims, loaded.signatures[key].structured_input_signature[1][name].dtype, name=name)
                 for name, dims in inputs]
        signatures[key] = _keyword_call(loaded.signatures[key], specs)
    tf.saved_model.save(loaded, path, signatures=signatures, options=_keep_source_locations())


def _keyword_call(signature, specs):
    """A function of positional tensors at ``specs`` that calls ``signature`` by input name."""
    tf = import_tensorflow()
    names = [spec.name for spec in specs]

    def call(*tensors):
        return signature(**dict(zip(names, tensors)))

    return tf.function(call, input_signature=specs, autograph=False).get_concrete_function()


def _keep_source_locations():
    """Save debug info, so converter errors still point at the user's own lines."""
    tf = import_tensorflow()

    return tf.saved_model.SaveOptions(save_debug_info=True)


def with_shape_fix(error: ConversionError, source: ModelSource, settings: ConversionSettings) -> ConversionError:
    """``error`` with the fixes that need the model and settings: static-shape fixes naming the
    inputs and dimensions still dynamic (or saying that none is), and the fix for a
    calibration that stopped at a Flex op."""
    if settings.uses_representative_dataset:
        error = with_calibration_fix(error)
    if not any(is_tensor_list_error(record) for record in error.errors):
        return error
    try:
        if settings.fixes_shapes:
            specs = [InputSpec(name, "", dims) for shapes in resolve_shapes(source, settings).values() for name, dims in shapes]
        else:
            specs = [spec for inputs in signature_specs(source).values() for spec in inputs]
    except ValueError:
        return error
    if not specs:
        return error
    fix = static_shapes_fix(specs)
    # only a dynamic input dimension makes it a matter of the batch (or the input shapes)
    reason = STATIC_SHAPES_REASON if any(None in tuple(spec.shape) for spec in specs) else TENSOR_LIST_REASON
    records = [replace(r, reason=reason, fix=fix) if is_tensor_list_error(r) else r for r in error.errors]
    return type(error)(error.summary, records, error.log)


def dynamic_shape_notes(model) -> tuple:
    """A note about inputs that kept a dynamic dimension (``-1`` in their shape signature).

    Parameters
    ----------
    model : tfl_jupyter.core.tflite_reader.ModelInfo
    """
    dynamic = [f"{t.name} {list(t.shape_signature)}" for t in model.io_tensors()[0]
               if t.shape_signature is not None and -1 in list(t.shape_signature)]
    if not dynamic:
        return ()
    return (
        f"dynamic input shape(s) {', '.join(dynamic)}: resize the interpreter first "
        "(interpreter.resize_tensor_input(...), then allocate_tensors()) to feed any other shape than the default; "
        "the GPU delegate, NNAPI, Edge TPU and TFLite Micro want static shapes (batch_size=1, magic: --batch_size 1)",
    )
