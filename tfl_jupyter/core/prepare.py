"""TensorFlow's converters split at their preparation step, so that a worker converts the user's model.

``from_keras_model`` and ``from_concrete_functions`` first turn the live model into
something the MLIR converter reads: a SavedModel (``model.__call__`` exported with an
``ExportArchive``; the functions saved as the signatures of their trackable) or a frozen
graph (the one function with its variables made constants). Only that step needs the
user's objects, so it runs in the kernel (``prepare_keras``, ``prepare_functions``), written
to a folder. In the worker, ``prepared_converter`` builds TensorFlow's own converter class
for the entry point, whose preparation step reads that folder instead; everything after it
is TensorFlow's code, unchanged, so the model is the one the raw call returns (checked on
TensorFlow's own converter test cases by ``tests/test_equivalence.py``).

The code that stands in for each step is TensorFlow 2.21's ``lite.py``
(``TFLiteKerasModelConverterV2._convert_keras_to_saved_model``,
``TFLiteFrozenGraphConverterV2._convert_concrete_functions_to_saved_model`` and
``._freeze_concrete_function``), split where the live object stops being needed.
"""

from __future__ import annotations

import functools
import json
import os
import types
from typing import Any, Optional

from .settings import ConversionSettings
from .sources import ModelSource
from .tensorflow_import import import_tensorflow

# The forms a prepared source takes (ModelSource.prepared).
KERAS_EXPORT = "keras_export"
FUNCTION_SIGNATURES = "function_signatures"
FROZEN_FUNCTION = "frozen_function"

_FROZEN_GRAPH = "frozen_graph.pb"
_FROZEN_IO = "frozen_io.json"
_DEBUG_INFO = "debug_info.pb"


def needs_live_model(source: ModelSource, settings: ConversionSettings) -> Optional[str]:
    """Why ``source`` can only be converted where the user's object lives, or None.

    With the old converter (or ``experimental_lower_to_saved_model=False``) a Keras model is
    frozen by tracing its live ``call``, which no prepared folder can stand in for.
    """
    if source.kind != "keras" or source.shapes_fixed or settings.fixes_shapes:
        return None
    if not settings.experimental_new_converter:
        return "the old converter (experimental_new_converter=False) freezes the live Keras model"
    if dict(settings.converter_attrs).get("experimental_lower_to_saved_model") is False:
        return "experimental_lower_to_saved_model=False freezes the live Keras model"
    return None


def function_form(source: ModelSource, settings: ConversionSettings) -> str:
    """``FUNCTION_SIGNATURES`` or ``FROZEN_FUNCTION``: what ``from_concrete_functions`` makes of
    these functions with these settings (the old converter always freezes)."""
    lowered = settings.experimental_new_converter and dict(settings.converter_attrs).get(
        "experimental_lower_to_saved_model", True) is not False
    return FUNCTION_SIGNATURES if source.signs_functions and lowered else FROZEN_FUNCTION


def feeds_by_name(source: ModelSource, settings: ConversionSettings) -> bool:
    """Whether calibration samples go to the converter as dicts keyed by input name: on every
    route through a SavedModel's signatures. (TensorFlow feeds a list sample by position to a
    signature's inputs, which it orders by name, so a list can calibrate one input with
    another's values.)"""
    return source.kind != "concrete_functions" or function_form(source, settings) == FUNCTION_SIGNATURES


class NeedsLiveModel(Exception):
    """TensorFlow's converter would take a route here that needs the user's live object."""


def prepare_keras(model, path: str) -> None:
    """Export ``model`` to ``path`` as ``from_keras_model`` does before it converts.

    Raises
    ------
    NeedsLiveModel
        The export failed: there TensorFlow falls back to tracing the live model.
    """
    try:
        _export_keras(model, path)
    except Exception as exc:  # noqa: BLE001 - TensorFlow catches every failure of this step alike
        raise NeedsLiveModel(f"from_keras_model's export failed ({type(exc).__name__}), and its fallback "
                             "traces the live model") from exc


def _export_keras(model, path: str) -> None:
    import_tensorflow()
    import keras
    from tensorflow.lite.python.util import get_save_spec
    from tensorflow.python.framework import tensor_spec
    from tensorflow.python.util import nest

    archive = keras.export.ExportArchive()
    archive.track(model)
    if isinstance(model, (keras.src.models.Functional, keras.src.models.Sequential)):
        signature = nest.map_structure(lambda x: tensor_spec.TensorSpec(x.shape, dtype=x.dtype, name=x.name), model.inputs)
        if isinstance(signature, list) and len(signature) > 1:
            signature = [signature]
    else:
        save_spec = get_save_spec(model)
        if not save_spec:
            raise ValueError("The model provided has never been called. It must be called at least once before export.")
        signature = [save_spec]
    archive.add_endpoint("serve", functools.partial(model.__call__, training=False), signature)
    archive.write_out(path, verbose=False)


