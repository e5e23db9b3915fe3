"""Earlier conversion outputs, kept on disk so that the kernel holds only what the user holds."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Optional


class ResultCache:
    """The most recent conversion outputs, keyed by a fingerprint string.

    The model bytes live in files in a private temporary folder and are read back on a hit;
    only the small rest of each output (log, notes, timings) stays in memory. The folder is
    deleted by :meth:`clear` (at exit).

    Parameters
    ----------
    max_entries : int
        At most this many outputs are kept.
    max_bytes : int
        At most this many bytes of ``.tflite`` models are kept on disk.
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 512 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()  # key -> (output without its model, size)
        self._folder: Optional[str] = None
        self._lock = threading.Lock()

    def get(self, key: Optional[str]):
        """The output stored under ``key`` with its model read back, or None."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            try:
                with open(self._path(key), "rb") as stored:
                    return replace(entry[0], tflite_model=stored.read())
            except OSError:  # deleted behind our back (a temp cleaner): a miss
                del self._entries[key]
                return None

    def put(self, key: Optional[str], output) -> None:
        """Store ``output`` (a ConverterOutput) under ``key``; evict the oldest beyond the bounds."""
        if key is None or len(output.tflite_model) > self.max_bytes:
            return
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="tfl_jupyter_cache_")
            with open(self._path(key), "wb") as stored:
                stored.write(output.tflite_model)
            self._entries[key] = (replace(output, tflite_model=b""), len(output.tflite_model))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries or self._size() > self.max_bytes:
                old_key, _ = self._entries.popitem(last=False)
                _remove(self._path(old_key))

    def clear(self) -> None:
        """Forget everything and delete the folder."""
        with self._lock:
            self._entries.clear()
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def __len__(self) -> int:
        return len(self._entries)

    def _size(self) -> int:
        return sum(size for _, size in self._entries.values())

    def _path(self, key: str) -> str:
        return os.path.join(self._folder, hashlib.sha256(key.encode("utf-8")).hexdigest() + ".tflite")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
