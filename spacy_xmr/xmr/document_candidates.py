"""Document candidates: the concepts that a document's mentions link to enter the end of each of its mentions' lists.

Why: an abstract names its diseases several times and in several ways, and a vague or odd mention ("dystrophic",
an abbreviation used without its definition, a gene's "deficiency") whose own candidates miss its concept often
shares it with a clearer mention of the same document. Candidate generation is about recall, so those concepts
are offered to the mention (and to a reranker after it) at the end of its list, never ahead of its own evidence:
at most a quarter of the `top_k` slots, the last ones, so the top three quarters, acc@1 included, are unchanged.
"""
from __future__ import annotations

from collections import Counter
from typing import Hashable, Sequence

Ranking = list[tuple[str, float]]


def document_slots(top_k: int, max_slots: int) -> int:
    """How many of a `top_k` list the document's concepts may take: `max_slots`, at most a quarter of the list."""
    return min(max_slots, top_k // 4)


def with_document_candidates(rankings: Sequence[Ranking], document_ids: Sequence[Hashable], top_k: int,
                             max_slots: int) -> list[Ranking]:
    """Each ranking keeps its first `top_k - slots` candidates; then come, up to `slots`, the concepts that its
    document's mentions rank first (most mentions first, then first seen) that it does not hold yet, then its own
    candidates again, cut at `top_k`.

    A document concept enters at the score of the last candidate kept ahead of it: the list stays sorted, and the
    score says that the mention itself gives no more evidence for it. A mention with no candidate gets none.
    """
    if len(rankings) != len(document_ids):
        raise ValueError(f"{len(rankings)} rankings for {len(document_ids)} document ids")
    slots = document_slots(top_k, max_slots)
    if not slots:
        return [list(ranking[:top_k]) for ranking in rankings]
    firsts: dict[Hashable, Counter] = {}
    for ranking, document_id in zip(rankings, document_ids):
        if ranking:
            firsts.setdefault(document_id, Counter())[ranking[0][0]] += 1
    out = []
    for ranking, document_id in zip(rankings, document_ids):
        kept = list(ranking[:top_k - slots])
        if not kept:
            out.append([])
            continue
        held = {concept for concept, _ in kept}
        cut_score = kept[-1][1]
        added = [concept for concept, _ in firsts[document_id].most_common() if concept not in held][:slots]
        rest = [(concept, score) for concept, score in ranking[top_k - slots:] if concept not in added]
        out.append((kept + [(concept, cut_score) for concept in added] + rest)[:top_k])
    return out
