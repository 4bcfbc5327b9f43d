"""The reranker's confidence: the probability that ITS top candidate is right, from a `Calibrator` (`..calibration`).

Why its own: after the cross-encoder reorders a list, the XMR stage's confidence describes a candidate that may no
longer be first, and the cross-encoder's logits have no scale a user can threshold.

Evidence about the reranked top candidate: its final score (cross-encoder logit + the tuned weight × XMR score),
its softmax probability over the mention's list (the listwise loss trains that softmax), the probability margin to
the second, its XMR score, and whether the XMR stage ranked it first too. `train_reranker` fits the calibrator on
the validation mentions, which the cross-encoder never trains on, each time it saves `model-best`. The same mentions
choose the epoch and the XMR weight, so the fit is slightly optimistic. Without validation mentions, or with too few
of them (`Calibrator.fit`'s minimum, right and wrong), the reranker has no calibrator and its confidence is None.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..calibration import Calibrator
from ..corpus.gold_rank import rank_of
from ..errors import SpacyXmrError

if TYPE_CHECKING:
    from ..corpus.mention import Candidates, Mention
    from ..ontology import Ontology

logger = logging.getLogger(__name__)

FEATURE_NAMES = ("top_score", "top_probability", "probability_margin", "xmr_score", "agrees_with_xmr")


def confidence_features(candidates: "Candidates", reranked: "Candidates") -> list[float]:
    """Evidence about `reranked`'s top candidate, in the order of FEATURE_NAMES (all 0 without candidates).

    `candidates`: the XMR stage's list (id, XMR score), best first; `reranked`: the same ids with final scores, best first."""
    if not reranked:
        return [0.0] * len(FEATURE_NAMES)
    scores = np.array([score for _, score in reranked], dtype=np.float64)
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    second = probabilities[1] if len(probabilities) > 1 else 0.0
    top_id = reranked[0][0]
    xmr_score = next((score for concept_id, score in candidates if concept_id == top_id), 0.0)
    agrees = bool(candidates) and candidates[0][0] == top_id
    return [float(scores[0]), float(probabilities[0]), float(probabilities[0] - second), float(xmr_score), float(agrees)]


def feature_matrix(candidates: Sequence["Candidates"], reranked: Sequence["Candidates"]) -> np.ndarray:
    """One row of `confidence_features` per mention."""
    rows = [confidence_features(xmr, final) for xmr, final in zip(candidates, reranked)]
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))


def confidences(calibrator: Calibrator, candidates: Sequence["Candidates"], reranked: Sequence["Candidates"]) -> list[float]:
    """The probability that each mention's reranked top candidate is right (0 for a mention without candidates)."""
    if not reranked:
        return []
    probabilities = calibrator.predict(feature_matrix(candidates, reranked))
    return [float(p) if final else 0.0 for p, final in zip(probabilities, reranked)]


def fit_calibrator(mentions: Sequence["Mention"], candidates: Sequence["Candidates"], reranked: Sequence["Candidates"],
                   ontology: "Ontology") -> Calibrator | None:
    """A calibrator fitted on held-out (validation) mentions with gold ids and candidates: their XMR `candidates`, the
    `reranked` lists and whether each reranked top is a gold concept. None, with the reason logged, when they are too
    few or all right or all wrong."""
    kept = [index for index, mention in enumerate(mentions) if mention.gold_ids and reranked[index]]
    correct = np.array([rank_of(reranked[i], mentions[i].gold_ids, ontology) == 1 for i in kept], dtype=bool)
    features = feature_matrix([candidates[i] for i in kept], [reranked[i] for i in kept])
    try:
        return Calibrator.fit(features, correct, FEATURE_NAMES, "validation")
    except SpacyXmrError as err:
        logger.warning("reranker without calibration: %s; its confidence is unavailable (give a validation corpus with "
                       "more gold-linked mentions)", err)
        return None
