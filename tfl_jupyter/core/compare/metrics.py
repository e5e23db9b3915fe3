"""Error metrics between a reference output and a converted model's output (NumPy only).

All metrics are computed in float64 over every sample and element of one output:

- ``max_abs_error``, ``mean_abs_error``, ``rmse``: of ``candidate - reference``;
- ``cosine_similarity``: per sample (each sample's output flattened), averaged over samples;
  1.0 where both vectors are zero;
- ``sqnr_db``: ``10 log10(sum(reference^2) / sum((candidate - reference)^2))``, +inf when exact;
- for outputs that look like class scores (shape ``(samples, classes)``, 2+ classes):
  ``top1_agreement`` (same arg-max), and with more than 5 classes ``top5_agreement``
  (the reference's top class is among the candidate's top 5).
"""

from __future__ import annotations

from typing import Dict

import numpy as np

METRIC_COLUMNS = ("max_abs_error", "mean_abs_error", "rmse", "cosine_similarity", "sqnr_db")
CLASS_COLUMNS = ("top1_agreement", "top5_agreement")
# For each metric, whether bigger is better (to find the worst output and for styling).
HIGHER_IS_BETTER = {
    "max_abs_error": False,
    "mean_abs_error": False,
    "rmse": False,
    "cosine_similarity": True,
    "sqnr_db": True,
    "top1_agreement": True,
    "top5_agreement": True,
}


def looks_like_class_scores(reference: np.ndarray) -> bool:
    """Whether an output is ``(samples, classes)`` with at least two classes (non-batch dims of 1 ignored)."""
    shape = [d for d in reference.shape[1:] if d != 1]
    return reference.ndim >= 2 and len(shape) == 1 and shape[0] >= 2 and reference.dtype.kind == "f"


def output_metrics(reference: np.ndarray, candidate: np.ndarray) -> Dict[str, float]:
    """Error metrics of ``candidate`` against ``reference`` (same shape, samples first).

    Parameters
    ----------
    reference, candidate : numpy.ndarray
        Float arrays of the same shape.

    Returns
    -------
    dict
        The keys of ``METRIC_COLUMNS`` and, for class scores, ``top1_agreement``
        (and ``top5_agreement`` above 5 classes).

    Raises
    ------
    ValueError
        The shapes differ.
    """
    reference = np.asarray(reference)
    candidate = np.asarray(candidate)
    if reference.shape != candidate.shape:
        raise ValueError(f"output shapes differ: reference {reference.shape}, converted {candidate.shape}")
    ref = reference.astype(np.float64)
    out = candidate.astype(np.float64)
    diff = out - ref
    signal = float(np.sum(ref * ref))
    noise = float(np.sum(diff * diff))
    metrics = {
        "max_abs_error": float(np.max(np.abs(diff))) if diff.size else 0.0,
        "mean_abs_error": float(np.mean(np.abs(diff))) if diff.size else 0.0,
        "rmse": float(np.sqrt(np.mean(diff * diff))) if diff.size else 0.0,
        "cosine_similarity": _cosine(ref, out),
        "sqnr_db": _sqnr_db(signal, noise),
    }
    if looks_like_class_scores(reference):
        metrics.update(_agreement(ref.reshape(len(ref), -1), out.reshape(len(out), -1)))
    return metrics


def _cosine(ref: np.ndarray, out: np.ndarray) -> float:
    if ref.ndim == 0 or len(ref) == 0:
        return 1.0
    a = ref.reshape(len(ref), -1)
    b = out.reshape(len(out), -1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.sum(a * b, axis=1)
    both_zero = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(both_zero, 1.0, 0.0))
    return float(np.mean(cosines))


def _sqnr_db(signal: float, noise: float) -> float:
    if noise == 0:
        return float("inf")
    if signal == 0:
        return float("-inf")
    return float(10 * np.log10(signal / noise))


def _agreement(ref: np.ndarray, out: np.ndarray) -> Dict[str, float]:
    top_ref = np.argmax(ref, axis=1)
    result = {"top1_agreement": float(np.mean(np.argmax(out, axis=1) == top_ref))}
    if ref.shape[1] > 5:
        top5 = np.argpartition(-out, 4, axis=1)[:, :5]
        result["top5_agreement"] = float(np.mean(np.any(top5 == top_ref[:, None], axis=1)))
    return result
