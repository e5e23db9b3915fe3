"""Content fingerprints of models, datasets and settings, for the result and export caches."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Optional

import numpy as np


def keras_model_fingerprint(model) -> str:
    """Architecture and every weight value: a changed weight changes the fingerprint."""
    digest = _new_digest()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}:{id(type(model))}".encode())
    try:
        digest.update(model.to_json().encode())
    except Exception:  # subclassed models without get_config: fall back to identity
        digest.update(f"object:{id(model)}".encode())
    for weight in model.weights:
        digest.update(str(getattr(weight, "path", getattr(weight, "name", ""))).encode())
        _update_with_array(digest, np.asarray(weight))
    return digest.hexdigest()


def concrete_function_fingerprint(function) -> str:
    """The traced graph and the values of the variables it captures."""
    digest = _new_digest()
    digest.update(function.graph.as_graph_def().SerializeToString(deterministic=True))
    for variable in function.variables:
        _update_with_array(digest, variable.numpy())
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
