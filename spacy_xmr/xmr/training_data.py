"""Training examples: every ontology alias and every annotated training mention, as normalised strings.

One example per distinct normalised string: an alias shared by several concepts is one
multi-label example, and a training mention identical to an alias adds support to it. The
label matrix holds that support (alias_weight per alias, mention_weight per mention), which the
exact-alias channel uses to rank ambiguous strings.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..corpus.mention import Mention
from ..ontology import Ontology
from .abbreviations import texts_to_link
from .config import TrainingDataConfig
from .normalize import normalize_text

logger = logging.getLogger(__name__)


@dataclass
class TrainingData:
    keys: list[str]  # distinct normalised strings
    labels: sp.csr_matrix  # keys × concepts, support weights
    weights: np.ndarray  # per key: its largest support (sample weight of the example)
    concept_ids: list[str]
    name_rows: np.ndarray  # per concept: the key of its preferred name (-1 where that normalises to nothing)
    n_mentions_used: int
    n_mentions_skipped: int  # gold ids not in the ontology, or empty text


def build_training_data(ontology: Ontology, mentions: list[Mention], config: TrainingDataConfig) -> TrainingData:
    concept_ids = ontology.ids
    column = {concept_id: i for i, concept_id in enumerate(concept_ids)}
    support: dict[tuple[str, int], float] = {}

    def add(text: str, label: int, weight: float) -> str:
        """The example's key, "" (and nothing added) where `text` normalises to nothing."""
        key = normalize_text(text)
        if key:
            support[(key, label)] = support.get((key, label), 0.0) + weight
        return key

    name_keys = []
    for label, concept in enumerate(ontology):  # the order of `concept_ids`
        alias_keys = {alias: add(alias, label, config.alias_weight) for alias in concept.aliases}
        name_keys.append(alias_keys.get(concept.name, ""))
    long_forms = texts_to_link(mentions) if config.add_long_forms else [m.text for m in mentions]
    used = skipped = 0
    for mention, long_form in zip(mentions, long_forms):
        labels = {column[r] for r in (ontology.resolve(g) for g in mention.gold_ids) if r is not None}
        added = [add(text, label, config.mention_weight) for text in {mention.text, long_form} for label in labels]
        if any(added):
            used += 1
        else:
            skipped += 1
    if skipped:
        logger.info("skipped %d training mentions whose gold ids are not in the ontology (or whose text is empty)", skipped)
    keys = sorted({key for key, _ in support})
    row = {key: i for i, key in enumerate(keys)}
    pairs = sorted(support.items(), key=lambda item: (row[item[0][0]], item[0][1]))
    rows = np.fromiter((row[key] for (key, _), _ in pairs), dtype=np.int64, count=len(pairs))
    cols = np.fromiter((label for (_, label), _ in pairs), dtype=np.int64, count=len(pairs))
    values = np.fromiter((value for _, value in pairs), dtype=np.float32, count=len(pairs))
    labels = sp.csr_matrix((values, (rows, cols)), shape=(len(keys), len(concept_ids)), dtype=np.float32)
    weights = labels.max(axis=1).toarray().ravel()
    name_rows = np.array([row.get(key, -1) for key in name_keys], dtype=np.int64)
    return TrainingData(keys, labels, weights, concept_ids, name_rows, used, skipped)
