"""Task accuracy (``labels=``, ``metric=``) and the calibration checks, on real conversions of tiny models.

Accuracies and metrics are checked against an independent NumPy computation on the same
predictions; the accuracy drop on a model built to lose it under int8, and its recovery by
requantizing; each calibration warning on a dataset built to trigger it, and not on a clean one.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.calibration_checks import ADVISED_SAMPLES, check_dataset
from tfl_jupyter.core.sources import InputSpec


# ---- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_classes(keras):
    """A 16 -> 10 softmax classifier with seeded weights (top-5 accuracy applies)."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((16,), name="x")
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))


@pytest.fixture(scope="module")
def x16():
    return np.random.default_rng(1).normal(size=(200, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def y10(x16):
    return np.random.default_rng(2).integers(0, 10, size=len(x16))


@pytest.fixture(scope="module")
def ten_int8(ten_classes, x16):
    return tj.convert(ten_classes, quantize="int8", representative_dataset=x16)


@pytest.fixture(scope="module")
def labelled(ten_int8, x16, y10):
    return ten_int8.compare(x16, n=None, labels=y10, float_tflite=True, progress=False)


@pytest.fixture(scope="module")
def close_logits(keras):
    """Three logits sharing a big common term and differing by far less than one int8 step.

    ``z_c = 100 x_0 + 0.05 (v_c . x)``: the output's int8 range spans about +-300 (a step of
    about 2.4), and the per-channel weights' step is about 0.8, so int8 ties or scrambles
    the classes that float tells apart; keeping FULLY_CONNECTED in float recovers them.
    """
    inputs = keras.Input((4,), name="x")
    layer = keras.layers.Dense(3, use_bias=False, name="logits")
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    weights = np.zeros((4, 3), np.float32)
    weights[0, :] = 100.0
    weights[1:, :] = 0.05 * np.array([[1, -1, 0], [0, 1, -1], [-1, 0, 1]], np.float32)
    layer.set_weights([weights])
    return model


# ---- accuracy against NumPy --------------------------------------------------------------


def numpy_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(scores.argmax(axis=1) == y))


def numpy_top5(scores: np.ndarray, y: np.ndarray) -> float:
    top = np.argsort(-scores, axis=1)[:, :5]
    return float(np.mean([label in row for label, row in zip(y, top)]))


def test_task_metrics_match_numpy_for_every_model(labelled, y10):
    table = labelled.task_metrics
    assert list(table.index) == ["reference", "float_tflite", "converted"]
    assert list(table.columns) == ["accuracy", "top5_accuracy"]
    predictions = {"reference": labelled.reference_outputs, "float_tflite": labelled.float_outputs, "converted": labelled.outputs}
    for model, outputs in predictions.items():
        scores = outputs["output_0"]
        assert table.loc[model, "accuracy"] == pytest.approx(numpy_accuracy(scores, y10), abs=0)
        assert table.loc[model, "top5_accuracy"] == pytest.approx(numpy_top5(scores, y10), abs=0)


def test_one_hot_labels_give_the_same_accuracy(ten_int8, x16, y10, labelled):
    one_hot = np.eye(10, dtype=np.float32)[y10]
    again = ten_int8.compare(x16, n=None, labels=one_hot, progress=False).task_metrics
    assert again.loc["converted", "accuracy"] == labelled.task_metrics.loc["converted", "accuracy"]


def test_display_shows_task_metrics_above_the_agreement_table_with_the_difference(labelled):
    html = labelled._repr_html_()
    assert html.index("Task metrics") < html.index("Agreement with the reference") < html.index("cosine_similarity")
    assert "points)" in html and "points)" in repr(labelled)


def test_user_metrics_are_called_on_every_model_with_the_labels_as_given(labelled, ten_int8, x16, y10):
    seen = []

    def macro_recall(y_true, y_pred):
        seen.append((y_true.shape, y_pred.shape))
        hits = y_pred.argmax(axis=1) == y_true
        return float(np.mean([hits[y_true == c].mean() for c in np.unique(y_true)]))

    comparison = ten_int8.compare(x16, n=None, labels=y10, metric={"recall": macro_recall, "mean_score": lambda t, p: p.max(axis=1).mean()},
                                  progress=False)
    assert seen == [((200,), (200, 10))] * 2  # reference, converted
    table = comparison.task_metrics
    assert list(table.columns) == ["accuracy", "top5_accuracy", "recall", "mean_score"]
    scores = comparison.outputs["output_0"]
    expected = np.mean([(scores.argmax(axis=1) == y10)[y10 == c].mean() for c in range(10)])
    assert table.loc["converted", "recall"] == pytest.approx(expected)
    assert table.loc["converted", "mean_score"] == pytest.approx(scores.max(axis=1).mean())


def test_targets_of_the_outputs_shape_get_mae_and_rmse(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="dynamic")
    targets = np.random.default_rng(4).random((32, 3))
    comparison = result.compare(calib, labels=targets, progress=False)
    assert list(comparison.task_metrics.columns) == ["mae", "rmse"]
    diff = comparison.outputs["output_0"].astype(np.float64) - targets
    assert comparison.task_metrics.loc["converted", "mae"] == pytest.approx(np.abs(diff).mean())
    assert comparison.task_metrics.loc["converted", "rmse"] == pytest.approx(np.sqrt((diff**2).mean()))


def test_multi_output_labels_by_output_name(two_outputs):
    result = tj.convert(two_outputs, quantize="dynamic")
    rng = np.random.default_rng(6)
    samples = {"zeta": rng.normal(size=(20, 4)).astype(np.float32), "alpha": rng.normal(size=(20, 3)).astype(np.float32)}
    targets, classes = rng.normal(size=(20, 2)), rng.integers(0, 5, size=20)
    comparison = result.compare(samples, labels={"output_0": targets, "output_1": classes}, progress=False)
    table = comparison.task_metrics
    assert set(table.columns) == {"output_0/mae", "output_0/rmse", "output_1/accuracy"}
    diff = comparison.outputs["output_0"].astype(np.float64) - targets
    assert table.loc["converted", "output_0/mae"] == pytest.approx(np.abs(diff).mean())
    assert table.loc["converted", "output_0/rmse"] == pytest.approx(np.sqrt((diff**2).mean()))
    assert table.loc["converted", "output_1/accuracy"] == numpy_accuracy(comparison.outputs["output_1"], classes)
    with pytest.raises(ValueError, match=r"has 2 outputs .*labels=\{'output_0': y\}"):
        result.compare(samples, labels=classes, progress=False)


@pytest.mark.parametrize("batch", [None, 8])
def test_a_dataset_of_pairs_gives_samples_and_labels(ten_int8, x16, y10, labelled, tf, batch):
    dataset = tf.data.Dataset.from_tensor_slices((x16, y10))
    dataset = dataset.batch(batch) if batch else dataset
    comparison = ten_int8.compare(n=200, labels=dataset, progress=False)
    assert comparison.n_samples == 200
    assert comparison.task_metrics.loc["converted", "accuracy"] == labelled.task_metrics.loc["converted", "accuracy"]


def test_n_takes_the_first_labels(ten_int8, x16, y10):
    comparison = ten_int8.compare(x16, n=50, labels=y10, progress=False)
    assert comparison.task_metrics.loc["converted", "accuracy"] == numpy_accuracy(comparison.outputs["output_0"], y10[:50])


# ---- a model int8 loses, and the fix --------------------------------------------------------


def test_int8_drop_shows_and_requantizing_the_culprit_recovers_it(close_logits):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x.astype(np.float64) @ close_logits.get_layer("logits").get_weights()[0]).argmax(axis=1)  # exact labels
    result = tj.convert(close_logits, quantize="int8", representative_dataset=x)
    comparison = result.compare(x, n=None, labels=y, progress=False)
    accuracy = comparison.task_metrics["accuracy"]
    assert accuracy["reference"] > 0.98
    assert accuracy["converted"] < 0.8, accuracy
    fixed = comparison.requantize(["FULLY_CONNECTED"])
    table = fixed.table
    assert table.loc["before", "accuracy"] == accuracy["converted"]
    assert table.loc["after", "accuracy"] > 0.95, table
    direct = result.requantize(["FULLY_CONNECTED"], samples=x, n=None, labels=y).table  # the same from the result
    assert list(direct["accuracy"]) == list(table["accuracy"])


