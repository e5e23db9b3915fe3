"""What the user asked to convert: resolve it into one of the converter's three entry points.

A source is a Keras model, a SavedModel directory, a ``.keras``/``.h5`` file, a
``tf.function`` with an input signature, a ConcreteFunction, a ``tf.Module`` whose
``__call__`` has an input signature, or a list of functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Tuple

from .tensorflow_import import import_tensorflow
from .text import first_line

KERAS_FILE_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class InputSpec:
    """One model input as the representative dataset must feed it."""

    name: str
    dtype: str
    shape: Tuple[Optional[int], ...]  # None for a dynamic dimension


@dataclass(frozen=True)
class ModelSource:
    """A resolved source. ``kind`` is ``"keras"``, ``"saved_model"`` or ``"concrete_functions"``.

    Attributes
    ----------
    kind : str
        Which of the converter's entry points takes it.
    description : str
        What it is, for messages.
    obj : object
        The user's model, or list of ConcreteFunctions; kept alive for as long as the
        source is, which is what ``from_concrete_functions`` requires of its trackable.
    path : str or None
        The SavedModel directory, the Keras file, or the folder of a prepared source.
    trackable : object
        The ``trackable_obj`` handed to ``from_concrete_functions``.
    signature_keys, tags : tuple of str or None
        For SavedModels.
    inputs : tuple of InputSpec or None
        The model's inputs in positional order, read once when the source is resolved;
        None for a SavedModel directory (read from its signatures where needed, see
        :meth:`input_specs`) and for several functions.
    shapes_fixed : bool
        Already traced at the settings' fixed input shapes.
    prepared : str or None
        For a source converted in a worker process: which of TensorFlow's own preparation
        steps the kernel ran and wrote to ``path`` (see :mod:`tfl_jupyter.core.prepare`).
    """

    kind: str
    description: str
    obj: Any = field(default=None, repr=False, compare=False)
    path: Optional[str] = None
    trackable: Any = field(default=None, repr=False, compare=False)
    signature_keys: Optional[tuple] = None
    tags: Optional[tuple] = None
    inputs: Optional[Tuple[InputSpec, ...]] = None
    shapes_fixed: bool = False
    prepared: Optional[str] = None

    def input_specs(self) -> Optional[list]:
        """The model's inputs; for a SavedModel directory read from its one signature (this
        imports TensorFlow), else :attr:`inputs`. None where they cannot be known cheaply."""
        if self.kind == "saved_model" and self.inputs is None and self.prepared is None:
            return _saved_model_input_specs(self.path, self.signature_keys, self.tags)
        return list(self.inputs) if self.inputs is not None else None

    @property
    def signs_functions(self) -> bool:
        """Whether ``from_concrete_functions`` saves these functions as the signatures of a
        SavedModel (its trackable is a ``tf.Module``) rather than freezing the one function
        (no trackable, or a function as the trackable), as TensorFlow's converter decides."""
        if self.prepared is not None:
            return self.prepared == "function_signatures"
        return self.kind == "concrete_functions" and is_module_like(self.trackable)

    @property
    def specs_ordered(self) -> bool:
        """Whether ``input_specs()`` is in the model's positional order (a signature's is not)."""
        return self.kind != "saved_model" or self.inputs is not None


def resolve_source(source: Any, *, signature_keys=None, tags=None) -> ModelSource:
    """Resolve ``source`` into a :class:`ModelSource`.

    Parameters
    ----------
    source : object or str or os.PathLike
        A model object, functions, or a path to a SavedModel directory or Keras file.
    signature_keys, tags : sequence of str, optional
        Only for SavedModel directories.

    Raises
    ------
    ValueError, TypeError
        With a message that says what was expected and how to get it.
    """
    if isinstance(source, (str, os.PathLike)):
        resolved = _resolve_path(Path(source).expanduser())
    else:
        resolved = _resolve_object(source)
    if (signature_keys or tags) and resolved.kind != "saved_model":
        raise ValueError(
            "signature_keys and tags apply to SavedModel directories only; this source is "
            f"{resolved.description}. Drop them, or export the model with model.export(dir) and convert dir"
        )
    if resolved.kind == "saved_model":
        resolved = ModelSource(
            kind="saved_model",
            description=resolved.description,
            path=resolved.path,
            signature_keys=tuple(signature_keys) if signature_keys else None,
            tags=tuple(tags) if tags else None,
        )
    return resolved


