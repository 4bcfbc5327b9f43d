"""Concepts that only a training corpus names.

Corpora are often annotated against a newer ontology than the one at hand (NCBI Disease links
"C9 deficiency" to OMIM:613825, which MEDIC 2017 lacks). Turning such gold ids into concepts of their
own lets a model learn and predict them from their mentions instead of skipping those mentions.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Iterable

from .model import Concept, Ontology

if TYPE_CHECKING:
    from ..corpus.mention import Mention

logger = logging.getLogger(__name__)
SPELLING_FIX = ("write the ids the same way in the corpus and the ontology (the PubTator reader writes bare MeSH ids as "
                "MESH:...; docs/ontology.md)")


def with_corpus_concepts(ontology: Ontology, mentions: Iterable["Mention"], report: bool = True) -> Ontology:
    """`ontology` plus one concept per gold id it cannot resolve, named by that id's most frequent mention text
    (`ontology` itself where every gold id resolves); with `report`, what was added is logged, and the ids that the
    ontology spells otherwise named in a warning."""
    texts: dict[str, Counter] = {}
    per_type, outside_per_type = Counter(), Counter()  # mentions, and those naming an id the ontology lacks, by type
    for mention in mentions:
        outside = [gold_id for gold_id in mention.gold_ids if ontology.resolve(gold_id) is None]
        per_type[mention.type] += 1
        outside_per_type[mention.type] += bool(outside)
        for gold_id in outside:
            if mention.text.strip():
                texts.setdefault(gold_id, Counter())[mention.text] += 1
    if not texts:
        return ontology
    if report:
        _report(ontology, texts, per_type, outside_per_type)
    source = ontology.name or "the ontology"
    added = [
        Concept(gold_id, counts.most_common(1)[0][0],
                definition=f"Not in {source}: learned from {sum(counts.values())} training mention(s).")
        for gold_id, counts in texts.items()
    ]
    return Ontology([*ontology, *added], name=ontology.name)


def _report(ontology: Ontology, added: dict[str, Counter], per_type: Counter, outside_per_type: Counter) -> None:
    by_type = ", ".join(f"{entity_type or '(no type)'} {n:,} of {per_type[entity_type]:,}"
                        for entity_type, n in outside_per_type.most_common() if n)
    logger.info("added %d concepts that training mentions link to but the ontology lacks, e.g. %s (mentions naming them, "
                "by type: %s)", len(added), next(iter(added)), by_type)
    mostly_outside = sorted(t for t, n in per_type.items() if outside_per_type[t] >= n / 2)
    mostly_inside = sorted(t for t in per_type if t not in mostly_outside and t)
    if mostly_outside and mostly_inside:  # e.g. BC5CDR's chemicals against MEDIC, a disease vocabulary
        logger.warning("most training mentions of type %s link to ids the ontology lacks, unlike those of %s: the model "
                       "learns those ids as concepts named by their mentions alone; if they are not meant to be linked "
                       "with this ontology, train with %s", ", ".join(map(repr, mostly_outside)), ", ".join(map(repr, mostly_inside)),
                       " ".join(f"--entity-type {t}" for t in mostly_inside))
    respelled = spelled_otherwise(ontology, added)
    if respelled:
        logger.warning("%d of those gold ids are in the ontology spelled otherwise (%s): %s, or they stay concepts of "
                       "their own", len(respelled), spelling_example(respelled), SPELLING_FIX)


def spelling_example(respelled: dict[str, str]) -> str:
    """The first of `spelled_otherwise`'s pairs, for a message."""
    corpus_id, ontology_id = next(iter(respelled.items()))
    return f"the corpus's {corpus_id!r} is the ontology's {ontology_id!r}"


def spelled_otherwise(ontology: Ontology, ids: Iterable[str]) -> dict[str, str]:
    """Of `ids` that `ontology` does not hold as written, those it holds with another prefix or none, or in another
    case (`C0020538` → `UMLS:C0020538`, `MESH:D009270` → `D009270`, `mesh:D016651` → `MESH:D016651`): a corpus read
    against an ontology that spells its ids otherwise."""
    wanted = {_spelling_key(concept_id): concept_id for concept_id in ids if ontology.resolve(concept_id) is None}
    found: dict[str, str] = {}
    if wanted:
        for concept in ontology:
            for concept_id in (concept.id, *concept.alt_ids):
                corpus_id = wanted.get(_spelling_key(concept_id))
                if corpus_id is not None:
                    found.setdefault(corpus_id, concept_id)
    return found


def _spelling_key(concept_id: str) -> str:
    """The id without its prefix, case folded."""
    return concept_id.rpartition(":")[2].casefold()
