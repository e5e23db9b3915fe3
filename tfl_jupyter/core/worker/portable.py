"""Make a source convertible in another process: a folder on disk that TensorFlow's own converter reads.

An in-memory model is prepared (:mod:`tfl_jupyter.core.prepare`) once per fingerprint (the
graph and every value it captures) and the folder is reused for every other setting, which
is most of the time of a second conversion.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import tempfile
import threading
import time
from collections import OrderedDict
import itertools
from dataclasses import dataclass
from typing import Optional

from ..capture import run_captured
from ..prepare import FUNCTION_SIGNATURES, NeedsLiveModel, function_form, prepare_functions, prepare_keras, prepared_form
from ..settings import ConversionSettings
from ..shapes import export_at_shapes, fixed_inputs, resolve_shapes
from ..sources import ModelSource
from .fingerprints import directory_fingerprint, functions_fingerprint, keras_model_fingerprint
from .process import NO_DEADLINE, Deadline


@dataclass(frozen=True)
class PortableSource:
    """What the worker converts in place of the user's source: a folder on disk.

    Attributes
    ----------
    directory : str
        A SavedModel directory, or the folder a source was prepared in.
    kind : str
        The source's kind, which names the entry point the worker converts it with.
    prepared : str or None
        The form :mod:`tfl_jupyter.core.prepare` wrote (None for a SavedModel converted
        with ``from_saved_model``).
    signature_keys, tags : tuple of str or None
        The signatures to convert and the SavedModel's tag set.
    inputs : tuple of InputSpec or None
        The source's inputs in positional order, where known.
    fingerprint : str or None
        The source's content (None where it cannot be known: never served from a cache).
    shapes_fixed : bool
        Exported at the settings' fixed input shapes.
    """

    directory: str
    kind: str
    prepared: Optional[str]
    signature_keys: Optional[tuple]
    tags: Optional[tuple]
    inputs: Optional[tuple]
    fingerprint: Optional[str]
    shapes_fixed: bool = False

    def as_source(self, description: str) -> ModelSource:
        """The ModelSource the worker resolves this into."""
        return ModelSource(
            kind=self.kind,
            description=description,
            path=self.directory,
            signature_keys=self.signature_keys,
            tags=self.tags,
            inputs=self.inputs,
            shapes_fixed=self.shapes_fixed,
            prepared=self.prepared,
        )


class ExportCache:
    """SavedModel exports of in-memory models, newest kept, deleted when evicted or at exit."""

    def __init__(self, max_entries: int = 4):
        self.max_entries = max_entries
        self._exports: OrderedDict = OrderedDict()  # fingerprint -> TemporaryDirectory
        self._pending: dict = {}  # fingerprint -> _Export being made
        # fingerprint -> why TensorFlow's export step fails for that model: it would fail again
        # (the sweep asks once per mode). A message, not the exception, whose frames hold the model.
        self._refused: dict = {}
        self._lock = threading.Lock()
        self._collection_owed = False

    def directory(self, fingerprint: str, export, log_parts: list, deadline: Deadline = NO_DEADLINE) -> str:
        """The export for ``fingerprint``, calling ``export(path)`` to make it if needed.

        Concurrent calls for one fingerprint share one export. Without a timeout the export
        runs in the calling thread, its output captured into ``log_parts``. With one it runs
        in a thread of its own that this call waits for until the deadline: past it,
        ``TimeoutError`` is raised and the export goes on, to serve the next call.
        """
        background = deadline.timeout is not None
        with self._lock:
            if fingerprint in self._refused:
                raise NeedsLiveModel(self._refused[fingerprint])
            folder = self._exports.get(fingerprint)
            if folder is not None:
                self._exports.move_to_end(fingerprint)
                return folder.name
            pending = self._pending.get(fingerprint)
            owner = pending is None
            if owner:
                pending = self._pending[fingerprint] = _Export(
                    functools.partial(self._make, fingerprint, export, log_parts, not background))
        if owner and background:
            pending.start()
        elif owner:
            pending.run()
        return pending.wait(deadline)

    def clear(self, wait_s: float = 30.0) -> None:
        """Delete every export, once the ones still being made in the background are done.

        An export left running in a daemon thread at interpreter exit would be ended inside
        TensorFlow's C++ frames, which aborts the process; so this waits up to ``wait_s``.
        """
        with self._lock:
            pending = list(self._pending.values())
        end = time.monotonic() + wait_s
        for export in pending:
            export.done.wait(max(0.0, end - time.monotonic()))
        with self._lock:
            for folder in self._exports.values():
                folder.cleanup()
            self._exports.clear()
            self._refused.clear()

    def _make(self, fingerprint: str, export, log_parts: list, streams: bool) -> str:
        folder = tempfile.TemporaryDirectory(prefix="tfl_jupyter_export_")
        try:
            with _older_objects_frozen() as frozen:
                run_captured(log_parts, export, folder.name, streams=streams)
        except BaseException as exc:
            folder.cleanup()
            with self._lock:
                self._pending.pop(fingerprint, None)
                if isinstance(exc, NeedsLiveModel):
                    self._refused[fingerprint] = str(exc)
            raise
        with self._lock:
            self._collection_owed = self._collection_owed or frozen
            self._pending.pop(fingerprint, None)
            self._exports[fingerprint] = folder
            while len(self._exports) > self.max_entries:
                self._exports.popitem(last=False)[1].cleanup()
        return folder.name

    def collect_garbage(self) -> None:
        """Run the full garbage collection that exports held back, if any (call it while
        this process has nothing else to do, e.g. while a worker converts)."""
        with self._lock:
            owed, self._collection_owed = self._collection_owed, False
        if owed:
            gc.collect()


@contextlib.contextmanager
def _older_objects_frozen():
    """Exempt the objects that exist now from garbage collection while the block runs.

    An export makes millions of objects, and each full collection they trigger also walks
    the ~400,000 that TensorFlow and Keras keep in this process (0.2-0.5 s each, one or two
    per MobileNetV2 export). Frozen, those are skipped; they are unfrozen untouched after.
    Yields whether it froze: not when something else had frozen objects (its freeze is not
    ours to undo) or collection is off.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()