def _resolve_path(path: Path) -> ModelSource:
    if not path.exists():
        raise ValueError(f"path not found: {str(path)!r} (relative paths start at {os.getcwd()})")
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            return ModelSource(kind="saved_model", description=f"SavedModel {path}", path=str(path))
        keras_files = sorted(p.name for p in path.iterdir() if p.suffix in KERAS_FILE_SUFFIXES)
        hint = f" It holds {', '.join(keras_files[:3])}: pass that file." if keras_files else ""
        raise ValueError(
            f"{str(path)!r} is a directory but not a SavedModel (no saved_model.pb).{hint} "
            "Export a Keras model with model.export(dir) to make one"
        )
    if path.suffix == ".tflite":
        raise ValueError(f"{str(path)!r} is already a TFLite model: inspect it with tj.inspect({str(path)!r})")
    if path.suffix in KERAS_FILE_SUFFIXES:
        return ModelSource(kind="keras", description=f"Keras file {path}", obj=_load_keras_file(path), path=str(path))
    raise ValueError(
        f"{str(path)!r} is not a model: expected a SavedModel directory or a .keras/.h5 file"
    )


def _load_keras_file(path: Path):
    import_tensorflow()
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a bad file; say which file and why
        raise ValueError(f"could not load Keras model {str(path)!r}: {first_line(exc)}") from None


def _resolve_object(source: Any) -> ModelSource:
    tf = import_tensorflow()

    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("an empty list was given as the source: pass a model or at least one function")
        functions = [_concrete_function(item, position=i) for i, item in enumerate(source)]
        names = [function.graph.name for function in functions]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if len(functions) > 1 and repeated:
            raise ValueError(
                f"several functions are named {repeated[0]!r}: the converter keys each signature by its function's "
                "name, so all but one would be lost; give them distinct names (def f(...), def g(...))"
            )
        return ModelSource(
            kind="concrete_functions",
            description=f"{len(functions)} concrete function(s)",
            obj=functions,
            trackable=functions_owner(functions),
            inputs=_concrete_function_input_specs(functions[0]) if len(functions) == 1 else None,
        )
    if _is_keras_model(source):
        name = getattr(source, "name", type(source).__name__)
        return ModelSource(kind="keras", description=f"Keras model {name!r}", obj=source, inputs=_keras_input_specs(source))
    if isinstance(source, tf.Module) and not isinstance(source, tf.types.experimental.ConcreteFunction):
        call = getattr(source, "__call__", None)
        if isinstance(call, tf.types.experimental.PolymorphicFunction):
            function = _concrete_function(call)
            return ModelSource(
                kind="concrete_functions",
                description=f"tf.Module {type(source).__name__}",
                obj=[function],
                trackable=source,
                inputs=_concrete_function_input_specs(function),
            )
        raise TypeError(
            f"this {type(source).__name__} (a tf.Module) has no tf.function __call__ to convert: pass "
            "one of its tf.functions (with an input_signature), or save it with tf.saved_model.save(module, dir)"
        )
    if isinstance(source, (tf.types.experimental.PolymorphicFunction, tf.types.experimental.ConcreteFunction)):
        function = _concrete_function(source)
        return ModelSource(
            kind="concrete_functions",
            description="tf.function" if isinstance(source, tf.types.experimental.PolymorphicFunction) else "concrete function",
            obj=[function],
            trackable=source,
            inputs=_concrete_function_input_specs(function),
        )
    if callable(source):
        raise TypeError(
            f"{getattr(source, '__name__', type(source).__name__)} is a plain Python callable: wrap it with "
            "@tf.function(input_signature=[tf.TensorSpec(shape, dtype)]) to convert it"
        )
    raise TypeError(
        f"cannot convert a {type(source).__name__}: pass a Keras model, a SavedModel directory, "
        "a .keras/.h5 file, a tf.function with an input_signature, or a ConcreteFunction"
    )


def functions_owner(functions: list):
    """A ``tf.Module`` that tracks every variable the functions capture: the trackable that
    ``from_concrete_functions`` needs to save several functions as the signatures of one model."""
    tf = import_tensorflow()
    owner = tf.Module()
    owner.captured_variables = [variable for function in functions for variable in function.variables]
    return owner


def is_module_like(trackable: Any) -> bool:
    """What ``from_concrete_functions`` saves as a SavedModel: a trackable that is not a function."""
    if not trackable or not hasattr(trackable, "_trackable_children"):
        return False
    tf = import_tensorflow()
    return not isinstance(trackable, (tf.types.experimental.ConcreteFunction, tf.types.experimental.PolymorphicFunction))


