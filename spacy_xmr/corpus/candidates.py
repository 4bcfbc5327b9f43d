"""Candidate lists stored in BioC annotation infons, beside (never over) the gold `identifier`.

Infons: `candidate_ids` (`|`-separated ids, best first), `candidate_scores` (`|`-separated floats
written with `repr`, so they read back exactly) and `predicted_id` (the top candidate, or `NIL`).
"""
from __future__ import annotations

import copy

import bioc

from ..errors import SpacyXmrError
from .bioc_documents import iter_annotations

NIL = "NIL"
CANDIDATE_IDS, CANDIDATE_SCORES, PREDICTED_ID = "candidate_ids", "candidate_scores", "predicted_id"


def set_candidates(annotation: bioc.BioCAnnotation, candidates: list[tuple[str, float]]) -> None:
    """Store ranked (id, score) candidates on the annotation; an empty list predicts NIL."""
    for concept_id, _ in candidates:
        if not concept_id or "|" in concept_id:
            raise SpacyXmrError(f"annotation {annotation.id!r}: candidate id {concept_id!r} is empty or contains '|'")
    annotation.infons[CANDIDATE_IDS] = "|".join(concept_id for concept_id, _ in candidates)
    annotation.infons[CANDIDATE_SCORES] = "|".join(repr(float(score)) for _, score in candidates)
    annotation.infons[PREDICTED_ID] = candidates[0][0] if candidates else NIL


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


def write_candidates(
    collection: bioc.BioCCollection, predictions: dict[tuple[str, str], list[tuple[str, float]]]
) -> bioc.BioCCollection:
    """A deep copy of `collection` with predictions keyed by (document id, annotation id) stored.

    Annotations without a prediction are left as they are; a key that names no annotation raises.
    """
    result = copy.deepcopy(collection)
    remaining = dict(predictions)
    for document in result.documents:
        for _, annotation in iter_annotations(document):
            key = (document.id, annotation.id)
            if key in remaining:
                set_candidates(annotation, remaining.pop(key))
    if remaining:
        examples = ", ".join(map(str, list(remaining)[:5]))
        raise SpacyXmrError(
            f"{len(remaining)} predictions name no (document id, annotation id) of the collection, e.g. {examples}"
        )
    return result