class _Export:
    """One export being made, here or in a thread of its own, that several callers can wait for."""

    def __init__(self, make):
        self._make = make
        self.done = threading.Event()
        self._path = self._error = None

    def start(self) -> None:
        """Make it in a background thread (only its wait is bounded by a deadline)."""
        threading.Thread(target=self.run, name="tfl_jupyter-export", daemon=True).start()

    def run(self) -> None:
        """Make it in this thread."""
        try:
            self._path = self._make()
        except BaseException as exc:  # raised again by wait(), in every caller
            self._error = exc
        finally:
            self.done.set()

    def wait(self, deadline: Deadline) -> str:
        """The export's path once it is made; TimeoutError if the deadline comes first."""
        while not self.done.wait(0.1 if deadline.timeout is None else min(0.1, deadline.remaining())):
            if deadline.passed():
                raise deadline.error("exporting the model (the export goes on in the background, for the next try)")
        if self._error is not None:
            raise self._error
        return self._path


EXPORTS = ExportCache()


def make_portable(source: ModelSource, settings: ConversionSettings, log_parts: list,
                  deadline: Deadline = NO_DEADLINE) -> PortableSource:
    """Return the folder a worker converts in place of ``source``.

    Parameters
    ----------
    source : ModelSource
        The resolved source; not one that :func:`~tfl_jupyter.core.prepare.needs_live_model`.
    log_parts : list of str
        What the export printed is appended here.
    deadline : Deadline
        When the caller's timeout runs out (the export counts against it).
    settings : ConversionSettings, optional
        With fixed input shapes, an in-memory model is exported at those shapes (a
        SavedModel directory is signed again by the worker, which loads it anyway); for
        functions, the settings decide whether they are frozen or saved as signatures.
    """
    if source.kind == "saved_model":
        path = os.path.abspath(source.path)  # the worker's working folder may differ from ours
        return PortableSource(path, "saved_model", None, source.signature_keys, source.tags, None,
                              "dir:" + path + ":" + directory_fingerprint(path))
    shapes = resolve_shapes(source, settings) if settings.fixes_shapes else None
    if shapes:
        export = functools.partial(export_at_shapes, source, shapes)
    elif source.kind == "keras":
        export = functools.partial(prepare_keras, source.obj)
    else:
        form = function_form(source, settings)
        export = functools.partial(prepare_functions, source, form)
    fingerprint = _fingerprint(source, repr(shapes) if shapes else export.func.__name__ + repr(export.args[1:]))
    folder = EXPORTS.directory(fingerprint or f"unique:{next(_UNIQUE)}", export, log_parts, deadline)
    if shapes:
        return PortableSource(folder, "saved_model", None, ("serving_default",), None, fixed_inputs(source, shapes),
                              fingerprint, shapes_fixed=True)
    form = prepared_form(source, folder)
    keys = (("serving_default",) if len(source.obj) == 1 else tuple(f.graph.name for f in source.obj)
            ) if form == FUNCTION_SIGNATURES else None
    return PortableSource(folder, source.kind, form, keys, None, source.inputs, fingerprint)


_UNIQUE = itertools.count()


def _fingerprint(source: ModelSource, how: str) -> Optional[str]:
    """The source's content and how it is prepared; None where the content cannot be known."""
    if source.kind == "keras":
        model = keras_model_fingerprint(source.obj)
        return model and f"keras:{model}:{how}"
    functions = functions_fingerprint(source.obj)
    return functions and f"functions:{functions}:{how}"
