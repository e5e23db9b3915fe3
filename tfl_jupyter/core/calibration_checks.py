"""Calibration checked: the representative dataset before conversion, the calibrated ranges after.

Many "int8 lost accuracy" reports are calibration mistakes: inputs scaled differently from
the data the model sees (0-255 vs 0-1), a handful of samples, NaNs, a constant input. The
checks here are NumPy only and cheap (two reductions per sample and input):

- before conversion (:func:`check_dataset`, run on in-memory datasets by ``convert``):
  non-finite values, a constant input, fewer than ``ADVISED_SAMPLES`` samples;
- once comparison samples are known (:func:`range_findings`): calibration and comparison
  value ranges far apart;
- after conversion (:func:`clipping_frame`): the share of comparison values outside the
  calibrated range of each input and activation, worst first.

:class:`CalibrationReport` gathers them: ``result.calibration_report`` the check before
conversion, ``comparison.calibration_report`` that and what the comparison found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .datasets import CalibrationData, DatasetError, is_tf_dataset
from .sources import InputSpec

# TensorFlow's post-training quantization guide: "around 100-500 samples".
ADVISED_SAMPLES = 100
ADVISED_TEXT = "TensorFlow's quantization guide advises about 100 to 500 representative samples"
# Ranges this many times apart in span, or not overlapping, are "far apart".
RANGE_RATIO = 10.0
# A clipped share above this is worth a warning.
CLIPPED_WARNING = 0.01


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the calibration.

    Attributes
    ----------
    check : str
        ``"non-finite"``, ``"constant"``, ``"few samples"``, ``"range mismatch"``, ``"clipped"``.
    input : str or None
        The input (or tensor) it is about.
    message : str
        One line: what, where, and the fix.
    """

    check: str
    input: Optional[str]
    message: str


@dataclass(frozen=True)
class InputStats:
    """Value range of one input over the calibration samples (non-finite values included in ``nonfinite``)."""

    name: str
    low: float
    high: float
    nonfinite: Tuple[int, ...] = ()  # indices of the samples with NaN or Inf


