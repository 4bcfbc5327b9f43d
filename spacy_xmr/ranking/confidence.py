"""The learned ranker's confidence: the probability that ITS top candidate is right, from a `Calibrator`.

Why its own: the ranker's first candidate is often not the XMR stage's, so the linker's confidence describes
another candidate; and its raw scores (log-odds of a pointwise model, or listwise scores) have no scale a user can
threshold. Evidence about the ranker's top candidate: its raw score, the raw margin to the second, its softmax share
of the list, its XMR fused score, and whether the XMR stage put it first too.

It is fitted on the ranker's own out-of-fold lists, each scored by a ranker that did not train on it (an inner
K-fold by document, `RankerConfig.calibration_folds`), lists without any gold candidate included (their top is
wrong): the same mentions as at test time, not easier ones.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..calibration import Calibrator

FEATURE_NAMES = ("top_raw_score", "raw_margin", "top_share", "top_fused_score", "agrees_with_xmr")


def list_probabilities(raw: np.ndarray) -> np.ndarray:
    """Softmax of one list's raw ranking scores: positive, summing to 1, in the ranker's order."""
    shifted = np.exp(raw - raw.max())
    return shifted / shifted.sum()


def confidence_features(raw: np.ndarray, fused: np.ndarray) -> list[float]:
    """Evidence about the top candidate of one non-empty list by the ranker's `raw` scores, in the order of
    FEATURE_NAMES; `fused`: the XMR stage's scores of the same candidates, in the XMR order."""
    order = np.argsort(-raw, kind="stable")
    top = order[0]
    second = raw[order[1]] if len(raw) > 1 else raw[top]
    return [float(raw[top]), float(raw[top] - second), float(list_probabilities(raw)[top]), float(fused[top]), float(top == 0)]


def feature_matrix(raw: np.ndarray, fused: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """One row of `confidence_features` per non-empty list; `raw` and `fused` hold the lists' rows one after another."""
    bounds = np.cumsum([0, *sizes])
    rows = [confidence_features(raw[start:end], fused[start:end]) for start, end in zip(bounds[:-1], bounds[1:]) if end > start]
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))


def confidences(calibrator: Calibrator, raw: np.ndarray, fused: np.ndarray, sizes: Sequence[int]) -> list[float]:
    """The probability that each list's top candidate by the ranker is right (0 for an empty list)."""
    probabilities = iter(calibrator.predict(feature_matrix(raw, fused, sizes)) if any(sizes) else [])
    return [float(next(probabilities)) if size else 0.0 for size in sizes]
