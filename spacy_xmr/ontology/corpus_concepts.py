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
    for mention in mentions:
        for gold_id in mention.gold_ids:
            if mention.text.strip() and ontology.resolve(gold_id) is None:
                texts.setdefault(gold_id, Counter())[mention.text] += 1
    if not texts:
        return ontology
    if report:
        _report(ontology, texts)
    source = ontology.name or "the ontology"
    added = [
        Concept(gold_id, counts.most_common(1)[0][0],
                definition=f"Not in {source}: learned from {sum(counts.values())} training mention(s).")
        for gold_id, counts in texts.items()
    ]
    return Ontology([*ontology, *added], name=ontology.name)


def _report(ontology: Ontology, added: dict[str, Counter]) -> None:
    logger.info("added %d concepts that training mentions link to but the ontology lacks, e.g. %s", len(added), next(iter(added)))
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