def prepare_functions(source: ModelSource, form: str, path: str) -> None:
    """Write what ``from_concrete_functions(source.obj, source.trackable)`` converts to ``path``.

    ``form`` is from :func:`function_form`. Where TensorFlow cannot save the functions as
    signatures it freezes the one function instead, and so does this (``path`` then holds
    the frozen graph; :func:`prepared_form` tells which).

    Raises
    ------
    ValueError
        Several functions that cannot be saved as signatures (TensorFlow's own message).
    """
    tf = import_tensorflow()

    functions = list(source.obj)
    if form == FUNCTION_SIGNATURES:
        signatures = ({"serving_default": functions[0]} if len(functions) == 1
                      else {function.graph.name: function for function in functions})
        try:
            tf.saved_model.save(source.trackable, path, signatures=signatures,
                                options=tf.saved_model.SaveOptions(save_debug_info=True))
            return
        except Exception:  # noqa: BLE001 - TensorFlow falls back to freezing here too
            for name in os.listdir(path):
                _remove(os.path.join(path, name))
    if len(functions) > 1:
        raise ValueError("This converter can only convert a single ConcreteFunction. Converting multiple "
                         "functions is under development.")
    _freeze(functions[0], path)


def prepared_form(source: ModelSource, path: str) -> str:
    """Which form :func:`prepare_keras` / :func:`prepare_functions` left in ``path``."""
    if source.kind == "keras":
        return KERAS_EXPORT
    return FROZEN_FUNCTION if os.path.exists(os.path.join(path, _FROZEN_GRAPH)) else FUNCTION_SIGNATURES


def _freeze(function, path: str) -> None:
    """``_freeze_concrete_function``'s freeze, written to ``path`` with the debug info that
    ``_validate_inputs`` would read from the live function's graph."""
    tf = import_tensorflow()
    from tensorflow.lite.python.util import build_debug_info_func, get_debug_info
    from tensorflow.python.framework import convert_to_constants

    frozen, graph_def = convert_to_constants.convert_variables_to_constants_v2_as_graph(function, lower_control_flow=False)
    inputs = [tensor for tensor in frozen.inputs if tensor.dtype != tf.resource]
    io = {
        "inputs": [tensor.name for tensor in inputs],
        "shapes": [tensor.shape.as_list() if tensor.shape.rank is not None else None for tensor in inputs],
        "outputs": [tensor.name for tensor in frozen.outputs],
    }
    debug_info = get_debug_info(build_debug_info_func(function.graph), graph_def)
    with open(os.path.join(path, _FROZEN_GRAPH), "wb") as file:
        file.write(graph_def.SerializeToString())
    with open(os.path.join(path, _FROZEN_IO), "w", encoding="utf-8") as file:
        json.dump(io, file)
    if debug_info is not None:
        with open(os.path.join(path, _DEBUG_INFO), "wb") as file:
            file.write(debug_info.SerializeToString())


def _remove(path: str) -> None:
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def prepared_converter(source: ModelSource) -> Any:
    """TensorFlow's converter for ``source.kind``'s entry point, continuing from ``source.path``.

    Parameters
    ----------
    source : ModelSource
        With ``prepared`` set (from :class:`tfl_jupyter.core.worker.portable.PortableSource`).
    """
    import_tensorflow()
    from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata
    from tensorflow.lite.python.lite import TFLiteConverterBase

    # As the entry point's classmethod does, before the converter reads it in its constructor.
    if source.prepared == KERAS_EXPORT:
        TFLiteConverterBase._set_original_model_type(metadata.ModelType.KERAS_MODEL)
        return _keras_converter_class()(source.path)
    TFLiteConverterBase._set_original_model_type(metadata.ModelType.TF_CONCRETE_FUNCTIONS)
    if source.prepared == FUNCTION_SIGNATURES:
        return _signatures_converter_class()(source.path, list(source.signature_keys))
    return _frozen_converter(source.path)


def _load_signatures(converter, path: str, keys: list):
    """The tail of TensorFlow's ``_convert_*_to_saved_model``, after its save: read the SavedModel."""
    from tensorflow.python.saved_model.load import load

    converter.saved_model_dir = path
    converter._saved_model_tags = {"serve"}
    converter._saved_model_exported_names = keys
    converter._parse_saved_model_args(always_enable_saved_model_import=converter.experimental_lower_to_saved_model)
    if not converter.saved_model_dir:
        raise ValueError("TensorFlow declined the SavedModel import for this model: convert with in_process=True")
    graph_def, input_tensors, output_tensors = converter._load_saved_model(converter.saved_model_dir,
                                                                            converter._saved_model_tags)
    # TensorFlow loads the whole SavedModel here only for its graph_debug_info (0.8 s of a
    # MobileNetV2's conversion), which can be read from the folder where the load would rebuild
    # exactly that.
    debug_info = debug_info_without_loading(path, converter._saved_model_tags)
    converter._trackable_obj = (load(path, converter._saved_model_tags) if debug_info is None
                                else types.SimpleNamespace(graph_debug_info=debug_info))
    return graph_def, input_tensors, output_tensors


