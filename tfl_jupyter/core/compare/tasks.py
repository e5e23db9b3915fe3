"""Task metrics: accuracy against labels, and the user's own metrics, for every model compared.

Labels are matched to outputs (one array for a one-output model, a dict by output name
otherwise) and checked before anything runs (count) and once the outputs are known (fit).
Per labelled output:

- class scores (``(samples, classes)``) with integer class ids or one-hot labels:
  ``accuracy`` (top-1) and, above 5 classes, ``top5_accuracy``;
- anything else with labels of the output's size: ``mae`` and ``rmse``;
- each user metric ``fn(y_true, y_pred) -> float`` by its name.

With several labelled outputs the columns are ``<output>/<metric>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .metrics import looks_like_class_scores

@dataclass(frozen=True)
class TaskSpec:
    """Labels by output name (one entry per compared sample) and the user's metrics by name.

    ``labels`` are normalized (class ids for class scores, float targets otherwise); ``raw``
    are the labels as given, which the user's metrics receive.
    """

    labels: Dict[str, np.ndarray]
    raw: Dict[str, np.ndarray]
    metrics: Dict[str, Callable]

    def __bool__(self) -> bool:
        return bool(self.labels)


NO_TASK = TaskSpec({}, {}, {})


def split_dataset(dataset, n: Optional[int]) -> Tuple[list, list]:
    """A ``tf.data.Dataset`` of ``(x, y)`` pairs -> (list of x elements, list of y elements), at most ``n`` elements.

    Raises
    ------
    ValueError
        The elements are not ``(x, y)`` pairs.
    """
    xs, ys, count = [], [], 0
    for element in dataset.as_numpy_iterator():
        if not (isinstance(element, tuple) and len(element) == 2):
            raise ValueError("labels= as a tf.data.Dataset needs (x, y) pairs: map it with "
                             "dataset.map(lambda x, y: (x, y)) or pass labels as an array")
        xs.append(element[0])
        ys.append(element[1])
        count += 1
        if n is not None and count >= n:
            break
    return xs, ys


def labels_from_pairs(ys: list, batched: bool) -> np.ndarray:
    """The ``y`` parts of a dataset's pairs as one array, samples first."""
    return np.concatenate([np.atleast_1d(y) for y in ys]) if batched else np.stack([np.asarray(y) for y in ys])


def check_metrics(metric: Any) -> Dict[str, Callable]:
    """``metric=`` as ``{name: fn}``.

    Raises
    ------
    TypeError
        Not a callable or a dict of callables.
    """
    if metric is None:
        return {}
    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        return {"metric" if name == "<lambda>" else name: metric}
    if isinstance(metric, dict) and all(callable(f) for f in metric.values()):
        return {str(k): f for k, f in metric.items()}
    raise TypeError("metric= takes a function fn(y_true, y_pred) -> float, or a dict {name: fn}")


def check_label_count(labels: Any, n_samples: int, given: Optional[int]) -> Dict[str, np.ndarray] | np.ndarray:
    """Labels as arrays (a dict stays a dict), checked against the number of samples.

    Parameters
    ----------
    labels : array, list or dict of them
    n_samples : int
        Samples compared (after ``n``).
    given : int or None
        Samples given, where known: the labels must match it exactly.

    Raises
    ------
    ValueError
        A count that does not fit, or labels that are not numbers.
    """
    if isinstance(labels, dict):
        return {str(k): _one_label_array(v, n_samples, given, f"labels[{k!r}]") for k, v in labels.items()}
    return _one_label_array(labels, n_samples, given, "labels")


def _one_label_array(values: Any, n_samples: int, given: Optional[int], what: str) -> np.ndarray:
    if hasattr(values, "numpy"):
        values = values.numpy()
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        raise ValueError(f"{what} is ragged: give one label of the same shape per sample") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} has dtype {array.dtype}: labels must be numbers (class ids, one-hot or targets); "
                        "map strings to class ids first")
    if array.ndim == 0:
        raise ValueError(f"{what} is a single value: give one label per sample")
    expected = given if given is not None else n_samples
    if len(array) != expected and not (given is None and len(array) > n_samples):
        raise ValueError(f"{what} has {len(array)} entries but {expected} samples were given: give exactly one label per sample")
    return array[:n_samples]


def task_spec(labels, metrics: Dict[str, Callable], outputs: Dict[str, np.ndarray]) -> TaskSpec:
    """The TaskSpec of counted labels (see :func:`check_label_count`) against the reference ``outputs``."""
    if labels is None:
        return NO_TASK
    raw = raw_by_output(labels, outputs)
    return TaskSpec({name: _fit_labels(name, y, outputs[name]) for name, y in raw.items()}, raw, metrics)


