"""Representative datasets: accept what users have, check it against the model, feed the converter.

Accepted forms: a generator function, a ``tf.data.Dataset``, a NumPy array (samples on the
first axis), a list of samples, or a dict of arrays keyed by input name. The first sample
is checked against the model's inputs before calibration starts, so a mismatch is reported
in one line instead of deep inside the calibrator.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from .sources import InputSpec


class DatasetError(ValueError):
    """The representative dataset does not fit the model."""


_HOW_TO = "yield one batch per step, e.g. `yield [x[i:i+1]]`, or pass the array itself"


class SampleStream:
    """The raw samples of a dataset, before any checking: what crosses to a worker process.

    Parameters
    ----------
    make_iterator : callable
        Returns a fresh iterator of raw samples.
    from_tf_data : bool
        The samples come from a ``tf.data.Dataset``, whose ``(x, y)`` pairs lose ``y``
        when the model has one input.
    """

    def __init__(self, make_iterator: Callable[[], Iterator], from_tf_data: bool = False):
        self.make_iterator = make_iterator
        self.from_tf_data = from_tf_data

    @classmethod
    def of(cls, dataset: Any, specs: Optional[Sequence[InputSpec]] = None) -> "SampleStream":
        """Wrap any accepted dataset form (see the module docstring)."""
        if isinstance(dataset, SampleStream):
            return dataset
        return cls(_iterator_factory(dataset, specs), from_tf_data=is_tf_dataset(dataset))

    def __call__(self) -> Iterator:
        return self.make_iterator()


class CalibrationData:
    """A checked, normalized representative dataset, callable the way the converter expects.

    Parameters
    ----------
    dataset : object or SampleStream
        The user's dataset, in any accepted form.
    specs : list of InputSpec, optional
        The model's inputs; without them only the structure is checked.
    by_name : bool
        Yield dicts keyed by input name (SavedModel signatures) instead of lists.
    ordered : bool
        ``specs`` are in the model's positional order, so list samples can be matched to
        them; for a SavedModel's signature they are not, and multi-input samples must be dicts.
    on_sample : callable, optional
        Called with the running sample count, e.g. for a progress bar.
    """

    def __init__(self, dataset: Any, specs: Optional[Sequence[InputSpec]] = None, *, by_name: bool = False,
                 ordered: bool = True, on_sample: Optional[Callable[[int], None]] = None):
        self.specs = list(specs) if specs else None
        self.by_name = by_name
        self.ordered = ordered
        self.on_sample = on_sample
        self.samples_seen = 0
        stream = SampleStream.of(dataset, self.specs)
        self._make_iterator = stream.make_iterator
        self._drops_labels = stream.from_tf_data and self.specs is not None and len(self.specs) == 1
        self._pending = self._make_iterator()
        try:
            first = next(self._pending)
        except StopIteration:
            raise DatasetError("the representative dataset is empty: give it at least one sample (100 to 500 is typical)") from None
        self.first_sample = self._normalize(first, index=0)
        self._pending = itertools.chain([first], self._pending)

    def __call__(self) -> Iterator:
        source, self._pending = (self._pending or self._make_iterator()), None
        samples = (self._counted(sample, index) for index, sample in enumerate(source))
        batch = _fixed_batch(self.specs)
        yield from (_batched(samples, batch) if batch > 1 else samples)

    def _counted(self, sample: Any, index: int):
        self.samples_seen = index + 1
        if self.on_sample is not None:
            self.on_sample(self.samples_seen)
        return self._normalize(sample, index)

    def _normalize(self, sample: Any, index: int):
        if isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[0], str) and isinstance(sample[1], dict):
            return sample  # (signature_key, {name: array}): the converter's own multi-signature form
        if self._drops_labels and isinstance(sample, tuple) and len(sample) == 2:
            sample = sample[0]
        if isinstance(sample, dict):
            arrays = {str(k): _as_array(v) for k, v in sample.items()}
            if self.specs:
                arrays = self._check_named(arrays, index)
            return arrays
        if isinstance(sample, (list, tuple)):
            arrays = [_as_array(v) for v in sample]
        else:
            arrays = [_as_array(sample)]
        if self.specs:
            arrays = self._check_positional(arrays, index)
            if self.by_name:
                return {spec.name: array for spec, array in zip(self.specs, arrays)}
        elif self.by_name:
            raise DatasetError(
                "this SavedModel converts several signatures: pass signature_keys=[...] to calibrate one of "
                "them, or yield (signature_key, {input_name: array}) tuples"
            )
        return arrays

    def _check_positional(self, arrays: list, index: int) -> list:
        if len(arrays) != len(self.specs):
            names = ", ".join(repr(s.name) for s in self.specs)
            raise DatasetError(
                f"representative dataset sample {index} has {len(arrays)} array(s) but the model has "
                f"{len(self.specs)} input(s) ({names}): yield a list with one array per input, in that order"
            )
        if not self.ordered and len(arrays) > 1:
            names = ", ".join(repr(s.name) for s in self.specs)
            raise DatasetError(
                f"representative dataset sample {index}: this SavedModel's inputs ({names}) are matched by name; "
                "yield a dict {input_name: array} instead of a list"
            )
        return [_fit(array, spec, index) for array, spec in zip(arrays, self.specs)]

    def _check_named(self, arrays: dict, index: int) -> dict:
        expected = {s.name for s in self.specs}
        unknown = sorted(set(arrays) - expected)
        missing = sorted(expected - set(arrays))
        if unknown or missing:
            raise DatasetError(
                f"representative dataset sample {index}: input names {sorted(arrays)} do not match the model's "
                f"{sorted(expected)}" + (f" (unknown: {unknown})" if unknown else "") + (f" (missing: {missing})" if missing else "")
            )
        return {s.name: _fit(arrays[s.name], s, index) for s in self.specs}


def _fixed_batch(specs) -> int:
    """The batch every input of a model traced at fixed shapes takes (1 where it is dynamic)."""
    batches = {spec.shape[0] if spec.shape else None for spec in specs or ()}
    return batches.pop() if len(batches) == 1 and None not in batches else 1


def _batched(samples: Iterator, size: int) -> Iterator:
    """Samples of batch 1 joined into batches of ``size`` (a model traced at a fixed batch
    cannot be resized to one sample); samples of any other batch pass as they are."""
    pending: list = []
    for sample in samples:
        arrays = sample.values() if isinstance(sample, dict) else sample
        if isinstance(sample, tuple) or any(len(a.shape) == 0 or a.shape[0] != 1 for a in arrays):
            yield sample
            continue
        pending.append(sample)
        if len(pending) == size:
            yield _joined(pending)
            pending = []
    if pending:  # the last, partial batch: filled up with its own last sample (no new ranges)
        yield _joined(pending + pending[-1:] * (size - len(pending)))


def _joined(samples: list):
    if isinstance(samples[0], dict):
        return {name: np.concatenate([s[name] for s in samples]) for name in samples[0]}
    return [np.concatenate(parts) for parts in zip(*samples)]


def _iterator_factory(dataset: Any, specs) -> Callable[[], Iterator]:
    """Return a function making a fresh iterator of the dataset's raw samples."""
    if dataset is None:
        raise DatasetError("no representative dataset given")
    if is_tf_dataset(dataset):
        return lambda: iter(dataset.as_numpy_iterator())
    if isinstance(dataset, np.ndarray):
        return lambda: _split_array(dataset, specs)
    if isinstance(dataset, dict):
        return lambda: _split_dict(dataset)
    if isinstance(dataset, (list, tuple)):
        return lambda: iter(dataset)
    if callable(dataset):
        def call() -> Iterator:
            produced = dataset()
            if produced is None or not hasattr(produced, "__iter__"):
                raise TypeError(
                    f"the representative dataset function returned {type(produced).__name__}, not an iterable: "
                    f"make it a generator ({_HOW_TO})"
                )
            return iter(produced)
        return call
    if hasattr(dataset, "__iter__"):
        iterator = iter(dataset)  # one-shot (a generator object): usable for one conversion
        return lambda: iterator
    raise TypeError(
        f"a {type(dataset).__name__} cannot be a representative dataset: pass a generator function, "
        "a tf.data.Dataset, a NumPy array, a list of samples, or a dict of arrays keyed by input name"
    )


