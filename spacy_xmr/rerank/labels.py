"""Gold labels for candidate lists (teacher forcing) and the validation acc@1, both matching through the ontology."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from ..corpus.gold_rank import concept_of, gold_concepts, rank_of
from ..ontology import Ontology

if TYPE_CHECKING:
    from ..corpus.mention import Candidates, Mention


def accuracy_at_1(mentions: Sequence["Mention"], rankings: Sequence[Candidates | Sequence[str]], ontology: Ontology) -> float:
    """Lenient acc@1 over mentions with gold ids (an empty ranking is a miss): `spacy-xmr evaluate`'s `acc_at_1`."""
    ranked = [(mention, ranking) for mention, ranking in zip(mentions, rankings) if mention.gold_ids]
    hits = sum(rank_of(ranking, mention.gold_ids, ontology) == 1 for mention, ranking in ranked)
    return hits / len(ranked) if ranked else 0.0


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
        gold = {concept for concept in gold_concepts(mention.gold_ids, ontology) if concept in ontology}
        if not gold:  # no gold id the ontology knows: no candidate can be right, and teacher forcing has no name to show
            examples.n_skipped_no_gold_id += 1
            continue
        ids = list(dict.fromkeys(ids))[:top_k]
        if rank_of(ids, mention.gold_ids, ontology) is None:
            if gold_policy == "skip":
                examples.n_skipped_gold_missed += 1
                continue
            ids = ids[: top_k - 1] + [sorted(gold)[0]]
            examples.n_gold_added += 1
        rng.shuffle(ids)
        examples.mentions.append(mention)
        examples.candidate_ids.append(ids)
        examples.labels.append([int(concept_of(concept_id, ontology) in gold) for concept_id in ids])
    return examples