@dataclass(frozen=True)
class DatasetCheck:
    """What was found in a representative dataset before conversion.

    Attributes
    ----------
    checked : bool
        The values were read (in-memory datasets); for generators and ``tf.data`` only the
        sample count is checked, and ``reason`` says so.
    samples : int
    stats : dict of str to InputStats
    findings : tuple of Finding
    reason : str
    """

    checked: bool
    samples: int
    stats: Dict[str, InputStats] = field(default_factory=dict)
    findings: Tuple[Finding, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class ClippingCheck:
    """What one comparison found about the calibrated ranges, on its own samples.

    Attributes
    ----------
    findings : tuple of Finding
        Calibration ranges far from the comparison samples', and inputs and activations with
        more than ``CLIPPED_WARNING`` of their values clipped.
    clipping : pandas.DataFrame
        Per input (and per activation, where the calibrated model was computed by ``.layers``
        or ``requantize``): the share of comparison values outside the calibrated range,
        worst first (see :func:`clipping_frame`).
    samples_origin : str
        What the clipping was measured on.
    activations_note : str
        Whether activations were checked, and on how many samples.
    """

    findings: Tuple[Finding, ...]
    clipping: Any = field(repr=False)
    samples_origin: str
    activations_note: str = ""


def is_in_memory(dataset: Any) -> bool:
    """Whether ``dataset`` is an array, list/tuple or dict (so reading it twice is cheap and safe)."""
    return isinstance(dataset, (np.ndarray, list, tuple, dict)) and not is_tf_dataset(dataset)


def check_dataset(dataset: Any, specs: Optional[Sequence[InputSpec]], *, ordered: bool = True,
                  samples_seen: int = 0) -> DatasetCheck:
    """Check a representative dataset: non-finite values, constant inputs, too few samples.

    Parameters
    ----------
    dataset : object
        Any representative dataset form. Only in-memory ones (array, list, dict) are read;
        for a generator or ``tf.data.Dataset`` only ``samples_seen`` is checked.
    specs : list of InputSpec, optional
        The model's inputs, to name them (positional ``input_0``, ... without).
    ordered : bool
        ``specs`` are in positional order.
    samples_seen : int
        Samples the converter calibrated on (for datasets that are not read here).

    Returns
    -------
    DatasetCheck
    """
    if not is_in_memory(dataset):
        findings = tuple(_count_findings(samples_seen))
        return DatasetCheck(False, samples_seen, findings=findings,
                            reason="a generator or tf.data dataset is not read twice, so its values were not checked "
                                   "(pass an array, list or dict to have them checked)")
    try:
        data = CalibrationData(dataset, specs, ordered=ordered)
    except (DatasetError, TypeError) as exc:
        return DatasetCheck(False, samples_seen, reason=f"not checked: {exc}")
    names = [s.name for s in specs] if specs else None
    lows: Dict[str, list] = {}
    highs: Dict[str, list] = {}
    count = 0
    with np.errstate(invalid="ignore"):
        for sample in data():
            arrays = sample if isinstance(sample, dict) else dict(zip(names or [f"input_{i}" for i in range(len(sample))], sample))
            for name, array in arrays.items():
                if array.dtype.kind not in "fiub" or not array.size:
                    continue
                lows.setdefault(name, []).append(array.min())
                highs.setdefault(name, []).append(array.max())
            count += 1
    stats, findings = {}, []
    for name in lows:
        low = np.asarray(lows[name], dtype=np.float64)
        high = np.asarray(highs[name], dtype=np.float64)
        bad = ~(np.isfinite(low) & np.isfinite(high))  # NaN propagates through min/max; Inf shows at an end
        good_low, good_high = low[~bad], high[~bad]
        stat = InputStats(name, float(good_low.min()) if good_low.size else float("nan"),
                          float(good_high.max()) if good_high.size else float("nan"), tuple(np.flatnonzero(bad).tolist()))
        stats[name] = stat
        if stat.nonfinite:
            shown = ", ".join(map(str, stat.nonfinite[:5])) + (" ..." if len(stat.nonfinite) > 5 else "")
            findings.append(Finding("non-finite", name, f"input {name!r}: NaN or Inf in {len(stat.nonfinite)} of {count} "
                                    f"calibration samples (sample {shown}): they corrupt the calibrated range; drop or fix them"))
        if good_low.size and stat.low == stat.high:
            findings.append(Finding("constant", name, f"input {name!r} is constant ({stat.low:.6g}) in every calibration sample: "
                                    "its range cannot be learned; calibrate on real inputs"))
    findings += _count_findings(count)
    return DatasetCheck(True, count, stats, tuple(findings))


def _count_findings(count: int) -> List[Finding]:
    if 0 < count < ADVISED_SAMPLES:
        return [Finding("few samples", None, f"only {count} calibration sample{'s' if count != 1 else ''}: {ADVISED_TEXT}")]
    return []


def range_findings(stats: Dict[str, InputStats], arrays: Dict[str, np.ndarray], described: str = "the comparison samples") -> List[Finding]:
    """Inputs whose calibration range is far from the range of ``arrays`` (e.g. 0-255 vs 0-1).

    Far means: the ranges do not overlap, or one spans more than ``RANGE_RATIO`` times the other.
    """
    findings = []
    if len(stats) == 1 and len(arrays) == 1 and set(stats) != set(arrays):  # positional names (a SavedModel path)
        stats = {next(iter(arrays)): next(iter(stats.values()))}
    for name, stat in stats.items():
        values = arrays.get(name)
        if values is None or values.dtype.kind not in "fiub" or not values.size or not np.isfinite([stat.low, stat.high]).all():
            continue
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        if not finite.size:
            continue
        low, high = float(finite.min()), float(finite.max())
        span_cal, span_cmp = stat.high - stat.low, high - low
        apart = stat.high < low or high < stat.low
        ratio = max(span_cal, span_cmp) / max(min(span_cal, span_cmp), 1e-12) if max(span_cal, span_cmp) > 0 else 1.0
        if apart or ratio > RANGE_RATIO:
            findings.append(Finding(
                "range mismatch", name,
                f"input {name!r}: calibration samples range over [{stat.low:.4g}, {stat.high:.4g}] but {described} over "
                f"[{low:.4g}, {high:.4g}]: preprocess the calibration data exactly as the model's inputs (same scaling)",
            ))
    return findings


def clipped_share(values: np.ndarray, low: float, high: float) -> float:
    """Share of finite ``values`` outside ``[low, high]`` (what quantization clips)."""
    values = np.asarray(values)
    if not values.size:
        return 0.0
    low, high = np.float64(low), np.float64(high)  # compared exactly, not rounded to the values' float32
    return float(np.count_nonzero((values < low) | (values > high)) / values.size)


def clipping_frame(rows: List[dict]):
    """The clipping table, worst first: ``tensor``, ``kind`` (input/activation), ``low``, ``high``, ``clipped``."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["tensor", "kind", "low", "high", "clipped"])
    return frame.sort_values("clipped", ascending=False, kind="stable").reset_index(drop=True)


class CalibrationReport:
    """Calibration checked before conversion and, for a comparison's report, after.

    ``result.calibration_report`` holds the check before conversion only;
    ``comparison.calibration_report`` adds what that comparison found on its samples.

    Attributes
    ----------
    before : DatasetCheck or None
        The representative dataset's check (None: the conversion used none).
    after : ClippingCheck or None
        What a comparison found (None: the result's own report, or no calibration).
    findings : list of Finding
        Everything found, before and after.
    clipping : pandas.DataFrame or None
        ``after.clipping``: per input (and activation), the share of comparison values
        outside the calibrated range, worst first.
    samples_origin : str
        What the clipping was measured on.
    activations_note : str
        Whether activations were checked.
    """

    def __init__(self, before: Optional[DatasetCheck], after: Optional[ClippingCheck] = None):
        self.before = before
        self.after = after
        self.clipping = after.clipping if after else None
        self.samples_origin = after.samples_origin if after else ""
        self.activations_note = after.activations_note if after else ""
        self.findings: List[Finding] = list(before.findings if before else ()) + list(after.findings if after else ())

    @property
    def warnings(self) -> List[str]:
        """One short line per finding (what the magic and the panel show)."""
        return [f.message for f in self.findings]

    @property
    def ok(self) -> bool:
        """Nothing was found."""
        return not self.findings

    def _lines(self) -> List[str]:
        lines = ["Calibration report"]
        if self.before is None:
            lines.append("  no representative dataset (nothing calibrated)")
        else:
            lines.append(f"  before: {self.before.samples} calibration samples" + ("" if self.before.checked else f"; {self.before.reason}"))
            for stat in self.before.stats.values():
                lines.append(f"    {stat.name}: range [{stat.low:.4g}, {stat.high:.4g}]")
        lines += [f"  ! {w}" for w in self.warnings] or ["  no problem found"]
        if self.clipping is None:
            if self.before is not None:
                lines.append("  after: measured by a comparison (result.compare(...).calibration_report)")
        else:
            lines.append(f"  after: share of values outside the calibrated range, on {self.samples_origin}")
            lines += ["    " + line for line in self.clipping.head(10).to_string(index=False).splitlines()]
            if self.activations_note:
                lines.append(f"    {self.activations_note}")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        from html import escape

        parts = ["<div class='tfl-jupyter-calibration'><b>Calibration report</b><ul>"]
        parts += [f"<li>{escape(line.strip())}</li>" for line in self._lines()[1:] if not line.startswith("    ")]
        parts.append("</ul>")
        if self.clipping is not None and len(self.clipping):
            styled = self.clipping.head(20).style.format({"clipped": "{:.2%}", "low": "{:.4g}", "high": "{:.4g}"}).hide(axis="index")
            parts.append(styled.to_html())
        parts.append("</div>")
        return "".join(parts)
