"""Fusion: how the channels' scores become one score per candidate.

The scoring channels' matrices are added at their weights (`fusion.<channel>_weight`), in the model's channel order;
the parent channel then raises a concept to its weighted score where that is higher, and the document channel
(after ranking) gives its offered concepts the score of the last candidate kept ahead of them. So a candidate's
fused score is a function of its channel scores alone (`fused_score`), which explanations and learned rankers use.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp

from .config import FusionConfig

POST_FUSION_CHANNELS = ("parent", "document")  # they read the fused scores or the rankings, not the queries


def channel_weights(fusion: FusionConfig) -> dict[str, float]:
    """{channel name: its weight} for every weighted channel (every `<channel>_weight` of the fusion settings)."""
    return {f.name[:-len("_weight")]: getattr(fusion, f.name) for f in fields(fusion) if f.name.endswith("_weight")}


def fuse(scores: dict[str, sp.csr_matrix], weights: dict[str, float], shape: tuple[int, int]) -> sp.csr_matrix:
    """queries × concepts: the weighted sum of the scoring channels' matrices, added in the order of `scores`."""
    fused = sp.csr_matrix(shape, dtype=np.float32)
    for name, matrix in scores.items():
        fused = fused + weights[name] * matrix
    return fused.tocsr()


def raise_to(fused: sp.csr_matrix, scores: sp.csr_matrix, weight: float) -> sp.csr_matrix:
    """Each cell at the higher of its fused score and `weight` times a post-fusion channel's score."""
    return fused.maximum(weight * scores).tocsr()


@dataclass
class CandidateEvidence:
    """A candidate concept, its fused score, and the score of each channel that scored it (unweighted; a channel
    that did not score it is absent)."""

    concept_id: str
    score: float
    channels: dict[str, float]


def fused_score(channels: dict[str, float], weights: dict[str, float]) -> float:
    """A candidate's fused score from its channel scores: the weighted sum of the scoring channels', raised to the
    parent channel's weighted score and to the document channel's score where those are higher."""
    total = sum(weights[name] * score for name, score in channels.items() if name not in POST_FUSION_CHANNELS)
    return max(total, weights["parent"] * channels.get("parent", 0.0), channels.get("document", 0.0))