def _is_keras_model(obj: Any) -> bool:
    # keras 3 and tf_keras (Keras 2) both count; checked by class path to avoid importing both.
    return any(
        cls.__name__ in ("Model", "Functional", "Sequential")
        and cls.__module__.split(".")[0] in ("keras", "tf_keras", "tensorflow")
        for cls in type(obj).__mro__
    )


def _concrete_function(item: Any, position: Optional[int] = None):
    tf = import_tensorflow()

    where = f" (item {position} of the list)" if position is not None else ""
    if isinstance(item, tf.types.experimental.ConcreteFunction):
        return item
    if isinstance(item, tf.types.experimental.PolymorphicFunction):
        if item.input_signature is None:
            raise ValueError(
                f"the tf.function{where} has no input_signature, so there is no concrete function to convert: "
                "decorate it with @tf.function(input_signature=[tf.TensorSpec(shape, dtype)]) "
                "or pass f.get_concrete_function(tf.TensorSpec(shape, dtype))"
            )
        return item.get_concrete_function()
    raise TypeError(
        f"expected a tf.function or ConcreteFunction{where}, got {type(item).__name__}"
    )


def _keras_input_specs(model) -> Optional[tuple]:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        if not getattr(model, "built", True):
            raise ValueError(
                f"the Keras model {getattr(model, 'name', '')!r} has no input shape yet: call it once on data "
                "or build it with model.build((None, ...)) before converting"
            )
        return None
    return tuple(
        InputSpec(name=_clean_name(t.name), dtype=str(_dtype_name(t.dtype)), shape=tuple(t.shape))
        for t in inputs
    )


def _concrete_function_input_specs(function) -> tuple:
    """The function's tensor arguments, named as its placeholders are (the names its
    signature and the converted model's inputs carry)."""
    tf = import_tensorflow()

    specs = [s for s in tf.nest.flatten(function.structured_input_signature) if isinstance(s, tf.TensorSpec)]
    placeholders = function.inputs[: len(specs)]  # the arguments come first, then the captures
    return tuple(
        InputSpec(name=_clean_name(placeholder.name), dtype=spec.dtype.name,
                  shape=tuple(spec.shape.as_list()) if spec.shape.rank is not None else ())
        for spec, placeholder in zip(specs, placeholders)
    )


def _saved_model_input_specs(path: str, signature_keys, tags) -> Optional[list]:
    """Read the signature's inputs from saved_model.pb without loading the model."""
    signatures = saved_model_signature_specs(path, signature_keys, tags)
    return next(iter(signatures.values())) if signatures is not None and len(signatures) == 1 else None


def saved_model_signature_specs(path: str, signature_keys=None, tags=None) -> Optional[dict]:
    """The inputs of each signature the converter takes, ``{key: [InputSpec, ...]}``, read from
    saved_model.pb without loading the model; None without a saved_model.pb.

    Raises
    ------
    ValueError
        No meta graph with ``tags``, or a signature key the model does not have.
    """
    import_tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import dtypes

    pb = Path(path) / "saved_model.pb"
    if not pb.exists():
        return None
    saved_model = saved_model_pb2.SavedModel.FromString(pb.read_bytes())
    wanted_tags = set(tags or ["serve"])
    graphs = [g for g in saved_model.meta_graphs if set(g.meta_info_def.tags) == wanted_tags]
    if not graphs:
        available = [sorted(g.meta_info_def.tags) for g in saved_model.meta_graphs]
        raise ValueError(f"the SavedModel has no meta graph with tags {sorted(wanted_tags)}; it has {available}: pass tags=... (magic: --tags)")
    signatures = {k: v for k, v in graphs[0].signature_def.items() if not k.startswith("__")}
    keys = list(signature_keys or signatures)  # the converter takes every signature by default
    if not signature_keys and set(keys) == {"serve", "serving_default"}:
        keys = ["serving_default"]  # a model.export() artifact: the converter keeps only this one
    missing = [k for k in keys if k not in signatures]
    if missing:
        raise ValueError(
            f"the SavedModel has no signature {missing[0]!r}; it has {sorted(signatures)}: pass signature_keys=[...] (magic: --signature_keys)"
        )
    return {
        key: [
            InputSpec(
                name=name,
                dtype=dtypes.as_dtype(info.dtype).name,
                shape=tuple(None if d.size < 0 else d.size for d in info.tensor_shape.dim) if not info.tensor_shape.unknown_rank else (),
            )
            for name, info in sorted(signatures[key].inputs.items())
        ]
        for key in keys
    }


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def _clean_name(name: str) -> str:
    return name.split(":")[0]
