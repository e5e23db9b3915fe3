"""Make a source convertible in another process: everything becomes a SavedModel on disk.

A Keras model is exported once per fingerprint (architecture and weights) and the export is
reused for every other setting, which is most of the time of a second conversion.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from ..capture import run_captured
from ..sources import ModelSource
from .fingerprints import concrete_function_fingerprint, directory_fingerprint, keras_model_fingerprint


@dataclass(frozen=True)
class PortableSource:
    """A SavedModel directory the worker converts in place of the user's source."""

    saved_model_dir: str
    signature_keys: Optional[tuple]
    tags: Optional[tuple]
    input_order: Optional[tuple]  # positional input names, when the source had an order
    fingerprint: str
    exported: bool  # made by us from an in-memory model

    def as_source(self, description: str) -> ModelSource:
        """The ModelSource the worker resolves this into."""
        return ModelSource(
            kind="saved_model",
            description=description,
            path=self.saved_model_dir,
            signature_keys=self.signature_keys,
            tags=self.tags,
            input_order=self.input_order,
        )


class ExportCache:
    """SavedModel exports of in-memory models, newest kept, deleted when evicted or at exit."""

    def __init__(self, max_entries: int = 4):
        self.max_entries = max_entries
        self._exports: OrderedDict = OrderedDict()  # fingerprint -> TemporaryDirectory
        self._lock = threading.Lock()

    def directory(self, fingerprint: str, export) -> str:
        """The export for ``fingerprint``, calling ``export(path)`` to make it if needed."""
        with self._lock:
            folder = self._exports.get(fingerprint)
            if folder is not None:
                self._exports.move_to_end(fingerprint)
                return folder.name
        folder = tempfile.TemporaryDirectory(prefix="tfl_jupyter_export_")
        try:
            export(folder.name)
        except BaseException:
            folder.cleanup()
            raise
        with self._lock:
            self._exports[fingerprint] = folder
            while len(self._exports) > self.max_entries:
                self._exports.popitem(last=False)[1].cleanup()
        return folder.name

    def clear(self) -> None:
        """Delete every export."""
        with self._lock:
            for folder in self._exports.values():
                folder.cleanup()
            self._exports.clear()


EXPORTS = ExportCache()


def make_portable(source: ModelSource, log_parts: list) -> Optional[PortableSource]:
    """Return a SavedModel for ``source``, or None where only in-process conversion can work.

    Parameters
    ----------
    source : ModelSource
        The resolved source.
    log_parts : list of str
        What the export printed is appended here.
    """
    if source.kind == "saved_model":
        path = os.path.abspath(source.path)  # the worker's working folder may differ from ours
        return PortableSource(
            saved_model_dir=path,
            signature_keys=source.signature_keys,
            tags=source.tags,
            input_order=None,
            fingerprint="dir:" + path + ":" + directory_fingerprint(path),
            exported=False,
        )
    if source.kind == "keras":
        model = source.obj
        fingerprint = "keras:" + keras_model_fingerprint(model)
        specs = source.input_specs() or []
        folder = EXPORTS.directory(fingerprint, lambda path: run_captured(log_parts, _export_keras, model, path))
        return PortableSource(folder, ("serving_default",), None, tuple(s.name for s in specs) or None, fingerprint, True)
    if source.kind == "concrete_functions" and len(source.obj) == 1:
        function = source.obj[0]
        fingerprint = "function:" + concrete_function_fingerprint(function)
        specs = source.input_specs() or []
        folder = EXPORTS.directory(
            fingerprint, lambda path: run_captured(log_parts, _save_function, function, source.trackable, path)
        )
        return PortableSource(folder, ("serving_default",), None, tuple(s.name for s in specs) or None, fingerprint, True)
    return None


def _export_keras(model, path: str) -> None:
    """Export the way ``TFLiteConverter.from_keras_model`` does: ``__call__`` with training off."""
    import functools

    import keras

    if not model.inputs:  # a subclassed model: let Keras find its input signature
        model.export(path, verbose=False)
        return
    archive = keras.export.ExportArchive()
    archive.track(model)
    inputs = [_tensor_spec(t) for t in model.inputs]
    signature = [inputs] if len(inputs) > 1 else inputs
    archive.add_endpoint("serving_default", functools.partial(model.__call__, training=False), signature)
    archive.write_out(path, options=_keep_source_locations(), verbose=False)


def _tensor_spec(keras_tensor):
    import tensorflow as tf

    return tf.TensorSpec(keras_tensor.shape, dtype=keras_tensor.dtype, name=keras_tensor.name.split(":")[0])


def _save_function(function, trackable, path: str) -> None:
    import tensorflow as tf

    owner = trackable if isinstance(trackable, tf.Module) else tf.Module()
    if owner is not trackable:
        owner.function = trackable  # tracks the variables the function captures
    tf.saved_model.save(owner, path, signatures={"serving_default": function}, options=_keep_source_locations())


def _keep_source_locations():
    """Save debug info, so converter errors still point at the user's own lines."""
    import tensorflow as tf

    return tf.saved_model.SaveOptions(save_debug_info=True)
