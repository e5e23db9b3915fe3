"""A small LRU cache of conversion outputs, bounded by count and bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional


class ResultCache:
    """Keep the most recent conversion outputs, keyed by a fingerprint string.

    Parameters
    ----------
    max_entries : int
        At most this many outputs are kept.
    max_bytes : int
        At most this many bytes of ``.tflite`` models are kept.
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 512 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Optional[str]):
        """The output stored under ``key``, or None."""
        if key is None:
            return None
        with self._lock:
            output = self._entries.get(key)
            if output is not None:
                self._entries.move_to_end(key)
            return output

    def put(self, key: Optional[str], output) -> None:
        """Store ``output`` (anything with ``.tflite_model``) under ``key``; evict the oldest."""
        if key is None:
            return
        with self._lock:
            self._entries[key] = output
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries or self._size() > self.max_bytes:
                if len(self._entries) == 1:
                    break
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _size(self) -> int:
        return sum(len(output.tflite_model) for output in self._entries.values())