# ---- bad input: one line naming the fix, nothing stored -------------------------------------


@pytest.mark.parametrize(
    "labels, metric, error, message",
    [
        (np.zeros(10, int), None, ValueError, r"^labels has 10 entries but 200 samples were given: give exactly one label per sample$"),
        (np.array(["cat"] * 200), None, TypeError, r"labels must be numbers .*map strings to class ids first"),
        (np.full(200, 0.5), None, TypeError, r"fractional .*give integer class ids, or one-hot rows of length 10"),
        (np.full(200, 12), None, ValueError, r"run from 12 to 12 but the output has 10 classes .*give class ids in that range"),
        (np.zeros((200, 3)), None, ValueError, r"shape \(200, 3\) but the output is \(200, 10\)"),
        (np.zeros(200, int), lambda t, p: 1 / 0, ValueError, r"^metric 'metric' raised ZeroDivisionError: .*: fix the metric$"),
        (np.zeros(200, int), lambda t, p: "good", ValueError, r"returned str, not a number: make it return a float"),
        (None, lambda t, p: 0.0, ValueError, r"metric= needs labels="),
        (np.zeros(200, int), 3, TypeError, r"metric= takes a function"),
    ],
    ids=["length", "strings", "fractional", "out-of-range", "shape", "metric-raises", "metric-not-a-number", "metric-without-labels", "metric-type"],
)
def test_bad_labels_and_metrics_fail_in_one_line_and_store_nothing(ten_classes, x16, labels, metric, error, message):
    result = tj.convert(ten_classes, quantize="int8", representative_dataset=x16)
    with pytest.raises(error, match=message) as caught:
        result.compare(x16, n=None, labels=labels, metric=metric, progress=False)
    assert "\n" not in str(caught.value)
    assert result.calibration_report.after is None  # the result's report is what was known at conversion


