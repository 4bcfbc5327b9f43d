"""Gold labels for candidate lists: lenient matching through the ontology, teacher forcing, acc@1."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from ..ontology import Ontology

if TYPE_CHECKING:
    from ..corpus.mention import Mention


def gold_concepts(mention: "Mention", ontology: Ontology) -> set[str]:
    """The mention's gold ids mapped to their concepts (alt ids count as their concept)."""
    return {ontology.resolve(gold) or gold for gold in mention.gold_ids}


def is_gold(concept_id: str, gold: set[str], ontology: Ontology) -> bool:
    return (ontology.resolve(concept_id) or concept_id) in gold


def accuracy_at_1(mentions: Sequence["Mention"], rankings: Sequence[Sequence], ontology: Ontology) -> float:
    """Lenient acc@1 over mentions with gold ids (an empty ranking is a miss), as in `spacy_xmr.evaluation`."""
    hits = total = 0
    for mention, ranking in zip(mentions, rankings):
        if not mention.gold_ids:
            continue
        total += 1
        top = ranking[0] if ranking else None
        hits += top is not None and is_gold(top[0] if isinstance(top, tuple) else top, gold_concepts(mention, ontology), ontology)
    return hits / total if total else 0.0


@dataclass
class TrainingExamples:
    """Mentions kept for training with their candidate ids (shuffled) and 0/1 labels."""

    mentions: list = field(default_factory=list)
    candidate_ids: list[list[str]] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    n_gold_added: int = 0
    n_skipped_no_gold_id: int = 0
    n_skipped_gold_missed: int = 0

    def counts(self) -> dict:
        return {"n_mentions": len(self.mentions), "n_gold_added": self.n_gold_added,
                "n_skipped_no_gold_id": self.n_skipped_no_gold_id, "n_skipped_gold_missed": self.n_skipped_gold_missed}


def training_examples(mentions: Sequence["Mention"], candidate_ids: Sequence[Sequence[str]], ontology: Ontology,
                      top_k: int, gold_policy: str, seed: int) -> TrainingExamples:
    """Top-k candidate lists labelled against gold; a missed gold is put in place of the last candidate
    (`gold_policy="add"`, teacher forcing) or the mention is left out (`"skip"`).

    Each list is shuffled (seeded) so that position in a packed sequence carries no hint of the XMR rank.
    """
    rng = random.Random(seed)
    examples = TrainingExamples()
    for mention, ids in zip(mentions, candidate_ids):
        gold = gold_concepts(mention, ontology)
        if not gold:
            examples.n_skipped_no_gold_id += 1
            continue
        ids = list(dict.fromkeys(ids))[:top_k]
        if not any(is_gold(concept_id, gold, ontology) for concept_id in ids):
            if gold_policy == "skip":
                examples.n_skipped_gold_missed += 1
                continue
            ids = ids[: top_k - 1] + [sorted(gold)[0]]
            examples.n_gold_added += 1
        rng.shuffle(ids)
        examples.mentions.append(mention)
        examples.candidate_ids.append(ids)
        examples.labels.append([int(is_gold(concept_id, gold, ontology)) for concept_id in ids])
    return examples
