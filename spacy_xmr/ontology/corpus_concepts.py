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


def with_corpus_concepts(ontology: Ontology, mentions: Iterable["Mention"]) -> Ontology:
    """`ontology` plus one concept per gold id it cannot resolve, named by that id's most frequent mention text
    (`ontology` itself where every gold id resolves)."""
    texts: dict[str, Counter] = {}
    for mention in mentions:
        for gold_id in mention.gold_ids:
            if mention.text.strip() and ontology.resolve(gold_id) is None:
                texts.setdefault(gold_id, Counter())[mention.text] += 1
    if not texts:
        return ontology
    logger.info("added %d concepts that training mentions link to but the ontology lacks, e.g. %s", len(texts), next(iter(texts)))
    prefixed = prefixed_forms(ontology, texts)
    if prefixed:
        bare, full = next(iter(prefixed.items()))
        logger.warning("%d of those gold ids are in the ontology with a prefix (%r is %r): write the corpus's ids as the "
                       "ontology does, or they stay concepts of their own", len(prefixed), bare, full)
    source = ontology.name or "the ontology"
    added = [
        Concept(gold_id, counts.most_common(1)[0][0],
                definition=f"Not in {source}: learned from {sum(counts.values())} training mention(s).")
        for gold_id, counts in texts.items()
    ]
    return Ontology([*ontology, *added], name=ontology.name)


def prefixed_forms(ontology: Ontology, ids: Iterable[str]) -> dict[str, str]:
    """Of `ids` written without a prefix, those that `ontology` holds with one (`C0020538` → `UMLS:C0020538`): a
    corpus that writes its ids bare is read against an ontology that does not."""
    bare = {concept_id for concept_id in ids if ":" not in concept_id}
    found: dict[str, str] = {}
    if bare:
        for concept in ontology:
            _, colon, local = concept.id.partition(":")
            if colon and local in bare:
                found.setdefault(local, concept.id)
    return found
