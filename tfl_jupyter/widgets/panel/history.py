"""The conversions made in a panel: what was asked, what came out, how far it is from float."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from ...core.text import format_size

OK, FAILED, CANCELLED = "ok", "failed", "cancelled"

# Metrics kept per entry, and which way is better (True: higher).
KEY_METRICS = {"sqnr_db": True, "top1_agreement": True, "cosine_similarity": True, "max_abs_error": False}


@dataclass
class HistoryEntry:
    """One conversion made in the panel (successful or not).

    Attributes
    ----------
    number : int
        1, 2, ... in the order made.
    status : {"ok", "failed", "cancelled"}
    source : str
        The model as the form named it.
    settings : dict
        The settings, as ``ConversionSettings.as_dict()`` (or the request's, when it failed).
    result : ConversionResult or None
    comparison : object or None
        What ``result.compare()`` returned, when the error was measured.
    metrics : dict
        Worst value over the outputs of each of :data:`KEY_METRICS` that was measured, and
        ``accuracy`` when labels were given.
    message : str
        Why it failed or was cancelled; notes otherwise.
    error : BaseException or None
    parent : int or None
        The entry this one was requantized from.
    compare_error, layers_error : str
        Why the error (or the per-layer error) could not be measured.
    layers : pandas.DataFrame or None
        The per-layer error (``comparison.layers``), once computed.
    """

    number: int
    status: str
    source: str
    settings: Dict[str, Any]
    description: str
    result: Any = None
    comparison: Any = None
    metrics: Dict[str, float] = field(default_factory=dict)
    message: str = ""
    error: Optional[BaseException] = None
    duration_s: float = 0.0
    parent: Optional[int] = None
    compare_error: str = ""
    layers: Any = None
    layers_error: str = ""
    created: dt.datetime = field(default_factory=dt.datetime.now)

    @property
    def size_bytes(self) -> Optional[int]:
        """Size of the ``.tflite``, or None."""
        return self.result.size_bytes if self.result is not None else None

    @property
    def metric_text(self) -> str:
        """``"accuracy 95.4%, SQNR 31.2 dB, top-1 98%"`` (accuracy when labels were given), or ``""`` when not measured."""
        parts = []
        if "accuracy" in self.metrics:
            parts.append(f"accuracy {self.metrics['accuracy']:.1%}")
        if "sqnr_db" in self.metrics:
            parts.append(f"SQNR {self.metrics['sqnr_db']:.1f} dB")
        if "top1_agreement" in self.metrics:
            parts.append(f"top-1 {self.metrics['top1_agreement']:.0%}")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """One line for menus: ``"#2 int8 · 14.2 KiB · SQNR 31.2 dB"``."""
        parts = [f"#{self.number} {self.settings.get('quantize', '?')}"]
        if self.parent is not None:
            parts[0] += f" (from #{self.parent}, some layers in float)"
        if self.result is not None:
            parts.append(format_size(self.result.size_bytes))
        if self.metric_text:
            parts.append(self.metric_text)
        if self.status != OK:
            parts.append(self.status)
        return " · ".join(parts)


def key_metrics(comparison) -> Dict[str, float]:
    """The worst value over the outputs of each key metric in ``comparison.summary``, and the
    converted model's ``accuracy`` when the comparison had labels."""
    summary = getattr(comparison, "summary", None)
    if summary is None:
        return {}
    values = {}
    task = getattr(comparison, "task_metrics", None)
    accuracy = [c for c in getattr(task, "columns", ()) if str(c).rpartition("/")[2] == "accuracy"]
    if accuracy:
        values["accuracy"] = float(task.loc["converted", accuracy].min())
    for column, higher_is_better in KEY_METRICS.items():
        if column in summary.columns:
            series = summary[column].astype(float).dropna()
            if len(series):
                values[column] = float(series.min() if higher_is_better else series.max())
    return values


class History:
    """The panel's conversions, oldest first; indexable and iterable like a list."""

    def __init__(self):
        self._entries: List[HistoryEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(list(self._entries))

    def __getitem__(self, index) -> HistoryEntry:
        return self._entries[index]

    def add(self, **fields: Any) -> HistoryEntry:
        """Record a conversion; the entry gets the next number."""
        entry = HistoryEntry(number=len(self._entries) + 1, **fields)
        self._entries.append(entry)
        return entry

    def entry(self, number: int) -> HistoryEntry:
        """The entry numbered ``number`` (as shown, from 1).

        Raises
        ------
        KeyError
        """
        for entry in self._entries:
            if entry.number == number:
                return entry
        raise KeyError(f"no conversion #{number} in this panel's history")

    def successful(self) -> List[HistoryEntry]:
        """The entries that produced a model."""
        return [e for e in self._entries if e.status == OK]

    @property
    def table(self):
        """One row per conversion: status, source, mode, size, key metrics, time.

        Returns
        -------
        pandas.DataFrame
            Indexed by the entry number.
        """
        import pandas as pd

        rows = [{
            "#": e.number, "status": e.status, "source": e.source, "mode": e.description,
            "size_bytes": e.size_bytes, **{k: e.metrics.get(k) for k in KEY_METRICS},
            "duration_s": round(e.duration_s, 2), "note": e.message,
        } for e in self._entries]
        columns = ["#", "status", "source", "mode", "size_bytes", *KEY_METRICS, "duration_s", "note"]
        return pd.DataFrame(rows, columns=columns).set_index("#")

    def compare(self, a: int, b: int):
        """Two conversions side by side: the settings that differ, size, ops and error.

        Parameters
        ----------
        a, b : int
            Entry numbers.

        Returns
        -------
        pandas.DataFrame
            One row per setting that differs and per measure; columns ``#a`` and ``#b``.
        """
        import pandas as pd

        first, second = self.entry(a), self.entry(b)
        rows = {}
        for key in sorted(set(first.settings) | set(second.settings), key=_setting_order):
            left, right = first.settings.get(key), second.settings.get(key)
            if left != right:
                rows[key] = (_text(left), _text(right))
        rows["size"] = (_size(first), _size(second))
        rows["size_bytes"] = (first.size_bytes, second.size_bytes)
        for entry_facts in ("builtin ops", "Flex ops", "custom ops", "quantized ops"):
            rows[entry_facts] = (_op_fact(first, entry_facts), _op_fact(second, entry_facts))
        for metric in KEY_METRICS:
            if metric in first.metrics or metric in second.metrics:
                rows[metric] = (first.metrics.get(metric), second.metrics.get(metric))
        rows["duration_s"] = (round(first.duration_s, 2), round(second.duration_s, 2))
        return pd.DataFrame.from_dict(rows, orient="index", columns=[f"#{a}", f"#{b}"])

    def save(self, number: int, path) -> str:
        """Write conversion ``number``'s model to ``path`` (atomically); the path written.

        Raises
        ------
        KeyError, ValueError
            No such entry, or it has no model.
        """
        entry = self.entry(number)
        if entry.result is None:
            raise ValueError(f"conversion #{number} {entry.status}: it has no model to save")
        return entry.result.save(path)

    def __repr__(self) -> str:
        return f"History of {len(self)} conversion(s)\n{self.table.to_string()}" if len(self) else "History: empty"

    def _repr_html_(self) -> str:
        return self.table.to_html() if len(self) else "<i>no conversions yet</i>"


_ORDER = ["quantize", "optimizations", "representative_dataset", "supported_ops", "supported_types",
          "inference_input_type", "inference_output_type", "allow_custom_ops"]


def _setting_order(key: str):
    return (_ORDER.index(key) if key in _ORDER else len(_ORDER), key)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def _size(entry: HistoryEntry) -> str:
    return format_size(entry.size_bytes) if entry.size_bytes is not None else "-"


def _op_fact(entry: HistoryEntry, fact: str):
    if entry.result is None:
        return None
    ops = entry.result.ops
    if fact == "quantized ops":
        return int(ops["quantized"].astype(bool).sum())
    return int((ops["kind"] == fact.split()[0].lower()).sum())
