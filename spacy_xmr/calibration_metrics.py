"""How far a confidence can be trusted: reliability bins, expected calibration error, precision against coverage.

Why: a confidence is only useful if "0.9" means right about 90 % of the time on mentions the model did not learn
from. These figures say so from (confidence, correct) pairs, one per linked mention; `spacy-xmr evaluate` writes
them (`calibration_summary`) for predictions that carry a confidence, the project's `report` step and
benchmarks/calibration.py plot and tabulate them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import SpacyXmrError

N_BINS = 10  # equal-width confidence bins of the reliability diagram and the expected calibration error
TARGET_PRECISIONS = (0.9, 0.95)  # the coverage a user gets by keeping only links this precise
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))  # the share kept and its precision at each
COVERAGE_POINTS = 20  # points of the precision-coverage curve: coverage 0.05, 0.10, ..., 1.0


def _checked(confidence: Sequence[float], correct: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    confidence, correct = np.asarray(confidence, dtype=np.float64).ravel(), np.asarray(correct, dtype=bool).ravel()
    if len(confidence) != len(correct):
        raise SpacyXmrError(f"{len(confidence)} confidences but {len(correct)} outcomes: give one of each per mention")
    if len(confidence) and not (np.isfinite(confidence).all() and confidence.min() >= 0 and confidence.max() <= 1):
        raise SpacyXmrError("a confidence is outside [0, 1] or not a number: these metrics read probabilities")
    return confidence, correct


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((confidence * n_bins).astype(int), n_bins - 1)


def reliability_bins(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS) -> list[dict]:
    """For each non-empty equal-width bin of confidence (the last one closed at 1): its range, how many mentions
    fall in it, their mean confidence and their accuracy; a calibrated confidence has the two equal."""
    confidence, correct = _checked(confidence, correct)
    bins = _bin_of(confidence, n_bins)
    return [{"low": b / n_bins, "high": (b + 1) / n_bins, "n": int((bins == b).sum()),
             "mean_confidence": float(confidence[bins == b].mean()), "accuracy": float(correct[bins == b].mean())}
            for b in range(n_bins) if (bins == b).any()]


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS) -> float:
    """The mean gap between confidence and accuracy over `n_bins` equal-width confidence bins, weighted by their size
    (0 without mentions)."""
    rows = reliability_bins(confidence, correct, n_bins)
    n = sum(row["n"] for row in rows)
    return float(sum(abs(row["mean_confidence"] - row["accuracy"]) * row["n"] for row in rows) / n) if n else 0.0


def _ranked_cuts(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(links kept, their precision, the threshold that keeps them) at each distinct confidence, most confident
    first: a threshold keeps every mention at or above it, so tied mentions are kept or dropped together."""
    order = np.argsort(-confidence, kind="stable")
    ordered = confidence[order]
    kept = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True)) + 1
    return kept, np.cumsum(correct[order])[kept - 1] / kept, ordered[kept - 1]


def precision_coverage(confidence: Sequence[float], correct: Sequence[bool], n_points: int = COVERAGE_POINTS) -> list[dict]:
    """The precision-coverage curve: at coverage 1/n_points, 2/n_points, ..., 1, the largest threshold that links at
    least that share of the mentions, the share it links and its precision."""
    confidence, correct = _checked(confidence, correct)
    if not len(confidence):
        return []
    kept, precision, threshold = _ranked_cuts(confidence, correct)
    points = []
    for target in np.arange(1, n_points + 1) / n_points:
        cut = int(np.searchsorted(kept, target * len(confidence) - 1e-9))
        points.append({"coverage": float(kept[cut] / len(confidence)), "precision": float(precision[cut]), "threshold": float(threshold[cut])})
    return points


def coverage_at_precision(confidence: Sequence[float], correct: Sequence[bool], target: float) -> dict:
    """The largest share of mentions that a threshold on the confidence links at `target` precision or better, and
    that threshold (coverage 0 and threshold None where no threshold reaches it)."""
    confidence, correct = _checked(confidence, correct)
    if not len(confidence):
        return {"precision_target": target, "coverage": 0.0, "threshold": None, "precision": None}
    kept, precision, threshold = _ranked_cuts(confidence, correct)
    good = np.flatnonzero(precision >= target)
    if not len(good):
        return {"precision_target": target, "coverage": 0.0, "threshold": None, "precision": None}
    cut = good[-1]
    return {"precision_target": target, "coverage": float(kept[cut] / len(confidence)), "threshold": float(threshold[cut]),
            "precision": float(precision[cut])}


def at_threshold(confidence: Sequence[float], correct: Sequence[bool], threshold: float) -> dict:
    """The share of mentions whose confidence reaches `threshold`, and the precision of those links (None if none)."""
    confidence, correct = _checked(confidence, correct)
    kept = confidence >= threshold
    return {"threshold": threshold, "coverage": float(kept.mean()) if len(kept) else 0.0,
            "precision": float(correct[kept].mean()) if kept.any() else None}


def calibration_summary(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS) -> dict:
    """Every figure above in one JSON-ready dict: n, accuracy, the expected calibration error with its bin scheme,
    the reliability bins, the precision-coverage curve, the coverage at TARGET_PRECISIONS and the links kept at
    each of THRESHOLDS."""
    confidence, correct = _checked(confidence, correct)
    return {
        "n": len(confidence), "accuracy": float(correct.mean()) if len(correct) else 0.0,
        "mean_confidence": float(confidence.mean()) if len(confidence) else 0.0,
        "expected_calibration_error": expected_calibration_error(confidence, correct, n_bins),
        "bins": {"scheme": "equal-width", "n_bins": n_bins},
        "reliability": reliability_bins(confidence, correct, n_bins),
        "precision_coverage": precision_coverage(confidence, correct),
        "coverage_at_precision": [coverage_at_precision(confidence, correct, target) for target in TARGET_PRECISIONS],
        "at_threshold": [at_threshold(confidence, correct, threshold) for threshold in THRESHOLDS],
    }
