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


def lists_by_length(sizes: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The non-empty lists grouped by length, as (their indexes, their rows: lists × length) for rows stored list after
    list: numpy then runs once per length (a batch has a few), not once per list, and reduces each row of a
    lists × length block exactly as it reduces that list alone."""
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    blocks = []
    for length in np.unique(sizes[sizes > 0]):
        lists = np.flatnonzero(sizes == length)
        blocks.append((lists, starts[lists, None] + np.arange(length)))
    return blocks


def list_probabilities(raw: np.ndarray) -> np.ndarray:
    """Softmax of each row of lists × length raw ranking scores: positive, summing to 1, in the ranker's order."""
    shifted = np.exp(raw - raw.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def feature_matrix(raw: np.ndarray, fused: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Evidence about the top candidate by the ranker's `raw` scores of each non-empty list, a row each in the order
    of FEATURE_NAMES; `raw` and `fused` (the XMR stage's scores, in the XMR order) hold the lists' rows one after
    another."""
    out = np.zeros((len(sizes), len(FEATURE_NAMES)))
    for lists, rows in lists_by_length(sizes):
        scores = raw[rows]
        order = np.argsort(-scores, axis=1, kind="stable")
        top, second = order[:, 0], order[:, min(1, rows.shape[1] - 1)]
        at = np.arange(len(lists))
        out[lists] = np.stack([scores[at, top], scores[at, top] - scores[at, second], list_probabilities(scores)[at, top],
                               fused[rows][at, top], top == 0], axis=1)
    return out[np.asarray(sizes) > 0]


def confidences(calibrator: Calibrator, raw: np.ndarray, fused: np.ndarray, sizes: Sequence[int]) -> list[float]:
    """The probability that each list's top candidate by the ranker is right (0 for an empty list)."""
    probabilities = iter(calibrator.predict(feature_matrix(raw, fused, sizes)) if any(sizes) else [])
    return [float(next(probabilities)) if size else 0.0 for size in sizes]