def raw_by_output(labels, outputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """``{output name: labels}`` as given.

    Raises
    ------
    ValueError
        Unknown output names, or several outputs without a dict.
    """
    names = list(outputs)
    if not isinstance(labels, dict):
        if len(names) != 1:
            raise ValueError(f"the model has {len(names)} outputs ({', '.join(names)}): pass labels as a dict "
                             f"{{output name: labels}}, e.g. labels={{{names[0]!r}: y}}")
        labels = {names[0]: labels}
    unknown = [k for k in labels if k not in outputs]
    if unknown:
        raise ValueError(f"labels for {unknown[0]!r}, which is not an output: the outputs are {', '.join(names)}")
    return dict(labels)


def _fit_labels(name: str, y: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Class ids (int64) for class scores labelled by id or one-hot; float targets of the output's shape otherwise."""
    classes = output.reshape(len(output), -1).shape[1] if output.ndim else 1
    scores = looks_like_class_scores(output)
    if scores and y.size == len(output):
        ids = y.reshape(-1)
        if ids.dtype.kind == "f" and not np.all(np.mod(ids, 1) == 0):
            raise TypeError(f"labels for {name!r} are fractional but the output holds {classes} class scores: "
                            f"give integer class ids, or one-hot rows of length {classes}")
        if ids.size and (ids.min() < 0 or ids.max() >= classes):
            raise ValueError(f"labels for {name!r} run from {ids.min()} to {ids.max()} but the output has "
                             f"{classes} classes (0 to {classes - 1}): give class ids in that range")
        return ids.astype(np.int64)
    if y.size == output.size:
        rows = y.reshape(len(output), -1)
        if scores and np.isin(rows, (0, 1)).all() and np.all(rows.sum(axis=1) == 1):  # one-hot
            return np.argmax(rows, axis=1)
        return y.reshape(output.shape).astype(np.float64)
    expected = f"one class id per sample, shape ({len(output)},), or one-hot rows ({len(output)}, {classes})" if scores \
        else "one target of the output's shape per sample"
    raise ValueError(f"labels for {name!r} have shape {y.shape} but the output is {output.shape}: give {expected}")


def task_row(spec: TaskSpec, outputs: Dict[str, np.ndarray], model: str) -> Dict[str, float]:
    """The task metrics of one model's outputs: ``{column: value}``.

    Raises
    ------
    ValueError
        A user metric raised or did not return a number; the message names the metric.
    """
    several = len(spec.labels) > 1
    row: Dict[str, float] = {}
    for name, y in spec.labels.items():
        prefix = f"{name}/" if several else ""
        pred = np.asarray(outputs[name])
        if y.dtype.kind == "i":
            scores = pred.reshape(len(pred), -1).astype(np.float64)
            row[prefix + "accuracy"] = float(np.mean(np.argmax(scores, axis=1) == y)) if len(y) else float("nan")
            if scores.shape[1] > 5:
                top5 = np.argpartition(-scores, 4, axis=1)[:, :5]
                row[prefix + "top5_accuracy"] = float(np.mean(np.any(top5 == y[:, None], axis=1)))
        else:
            diff = pred.astype(np.float64) - y
            row[prefix + "mae"] = float(np.mean(np.abs(diff)))
            row[prefix + "rmse"] = float(np.sqrt(np.mean(diff * diff)))
        for metric_name, fn in spec.metrics.items():
            row[prefix + metric_name] = _call_metric(metric_name, fn, spec.raw[name], pred, model)
    return row


def _call_metric(name: str, fn: Callable, y_true: np.ndarray, y_pred: np.ndarray, model: str) -> float:
    try:
        value = fn(y_true, y_pred)
    except Exception as exc:  # the user's code: any error, reported in one line
        raise ValueError(f"metric {name!r} raised {type(exc).__name__}: {exc} (on the {model} outputs, called as "
                         f"fn(y_true{list(y_true.shape)}, y_pred{list(y_pred.shape)})): fix the metric") from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"metric {name!r} returned {type(value).__name__}, not a number: make it return a float") from None


def task_frame(spec: TaskSpec, models: Dict[str, Dict[str, np.ndarray]]):
    """``comparison.task_metrics``: one row per model measured (``models``' order, None skipped), one column per metric."""
    import pandas as pd

    rows = {model: task_row(spec, outputs, model) for model, outputs in models.items() if outputs is not None}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "model"
    return frame


def differences(frame) -> Dict[str, float]:
    """``converted - reference`` per column (accuracies in points, i.e. percentage points)."""
    if "converted" not in frame.index or "reference" not in frame.index:
        return {}
    delta = frame.loc["converted"] - frame.loc["reference"]
    return {c: float(delta[c]) * (100 if _is_accuracy(c) else 1) for c in frame.columns}


def _is_accuracy(column: str) -> bool:
    return column.rpartition("/")[2] in ("accuracy", "top5_accuracy")


def difference_text(frame) -> List[str]:
    """One phrase per column: ``accuracy 97.1% -> 95.4% (-1.7 points)``."""
    phrases = []
    for column, delta in differences(frame).items():
        ref, conv = frame.loc["reference", column], frame.loc["converted", column]
        if _is_accuracy(column):
            phrases.append(f"{column} {ref:.1%} -> {conv:.1%} ({delta:+.1f} points)")
        else:
            phrases.append(f"{column} {ref:.4g} -> {conv:.4g} ({delta:+.4g})")
    return phrases


def task_formats(columns) -> Dict[str, str]:
    """Styler formats for the task columns among ``columns``: accuracies as percentages."""
    return {c: "{:.2%}" for c in columns if _is_accuracy(str(c))}


def style_task(frame):
    """A Styler: accuracies as percentages, the rest with 4 significant digits."""
    return frame.style.format({**{c: "{:.4g}" for c in frame.columns}, **task_formats(frame.columns)}, na_rep="-")