# ---- calibration checks ----------------------------------------------------------------------

SPECS = [InputSpec(name="x", dtype="float32", shape=(None, 4))]


def clean() -> np.ndarray:
    return np.random.default_rng(8).random((ADVISED_SAMPLES, 4)).astype(np.float32)


def test_a_clean_dataset_raises_no_finding():
    check = check_dataset(clean(), SPECS)
    assert check.checked and check.samples == ADVISED_SAMPLES and check.findings == ()
    assert check.stats["x"].low >= 0 and check.stats["x"].high < 1


@pytest.mark.parametrize(
    "spoil, check_name, message",
    [
        (lambda d: d.__setitem__((3, 1), np.nan), "non-finite", r"input 'x': NaN or Inf in 1 of 100 calibration samples \(sample 3\)"),
        (lambda d: d.__setitem__((7, 0), np.inf), "non-finite", r"\(sample 7\)"),
        (lambda d: d.__setitem__(slice(None), 0.5), "constant", r"input 'x' is constant \(0.5\)"),
    ],
    ids=["nan", "inf", "constant"],
)
def test_each_dataset_problem_is_found(spoil, check_name, message):
    data = clean()
    spoil(data)
    check = check_dataset(data, SPECS)
    assert [f.check for f in check.findings] == [check_name]
    assert re.search(message, check.findings[0].message), check.findings[0].message


@pytest.mark.parametrize("form", ["array", "list", "dict"])
def test_few_samples_in_any_in_memory_form(form):
    data = clean()[:20]
    dataset = {"array": data, "list": [row[None] for row in data], "dict": {"x": data}}[form]
    check = check_dataset(dataset, SPECS)
    assert [f.check for f in check.findings] == ["few samples"]
    assert "only 20 calibration samples: TensorFlow's quantization guide advises about 100 to 500" in check.findings[0].message


