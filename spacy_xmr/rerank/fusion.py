"""Score fusion: cross-encoder score + w * XMR score, with w tuned on validation acc@1.

The cross-encoder sees text only; XMR's score carries what its exact and nearest-neighbour channels
memorised from training mentions. A single weight, chosen on the validation split (0 when fusion does not
help), keeps the best of both.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..ontology import Ontology
from .labels import accuracy_at_1

if TYPE_CHECKING:
    from ..corpus.mention import Mention

WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def fuse(candidates: Sequence[Sequence[tuple[str, float]]], scores: Sequence[Sequence[float]], weight: float) -> list[list[tuple[str, float]]]:
    """Each mention's candidates with fused scores, best first (stable for ties)."""
    fused = []
    for ranked, row in zip(candidates, scores):
        pairs = [(concept_id, score + weight * xmr_score) for (concept_id, xmr_score), score in zip(ranked, row)]
        fused.append(sorted(pairs, key=lambda pair: -pair[1]))
    return fused


def tune_weight(mentions: Sequence["Mention"], candidates, scores, ontology: Ontology) -> tuple[float, float]:
    """(weight, acc@1) of the grid weight with the best validation acc@1; the smallest weight on ties."""
    best = (0.0, -1.0)
    for weight in WEIGHT_GRID:
        accuracy = accuracy_at_1(mentions, fuse(candidates, scores, weight), ontology)
        if accuracy > best[1]:
            best = (weight, accuracy)
    return best
