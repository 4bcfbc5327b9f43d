"""The document channel: the concepts that a document's mentions link to enter the end of each of its mentions' lists.

Why: an abstract names its diseases several times and in several ways, and a vague or odd mention ("dystrophic",
an abbreviation used without its definition, a gene's "deficiency") whose own candidates miss its concept often
shares it with a clearer mention of the same document. Candidate generation is about recall, so those concepts
are offered to the mention (and to a reranker after it) at the end of its list, never ahead of its own evidence:
at most a quarter of the `top_k` slots, the last ones, so the top three quarters, acc@1 included, are unchanged.

It is a post-ranking channel: it reads the finished rankings of a batch's mentions, grouped by document, so it has
no `score(queries)`; it learns nothing and stores nothing (`fusion.document_candidates` sets its slots).
"""
from __future__ import annotations

from collections import Counter
from typing import Hashable, Sequence, TypeVar

Concept = TypeVar("Concept", bound=Hashable)  # a concept id, or the model's column of one
Ranking = Sequence[tuple[Concept, float]]


def document_slots(top_k: int, max_slots: int) -> int:
    """How many of a `top_k` list the document's concepts may take: `max_slots`, at most a quarter of the list."""
    return min(max_slots, top_k // 4)


def offered_concepts(rankings: Sequence[Ranking], document_ids: Sequence[Hashable], top_k: int, max_slots: int) -> list[list[Concept]]:
    """For each ranking, the concepts its document offers it: up to `slots` of those that its document's mentions
    rank first (most mentions first, then first seen) that its first `top_k - slots` candidates do not hold; none
    for a ranking without candidates."""
    if len(rankings) != len(document_ids):
        raise ValueError(f"{len(rankings)} rankings for {len(document_ids)} document ids")
    slots = document_slots(top_k, max_slots)
    if not slots:
        return [[] for _ in rankings]
    firsts: dict[Hashable, Counter] = {}
    for ranking, document_id in zip(rankings, document_ids):
        if ranking:
            firsts.setdefault(document_id, Counter())[ranking[0][0]] += 1
    offered = []
    for ranking, document_id in zip(rankings, document_ids):
        held = {concept for concept, _ in ranking[:top_k - slots]}
        offered.append([concept for concept, _ in firsts[document_id].most_common() if concept not in held][:slots] if held else [])
    return offered


def with_document_candidates(rankings: Sequence[Ranking], offered: Sequence[Sequence[Concept]], top_k: int,
                             max_slots: int) -> list[list[tuple[Concept, float]]]:
    """Each ranking keeps its first `top_k - slots` candidates; then come the concepts its document offers it
    (`offered`, as `offered_concepts` gives them for the same `top_k` and `max_slots`: the caller may report them
    too), then its own candidates again, cut at `top_k`.

    An offered concept enters at the score of the last candidate kept ahead of it: the list stays sorted, and the
    score says that the mention itself gives no more evidence for it. A mention with no candidate gets none.
    """
    slots = document_slots(top_k, max_slots)
    out = []
    for ranking, offered in zip(rankings, offered, strict=True):
        kept = list(ranking[:top_k - slots])
        if not kept or not slots:
            out.append(kept)
            continue
        rest = [(concept, score) for concept, score in ranking[top_k - slots:] if concept not in offered]
        out.append((kept + [(concept, kept[-1][1]) for concept in offered] + rest)[:top_k])
    return out