@functools.lru_cache(maxsize=None)
def _keras_converter_class():
    from tensorflow.lite.python import lite
    from tensorflow.lite.python.convert_phase import Component, SubComponent, convert_phase

    class PreparedKerasConverter(lite.TFLiteKerasModelConverterV2):
        """``from_keras_model``'s converter whose export was made by :func:`prepare_keras`."""

        def __init__(self, path: str):
            super().__init__(keras_model=None)
            self._prepared_path = path

        @convert_phase(Component.PREPARE_TF_MODEL, SubComponent.CONVERT_KERAS_TO_SAVED_MODEL)
        def _convert_keras_to_saved_model(self, output_dir):
            del output_dir  # TensorFlow's temporary folder, left empty: the export is made
            return _load_signatures(self, self._prepared_path, ["serving_default"])

    return PreparedKerasConverter


@functools.lru_cache(maxsize=None)
def _signatures_converter_class():
    from tensorflow.lite.python import lite
    from tensorflow.lite.python.convert_phase import Component, SubComponent, convert_phase

    class PreparedSignaturesConverter(lite.TFLiteFrozenGraphConverterV2):
        """``from_concrete_functions``' converter whose SavedModel was saved by :func:`prepare_functions`."""

        def __init__(self, path: str, keys: list):
            super().__init__([], trackable_obj=None)
            self._prepared_path, self._prepared_keys = path, keys

        @convert_phase(Component.PREPARE_TF_MODEL, SubComponent.CONVERT_CONCRETE_FUNCTIONS_TO_SAVED_MODEL)
        def _convert_concrete_functions_to_saved_model(self, output_dir):
            del output_dir
            return _load_signatures(self, self._prepared_path, self._prepared_keys)

    return PreparedSignaturesConverter


def _frozen_converter(path: str):
    """``from_concrete_functions``' converter for one function, frozen by :func:`prepare_functions`."""
    tf = import_tensorflow()
    from tensorflow.core.framework import graph_debug_info_pb2
    from tensorflow.lite.python import lite
    from tensorflow.python.eager import wrap_function

    graph_def = tf.compat.v1.GraphDef.FromString(_read(path, _FROZEN_GRAPH))
    io = json.loads(_read(path, _FROZEN_IO))
    # As convert_variables_to_constants_v2_as_graph builds its frozen function from the graph.
    frozen = wrap_function.function_from_graph_def(graph_def, io["inputs"], io["outputs"])
    for tensor, shape in zip(frozen.inputs, io["shapes"]):
        tensor.set_shape(shape)
    debug_info = None
    if os.path.exists(os.path.join(path, _DEBUG_INFO)):
        debug_info = graph_debug_info_pb2.GraphDebugInfo.FromString(_read(path, _DEBUG_INFO))
    return _frozen_converter_class()(graph_def, frozen, debug_info)


@functools.lru_cache(maxsize=None)
def _frozen_converter_class():
    from tensorflow.lite.python import lite
    from tensorflow.lite.python.convert_phase import Component, SubComponent, convert_phase
    from tensorflow.python.framework import dtypes

    class PreparedFrozenConverter(lite.TFLiteFrozenGraphConverterV2):
        """``from_concrete_functions``' converter whose freeze was made by :func:`prepare_functions`."""

        def __init__(self, graph_def, frozen, debug_info):
            super().__init__([frozen], trackable_obj=None)
            self._prepared = (graph_def, frozen, debug_info)

        @convert_phase(Component.PREPARE_TF_MODEL, SubComponent.FREEZE_CONCRETE_FUNCTION)
        def _freeze_concrete_function(self):
            graph_def, frozen, _ = self._prepared
            inputs = [tensor for tensor in frozen.inputs if tensor.dtype != dtypes.resource]
            return graph_def, inputs, frozen.outputs, frozen

        def _validate_inputs(self, graph_def, input_tensors):
            super()._validate_inputs(graph_def, input_tensors)
            if self._prepared[2] is not None:  # the traces of the user's own graph, not the frozen copy's
                self._debug_info = lite._get_debug_info(lite._convert_debug_info_func(self._prepared[2]), graph_def)

    return PreparedFrozenConverter


def debug_info_without_loading(path: str, tags):
    """The ``graph_debug_info`` that ``tf.saved_model.load(path)`` would give, or None where only loading tells."""
    from tensorflow.core.framework import graph_debug_info_pb2
    from tensorflow.python.saved_model import loader_impl

    try:
        saved_model, debug_info = loader_impl.parse_saved_model_with_debug_info(path)
    except Exception:  # noqa: BLE001 - TensorFlow's own load reports what is wrong with the folder
        return None
    graphs = saved_model.meta_graphs
    if len(graphs) != 1 or not graphs[0].HasField("object_graph_def") or debug_info.traces:
        return None  # a TF1 SavedModel (its debug info as it is), or legacy traces the loader renames
    if tags is not None and set(tags) != set(graphs[0].meta_info_def.tags):
        return None  # the load fails, and its error is the one to show
    files_only = graph_debug_info_pb2.GraphDebugInfo()
    files_only.files[:] = debug_info.files
    return files_only


def _read(path: str, name: str) -> bytes:
    with open(os.path.join(path, name), "rb") as file:
        return file.read()
