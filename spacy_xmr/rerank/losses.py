"""Losses over the candidates of each mention: listwise (softmax cross-entropy) or pointwise (BCE)."""
from __future__ import annotations

import torch


def candidate_matrix(scores: torch.Tensor, slot_mention: torch.Tensor, slot_candidate: torch.Tensor,
                     labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slot scores as a dense (mentions, candidates) matrix with its validity mask and labels.

    `labels` is (mentions in batch, max candidates) indexed by the batch-local mention index.
    """
    n_mentions, width = labels.shape
    matrix = scores.new_full((n_mentions, width), float("-inf"))
    valid = torch.zeros((n_mentions, width), dtype=torch.bool, device=scores.device)
    matrix[slot_mention, slot_candidate] = scores
    valid[slot_mention, slot_candidate] = True
    return matrix, valid, labels.bool() & valid


def listwise_loss(matrix: torch.Tensor, valid: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """-log of the softmax mass on the gold candidates (any of them: lenient), averaged over mentions."""
    all_mass = torch.logsumexp(matrix, dim=1)
    gold_mass = torch.logsumexp(matrix.masked_fill(~positive, float("-inf")), dim=1)
    return (all_mass - gold_mass).mean()


def pointwise_loss(matrix: torch.Tensor, valid: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of every (mention, candidate) pair."""
    return torch.nn.functional.binary_cross_entropy_with_logits(matrix[valid], positive[valid].float())


LOSSES = {"listwise": listwise_loss, "pointwise": pointwise_loss}
