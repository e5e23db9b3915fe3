"""The inputs a comparison runs on: the user's samples, the representative dataset, or generated ones.

Every form the converter's representative dataset accepts is accepted here too (a generator
function, a ``tf.data.Dataset``, an array, a list of samples, a dict of arrays by input name),
plus a list with one full array per input (``[x_a, x_b]``, as ``model.predict`` takes it).
They are checked against the model's inputs by :class:`~tfl_jupyter.core.datasets.CalibrationData`
and stacked into one array per input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..datasets import CalibrationData, DatasetError
from ..sources import InputSpec

GENERATED_SEED = 0


@dataclass(frozen=True)
class SampleSet:
    """One array per model input, samples on the first axis, in the model's input order.

    Attributes
    ----------
    arrays : dict of str to numpy.ndarray
    origin : str
        Where the samples came from, in words, for reports.
    kind : str
        ``"samples"`` (given to compare), ``"representative_dataset"`` or ``"generated"``.
    """

    arrays: Dict[str, np.ndarray]
    origin: str
    kind: str

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(next(iter(self.arrays.values())))

    @property
    def names(self) -> List[str]:
        """Input names, in the model's order."""
        return list(self.arrays)

    def head(self, count: int) -> "SampleSet":
        """The first ``count`` samples."""
        return SampleSet({k: v[:count] for k, v in self.arrays.items()}, self.origin, self.kind)

    def batches(self, size: int) -> Iterator[Tuple[int, Dict[str, np.ndarray]]]:
        """Yield ``(start, {name: array[start:start+size]})`` over all samples."""
        for start in range(0, self.n, size):
            yield start, {k: v[start : start + size] for k, v in self.arrays.items()}

    def bytes_per_sample(self) -> int:
        """Bytes of one sample over all inputs."""
        return int(sum(v[:1].nbytes for v in self.arrays.values()))


def resolve_samples(
    specs: Sequence[InputSpec],
    *,
    samples: Any = None,
    representative_dataset: Any = None,
    n: Optional[int] = 100,
    ordered: bool = True,
    ranges: Optional[Dict[str, Tuple[float, float]]] = None,
) -> SampleSet:
    """Pick and check the samples to compare on.

    Parameters
    ----------
    specs : list of InputSpec
        The model's inputs (name, dtype, shape with None for dynamic dimensions).
    samples : object, optional
        The user's samples; take precedence.
    representative_dataset : object, optional
        Used when ``samples`` is None.
    n : int or None
        At most this many samples (None: all of them; generated samples need a number).
    ordered : bool
        ``specs`` are in positional order, so list samples can be matched to them.
    ranges : dict, optional
        ``{input name: (low, high)}`` for generated float inputs, e.g. the calibrated range.

    Returns
    -------
    SampleSet

    Raises
    ------
    ValueError
        Samples that do not fit the model (count, shape, dtype, input names); the message
        says which input and what was expected.
    """
    if n is not None and n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if samples is not None:
        return _collect(specs, _per_input_arrays(samples, specs), n, ordered, "samples", "your samples")
    if representative_dataset is not None:
        return _collect(specs, representative_dataset, n, ordered, "representative_dataset", "the representative dataset")
    return generate_samples(specs, n or 100, ranges or {})


def _per_input_arrays(samples: Any, specs: Sequence[InputSpec]) -> Any:
    """``[x_a, x_b]`` with one full array per input (the ``model.predict`` form) -> a dict by name."""
    if not isinstance(samples, (list, tuple)) or len(specs) < 2 or len(samples) != len(specs):
        return samples
    arrays = [np.asarray(s) if hasattr(s, "__array__") or isinstance(s, np.ndarray) else None for s in samples]
    if any(a is None for a in arrays):
        return samples
    fits = all(spec.shape and a.ndim == len(spec.shape) for a, spec in zip(arrays, specs))
    lengths = {len(a) for a in arrays if a.ndim}
    if fits and len(lengths) == 1:
        return {spec.name: a for spec, a in zip(specs, arrays)}
    return samples


