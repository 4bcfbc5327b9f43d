"""Self-alignment training of a name encoder for the dense channel, SapBERT's recipe (Liu et al., NAACL 2021)
on one ontology: the strings of one concept are pulled together and the other concepts' strings in the batch
pushed apart.

Why: a general-domain encoder (MiniLM here, where nothing biomedical can be downloaded) knows little of
"APRT deficiency" being "adenine phosphoribosyltransferase deficiency"; the ontology's own synonyms teach
it. Each epoch pairs every string that shares a concept with another with one such partner at random; the
loss is InfoNCE over the batch in both directions, where a pair of the same concept (or the same string) is
never counted as a negative.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from ..errors import SpacyXmrError
from ..settings import Settings, setting
from .dense import DenseEncoder

logger = logging.getLogger(__name__)


@dataclass
class DenseTrainingConfig(Settings):
    """How `train-dense-encoder` fine-tunes: epochs, pairs per step, learning rate schedule, InfoNCE temperature."""

    label = "dense encoder training:"
    epochs: int = setting(1, at_least=1)
    # pairs per step: 2 × batch_size strings, each pair's partner a negative for the others
    batch_size: int = setting(128, at_least=2)
    lr: float = setting(2e-5, above=0)
    warmup_ratio: float = setting(0.1, at_least=0, below=1)
    temperature: float = setting(0.05, above=0)
    seed: int = setting(0, at_least=0)


def alignment_pairs(labels: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """(anchor string, partner string, concept) rows: every string of a concept that has at least two strings,
    with one other string of that concept drawn at random; `labels` is strings × concepts."""
    by_concept = labels.tocsc()
    rows = []
    for concept in range(by_concept.shape[1]):
        strings = by_concept.indices[by_concept.indptr[concept]:by_concept.indptr[concept + 1]]
        if len(strings) < 2:
            continue
        offsets = rng.integers(1, len(strings), size=len(strings))  # never 0: the partner is another string
        partners = strings[(np.arange(len(strings)) + offsets) % len(strings)]
        rows.append(np.stack([strings, partners, np.full(len(strings), concept)], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int64)


def alignment_loss(anchors: torch.Tensor, partners: torch.Tensor, same: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: pair i's partner against every other pair's, except those `same` marks (bool, i × j)."""
    logits = anchors @ partners.T / temperature
    negatives_masked = logits.masked_fill(same & ~torch.eye(len(same), dtype=torch.bool, device=same.device), float("-inf"))
    target = torch.arange(len(same), device=logits.device)
    return (torch.nn.functional.cross_entropy(negatives_masked, target)
            + torch.nn.functional.cross_entropy(negatives_masked.T, target)) / 2


def train_dense_encoder(encoder: DenseEncoder, keys: list[str], labels: sp.csr_matrix, config: DenseTrainingConfig,
                        progress: bool = True) -> dict:
    """Fine-tune `encoder` in place on the strings `keys` of the concepts in `labels` (strings × concepts);
    returns the mean loss of each epoch and the time taken."""
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    epochs_pairs = [alignment_pairs(labels, rng) for _ in range(config.epochs)]
    if not len(epochs_pairs[0]):
        raise SpacyXmrError("no concept has two distinct strings (names, synonyms or mentions): nothing to align")
    steps_per_epoch = math.ceil(len(epochs_pairs[0]) / config.batch_size)
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=config.lr, weight_decay=0.01)
    total = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    start, epoch_losses = time.perf_counter(), []
    encoder.model.train()
    try:
        for epoch, pairs in enumerate(epochs_pairs):
            pairs = pairs[rng.permutation(len(pairs))]
            losses = []
            bar = tqdm(range(0, len(pairs), config.batch_size), desc=f"dense encoder epoch {epoch + 1}/{config.epochs}",
                       unit="step", disable=not progress)
            for lo in bar:
                batch = pairs[lo:lo + config.batch_size]
                if len(batch) < 2:
                    continue  # a lone pair has no negative
                embedded = encoder.embed([keys[i] for i in batch[:, 0]] + [keys[i] for i in batch[:, 1]])
                concept = torch.as_tensor(batch[:, 2], device=embedded.device)
                partner = torch.as_tensor(batch[:, 1], device=embedded.device)
                same = (concept[:, None] == concept[None, :]) | (partner[:, None] == partner[None, :])
                loss = alignment_loss(embedded[:len(batch)], embedded[len(batch):], same, config.temperature)
                if not torch.isfinite(loss):
                    raise SpacyXmrError(f"dense encoder training loss became {loss.item()}; lower the learning rate")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(encoder.model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            epoch_losses.append(float(np.mean(losses)))
            logger.info("dense encoder epoch %d: mean loss %.4f", epoch + 1, epoch_losses[-1])
    finally:
        encoder.model.eval()
    return {"config": config.to_dict(), "n_pairs_per_epoch": len(epochs_pairs[0]), "epoch_losses": epoch_losses,
            "seconds": round(time.perf_counter() - start, 1)}
