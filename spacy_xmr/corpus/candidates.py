"""Candidate lists stored in BioC annotation infons, beside (never over) the gold `identifier`.

Infons: `candidate_ids` (`|`-separated ids, best first), `candidate_scores` (`|`-separated floats
written with `repr`, so they read back exactly), `predicted_id` (the top candidate, or `NIL`) and, when the stage
that ranked them is calibrated, `confidence` (the probability that the top candidate is right; `spacy-xmr evaluate`
reports its calibration).
"""
from __future__ import annotations

import copy

import bioc

from ..errors import SpacyXmrError
from .bioc_documents import iter_annotations

NIL = "NIL"
CANDIDATE_IDS, CANDIDATE_SCORES, PREDICTED_ID, CONFIDENCE = "candidate_ids", "candidate_scores", "predicted_id", "confidence"


def set_candidates(annotation: bioc.BioCAnnotation, candidates: list[tuple[str, float]], confidence: float | None = None) -> None:
    """Store ranked (id, score) candidates on the annotation; an empty list predicts NIL. Without a `confidence`, a
    confidence stored before (by the stage whose candidates these replace) is removed: it was about another list."""
    for concept_id, _ in candidates:
        if not concept_id or "|" in concept_id:
            raise SpacyXmrError(f"annotation {annotation.id!r}: candidate id {concept_id!r} is empty or contains '|'")
    annotation.infons[CANDIDATE_IDS] = "|".join(concept_id for concept_id, _ in candidates)
    annotation.infons[CANDIDATE_SCORES] = "|".join(repr(float(score)) for _, score in candidates)
    annotation.infons[PREDICTED_ID] = candidates[0][0] if candidates else NIL
    if confidence is None:
        annotation.infons.pop(CONFIDENCE, None)
    else:
        annotation.infons[CONFIDENCE] = repr(float(confidence))


def get_candidates(annotation: bioc.BioCAnnotation) -> list[tuple[str, float]]:
    """The (id, score) candidates stored by `set_candidates`; empty when there are none."""
    ids_field = annotation.infons.get(CANDIDATE_IDS, "")
    scores_field = annotation.infons.get(CANDIDATE_SCORES, "")
    ids = ids_field.split("|") if ids_field else []
    scores = scores_field.split("|") if scores_field else []
    if len(ids) != len(scores):
        raise SpacyXmrError(
            f"annotation {annotation.id!r}: {len(ids)} candidate ids but {len(scores)} candidate scores"
        )
    try:
        return [(concept_id, float(score)) for concept_id, score in zip(ids, scores)]
    except ValueError as err:
        raise SpacyXmrError(f"annotation {annotation.id!r}: unreadable candidate score ({err})") from err


def get_confidence(annotation: bioc.BioCAnnotation) -> float | None:
    """The confidence stored by `set_candidates`; None when there is none."""
    if CONFIDENCE not in annotation.infons:
        return None
    try:
        confidence = float(annotation.infons[CONFIDENCE])
    except ValueError:
        confidence = float("nan")
    if not 0 <= confidence <= 1:
        raise SpacyXmrError(f"annotation {annotation.id!r}: confidence {annotation.infons[CONFIDENCE]!r} is not a "
                            "probability between 0 and 1")
    return confidence


def write_candidates(
    collection: bioc.BioCCollection, predictions: dict[tuple[str, str], list[tuple[str, float]]],
    confidences: dict[tuple[str, str], float] | None = None,
) -> bioc.BioCCollection:
    """A deep copy of `collection` with predictions keyed by (document id, annotation id) stored, each with its
    confidence where `confidences` has one under the same key.

    Annotations without a prediction are left as they are; a key that names no annotation raises.
    """
    confidences = confidences or {}
    result = copy.deepcopy(collection)
    remaining = dict(predictions)
    for document in result.documents:
        for _, annotation in iter_annotations(document):
            key = (document.id, annotation.id)
            if key in remaining:
                set_candidates(annotation, remaining.pop(key), confidences.get(key))
    if remaining:
        examples = ", ".join(map(str, list(remaining)[:5]))
        raise SpacyXmrError(
            f"{len(remaining)} predictions name no (document id, annotation id) of the collection, e.g. {examples}"
        )
    return result
