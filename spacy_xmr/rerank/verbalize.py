"""Candidates as text: the canonical name followed by a few synonyms, so the encoder sees alternatives."""
from __future__ import annotations

from ..ontology import Ontology

SYNONYM_SEPARATOR = " ; "


def candidate_text(ontology: Ontology, concept_id: str, n_synonyms: int) -> str:
    """`name ; synonym 1 ; ...` with up to `n_synonyms` synonyms; an id unknown to the ontology stands for itself."""
    concept = ontology.get(concept_id)
    if concept is None:
        return concept_id
    return SYNONYM_SEPARATOR.join(concept.aliases[: 1 + n_synonyms])
