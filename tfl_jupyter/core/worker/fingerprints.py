"""Content fingerprints of models, datasets and settings, for the result and export caches."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Optional

import numpy as np


def keras_model_fingerprint(model) -> Optional[str]:
    """Architecture and every weight value: a changed weight changes the fingerprint.

    None for a model whose architecture is not all in its config (a subclassed model's
    ``call`` is Python code that may read anything): it is never served from a cache.
    """
    import keras

    if not isinstance(model, (keras.Sequential, keras.src.models.Functional)):
        return None
    digest = _new_digest()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}:{id(type(model))}".encode())
    try:
        digest.update(model.to_json().encode())
    except Exception:  # noqa: BLE001 - a layer that cannot say its config: nothing to key on
        return None
    for weight in model.weights:
        digest.update(str(getattr(weight, "path", getattr(weight, "name", ""))).encode())
        _update_with_array(digest, np.asarray(weight))
    return digest.hexdigest()


def functions_fingerprint(functions) -> Optional[str]:
    """The traced graphs and every value they capture: variables and captured tensors alike.

    None where a function captures a resource that is not a variable (a lookup table, a
    dataset): its content cannot be read here, so the conversion is never served from a cache.
    """
    digest = _new_digest()
    for function in functions:
        digest.update(function.graph.as_graph_def().SerializeToString(deterministic=True))
        variables = {id(variable.handle): variable for variable in function.variables}
        for captured in function.captured_inputs:
            if id(captured) in variables:
                _update_with_array(digest, variables[id(captured)].numpy())
            elif captured.dtype.name in ("resource", "variant"):
                return None
            else:
                _update_with_array(digest, captured.numpy())
    return digest.hexdigest()


def directory_fingerprint(path: str) -> str:
    """Names, sizes and modification times of every file under ``path``."""
    digest = _new_digest()
    for folder, _, files in sorted(os.walk(path)):
        for name in sorted(files):
            full = os.path.join(folder, name)
            stat = os.stat(full)
            digest.update(f"{os.path.relpath(full, path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def dataset_fingerprint(dataset: Any) -> Optional[str]:
    """The values of an in-memory dataset; ``None`` where content cannot be known in advance.

    Generator functions, ``tf.data`` pipelines and iterators may yield different samples
    each time, so results calibrated with them are never served from the cache.
    """
    digest = _new_digest()
    return digest.hexdigest() if _update_with_value(digest, dataset) else None


def text_fingerprint(*parts: Any) -> str:
    """A fingerprint of the ``repr`` of plain values (settings, option flags)."""
    digest = _new_digest()
    for part in parts:
        digest.update(repr(part).encode())
    return digest.hexdigest()


def _new_digest():
    # SHA-256 runs in hardware on current CPUs (SHA-NI, ARMv8 crypto): 2-3x blake2b on a
    # model's weights, which every tj.convert call hashes, cache hit or not.
    return hashlib.sha256()


def _update_with_array(digest, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.view(np.uint8).reshape(-1) if array.size else b"")


def _update_with_value(digest, value: Any) -> bool:
    if value is None:
        digest.update(b"none")
        return True
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return False
        _update_with_array(digest, value)
        return True
    if isinstance(value, (int, float, bool, str, bytes)):
        digest.update(repr(value).encode())
        return True
    if isinstance(value, dict):
        digest.update(b"{")
        return all(_update_with_value(digest, key) and _update_with_value(digest, value[key]) for key in sorted(value, key=repr))
    if isinstance(value, (list, tuple)):
        digest.update(f"[{len(value)}".encode())
        return all(_update_with_value(digest, item) for item in value)
    return False