def is_tf_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a ``tf.data.Dataset``, checked without importing TensorFlow."""
    return any(cls.__name__ == "DatasetV2" and "tensorflow" in cls.__module__ for cls in type(obj).__mro__)


def _split_array(array: np.ndarray, specs) -> Iterator:
    rank = len(specs[0].shape) if specs and len(specs) == 1 and specs[0].shape else None
    if rank is not None and array.ndim == rank - 1:
        yield [array[np.newaxis]]  # a single sample without its batch dimension
        return
    for i in range(len(array)):
        yield [array[i : i + 1]]


def _split_dict(arrays: dict) -> Iterator:
    lengths = {name: len(value) for name, value in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"the representative dataset dict has arrays of different lengths {lengths}: give every input the same number of samples")
    for i in range(next(iter(lengths.values()), 0)):
        yield {name: np.asarray(value)[i : i + 1] for name, value in arrays.items()}


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def _fit(array: np.ndarray, spec: InputSpec, index: int) -> np.ndarray:
    """Cast and add a batch dimension where that is clearly what was meant; else explain."""
    where = f"representative dataset sample {index}, input {spec.name!r}"
    if spec.shape and array.ndim == len(spec.shape) - 1 and spec.shape[0] in (None, 1):
        array = array[np.newaxis]
    if spec.shape and not _shape_fits(array.shape, spec.shape):
        raise DatasetError(
            f"{where}: shape {tuple(array.shape)} does not fit the model's {_shape_text(spec.shape)}; {_HOW_TO}"
        )
    return _cast(array, spec.dtype, where)


def _shape_fits(shape: tuple, expected: tuple) -> bool:
    if len(shape) != len(expected):
        return False
    # The batch dimension may differ: the calibrator resizes the input to the sample.
    return all(e is None or s == e or i == 0 for i, (s, e) in enumerate(zip(shape, expected)))


def _cast(array: np.ndarray, dtype: str, where: str) -> np.ndarray:
    if array.dtype.name == dtype:
        return array
    target = np.dtype(dtype) if dtype not in ("string",) else None
    if target is None or array.dtype.kind in "OSU" or (target.kind in "iub" and array.dtype.kind == "f"):
        raise DatasetError(f"{where}: dtype {array.dtype.name} does not fit the model's {dtype}; convert it with .astype({dtype!r})")
    return array.astype(target)


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")