def _collect(specs, dataset, n, ordered, kind, described) -> SampleSet:
    names = [s.name for s in specs]
    try:
        data = _calibration_data(dataset, specs, ordered)
        parts: Dict[str, list] = {name: [] for name in names}
        count, more = 0, False
        stream = data()
        for sample in stream:
            arrays = sample if isinstance(sample, dict) else dict(zip(names, sample))
            for name in names:
                parts[name].append(arrays[name])
            count += len(arrays[names[0]])
            if n is not None and count >= n:
                more = count > n or next(stream, None) is not None
                break
    except DatasetError as exc:
        raise DatasetError(_reword(str(exc), kind)) from None
    stacked = {}
    for name in names:
        try:
            stacked[name] = np.concatenate(parts[name])[:n]
        except ValueError as exc:  # samples of one input differ in shape
            raise DatasetError(f"{described}: the samples of input {name!r} differ in shape ({exc}); give every sample the same shape") from None
    total = len(stacked[names[0]])
    if more:
        counted = f"the first {total} samples (n={n})"
    else:
        counted = f"{total} sample{'s' if total != 1 else ''}" + ("" if n is None or total >= n else f" (asked for {n})")
    return SampleSet(stacked, f"{described}: {counted}", kind)


def _calibration_data(dataset, specs, ordered: bool) -> CalibrationData:
    return CalibrationData(dataset, specs, by_name=False, ordered=ordered)


def _reword(message: str, kind: str) -> str:
    """CalibrationData speaks of the representative dataset; for ``samples=`` say so instead."""
    if kind != "samples":
        return message
    message = message.replace("the representative dataset is empty", "samples= holds no samples")
    message = message.replace("representative dataset sample", "samples: sample")
    return message.replace("the representative dataset", "samples=").replace("representative dataset", "samples=")


# Generated samples are made in float64 first; a corrupt or absurd shape must fail, not swap.
_GENERATED_BYTES_LIMIT = 4 * 1024**3


def generate_samples(specs: Sequence[InputSpec], n: int, ranges: Dict[str, Tuple[float, float]]) -> SampleSet:
    """Random inputs shaped by the model's signature (seeded, so every run sees the same ones).

    Float inputs are uniform over ``ranges[name]`` where known (the calibrated input range),
    else over [0, 1); integer inputs uniform in [0, 10); booleans fair coin flips.

    Raises
    ------
    ValueError
        An input has a dynamic dimension other than the batch, or a string dtype.
    """
    if not specs:
        raise ValueError("the model has no inputs, so there is nothing to run it on: check that the "
                         "file is the model you meant (a damaged file can lose its inputs)")
    rng = np.random.default_rng(GENERATED_SEED)
    arrays, described = {}, []
    for spec in specs:
        shape = tuple(spec.shape[1:]) if spec.shape else ()
        if any(d is None for d in shape):
            raise ValueError(
                f"input {spec.name!r} has a dynamic shape {_shape_text(spec.shape)}, so samples cannot be generated "
                "from the signature: pass samples=... (an array, list, dict by input name, tf.data.Dataset or generator)"
            )
        dtype = np.dtype(spec.dtype) if spec.dtype not in ("string",) else None
        if dtype is None or dtype.kind in "OSU":
            raise ValueError(f"input {spec.name!r} is {spec.dtype}: pass samples=... to compare this model")
        if n * int(np.prod(shape, dtype=np.float64)) * 8 > _GENERATED_BYTES_LIMIT:
            raise ValueError(
                f"input {spec.name!r} has shape {_shape_text(spec.shape)}: {n} generated samples would not fit in "
                "memory; pass samples=... (fewer, or smaller)"
            )
        if dtype.kind == "f":
            low, high = ranges.get(spec.name, (0.0, 1.0))
            arrays[spec.name] = rng.uniform(low, high, size=(n, *shape)).astype(dtype)
            described.append(f"{spec.name} uniform [{low:.3g}, {high:.3g})" + (" (calibrated range)" if spec.name in ranges else ""))
        elif dtype.kind == "b":
            arrays[spec.name] = rng.random((n, *shape)) < 0.5
            described.append(f"{spec.name} random booleans")
        else:
            arrays[spec.name] = rng.integers(0, 10, size=(n, *shape)).astype(dtype)
            described.append(f"{spec.name} integers in [0, 10)")
    origin = (
        f"generated from the input signature: {n} random samples ({'; '.join(described)}), not real data; "
        "pass samples=... for numbers that mean something"
    )
    return SampleSet(arrays, origin, "generated")


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
