"""Where a mention's gold concepts sit in a ranked candidate list: the one definition behind every metric.

`spacy-xmr evaluate`, `nlp.evaluate` (the components' scorer) and the reranker's validation acc@1 all
rank through here, so they agree on the same candidates. Ids are compared as concepts: with an ontology,
an id or alt id (MEDIC's AltDiseaseIDs) counts as the concept it names (`Ontology.resolve`), and an id the
ontology lacks is compared as written. NIL and empty ids are no candidate, and a concept repeated lower in
a list keeps its first place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from .candidates import NIL
from .mention import Candidates

if TYPE_CHECKING:
    from ..ontology import Ontology


def concept_of(concept_id: str, ontology: Ontology | None) -> str:
    """The id of the concept that `concept_id` (an id or alt id) names; itself when unknown or without ontology."""
    if ontology is None:
        return concept_id
    return ontology.resolve(concept_id) or concept_id


def gold_concepts(gold_ids: Iterable[str], ontology: Ontology | None) -> set[str]:
    """The distinct concepts that a mention's gold ids name."""
    return {concept_of(concept_id, ontology) for concept_id in gold_ids}


def ranked_concepts(candidates: Candidates | Sequence[str], ontology: Ontology | None) -> list[str]:
    """The candidates' concepts, best first, without NIL, each at its first place."""
    seen: dict[str, None] = {}
    for candidate in candidates:
        concept_id = candidate[0] if isinstance(candidate, tuple) else candidate
        if concept_id and concept_id != NIL:
            seen.setdefault(concept_of(concept_id, ontology), None)
    return list(seen)


def rank_of(candidates: Candidates | Sequence[str], gold_ids: Iterable[str], ontology: Ontology | None = None) -> int | None:
    """Lenient rank: the 1-based place of the first candidate naming ANY gold concept; None when none does."""
    gold = gold_concepts(gold_ids, ontology)
    ranked = ranked_concepts(candidates, ontology)
    return next((place for place, concept_id in enumerate(ranked, start=1) if concept_id in gold), None)


def strict_rank_of(candidates: Candidates | Sequence[str], gold_ids: Iterable[str], ontology: Ontology | None = None) -> int | None:
    """Strict rank: the shortest prefix naming EVERY gold concept, minus (their number - 1), so a list that
    starts with all of them in any order ranks 1; None when one is missing. Equals `rank_of` for one concept."""
    gold = gold_concepts(gold_ids, ontology)
    places = [place for place, concept_id in enumerate(ranked_concepts(candidates, ontology), start=1) if concept_id in gold]
    if not gold or len(places) < len(gold):
        return None
    return places[-1] - (len(gold) - 1)