def test_a_generator_is_not_read_but_its_count_is_checked():
    check = check_dataset(lambda: iter([]), SPECS, samples_seen=12)
    assert not check.checked and "not checked" in check.reason and [f.check for f in check.findings] == ["few samples"]


def test_wrong_scale_calibration_is_caught_before_and_after(tiny_model):
    rng = np.random.default_rng(9)
    evaluation = rng.random((200, 8)).astype(np.float32)  # 0-1, what the model sees
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=evaluation / 255)  # scaled twice
    assert result.calibration_report.ok  # nothing wrong with the dataset on its own
    report = result.compare(evaluation, n=None, progress=False).calibration_report
    checks = [f.check for f in report.findings]
    assert checks[0] == "range mismatch" and "clipped" in checks
    assert "input 'features': calibration samples range over [" in report.warnings[0]
    assert "but the comparison samples over [" in report.warnings[0]
    clipped = report.clipping.set_index("tensor").loc["features", "clipped"]
    outside = np.mean(evaluation > report.clipping.set_index("tensor").loc["features", "high"])
    assert clipped == pytest.approx(outside) and clipped > 0.9


def test_each_comparison_keeps_its_own_findings_and_the_result_stays_as_converted(tiny_model):
    evaluation = np.random.default_rng(12).random((200, 8)).astype(np.float32)
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=evaluation / 255)
    before = repr(result.calibration_report)
    mismatched = result.compare(evaluation, n=None, progress=False)
    matching = result.compare(evaluation / 255, n=None, progress=False)  # the calibration data itself
    assert matching.calibration_report.ok, matching.calibration_report.warnings
    assert matching.calibration_report.clipping.loc[0, "clipped"] < 0.01
    assert [f.check for f in mismatched.calibration_report.findings][:2] == ["range mismatch", "clipped"]
    assert mismatched.calibration_report.clipping.loc[0, "clipped"] > 0.9  # not overwritten by the later comparison
    assert mismatched.calibration_report.samples_origin == mismatched.samples_origin
    assert result.calibration_report.ok and result.calibration_report.after is None
    assert repr(result.calibration_report) == before
    assert "calibration samples range over" in repr(mismatched) and "calibration samples range over" not in repr(matching)


def test_a_clean_calibration_is_not_flagged_after_either(tiny_model):
    rng = np.random.default_rng(10)
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=rng.normal(size=(200, 8)).astype(np.float32))
    comparison = result.compare(rng.normal(size=(100, 8)).astype(np.float32), progress=False)
    assert comparison.calibration_report.ok, comparison.calibration_report.warnings
    assert list(comparison.calibration_report.clipping["kind"]) == ["input"]
    assert comparison.calibration is not None and comparison.calibration.ok  # the older name


def test_activations_are_checked_once_the_calibrated_model_exists(tiny_model):
    rng = np.random.default_rng(11)
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=rng.normal(size=(200, 8)).astype(np.float32) * 0.01)
    comparison = result.compare(rng.normal(size=(64, 8)).astype(np.float32), progress=False)
    assert "activations: not checked" in repr(comparison.calibration_report)
    comparison.compute_layers()
    report = comparison.calibration_report
    activations = report.clipping[report.clipping["kind"] == "activation"]
    assert len(activations) >= 2 and activations["clipped"].max() > 0.3
    assert list(report.clipping["clipped"]) == sorted(report.clipping["clipped"], reverse=True)  # worst first
    assert any(f.check == "clipped" and f.message.startswith("activation ") for f in report.findings)
    later = result.compare(rng.normal(size=(16, 8)).astype(np.float32), progress=False)  # the calibrated model is cached
    assert "activation" in set(later.calibration_report.clipping["kind"])


def test_report_display(tiny_model, calib):
    result = tj.convert(tiny_model, quantize="int8", representative_dataset=calib)
    assert "only 32 calibration samples" in repr(result.calibration_report)
    assert "only 32 calibration samples" in result.calibration_report._repr_html_()
    assert tj.convert(tiny_model).calibration_report.before is None
