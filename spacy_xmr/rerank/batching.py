"""Packed sequences -> padded tensors, with the attention mask of the `full` or `isolated` variant."""
from __future__ import annotations

from itertools import chain
from typing import Iterator, Sequence

import numpy as np
import torch

from .packing import PackedGroup, PackedSequence


def iter_group_batches(groups: Sequence[PackedGroup], batch_size: int) -> Iterator[list[PackedGroup]]:
    """Consecutive groups holding at least `batch_size` mentions (fewer for the last batch).

    Batching whole groups keeps all candidates of a mention in one batch, which the listwise loss needs.
    """
    batch: list[PackedGroup] = []
    n_mentions = 0
    for group in groups:
        batch.append(group)
        n_mentions += len(group.mention_indices)
        if n_mentions >= batch_size:
            yield batch
            batch, n_mentions = [], 0
    if batch:
        yield batch


def document_chunks(document_ids: Sequence[str], size: int) -> list[list[int]]:
    """Indices of the mentions, whole documents at a time, at least `size` mentions per chunk (fewer for the
    last): packing one chunk at a time bounds memory on a large corpus, and a context never straddles two chunks."""
    by_document: dict[str, list[int]] = {}
    for index, document_id in enumerate(document_ids):
        by_document.setdefault(document_id, []).append(index)
    chunks, chunk = [], []
    for members in by_document.values():
        chunk += members
        if len(chunk) >= size:
            chunks.append(chunk)
            chunk = []
    return chunks + [chunk] if chunk else chunks


def iter_sequence_batches(groups: Sequence[PackedGroup], batch_size: int) -> Iterator[list[PackedSequence]]:
    """Inference batches: all sequences sorted by length, cut so that each batch pads to about as many tokens
    as `batch_size` average mentions hold.

    Scoring needs no mention's candidates together (training does: see `iter_group_batches`), so sequences of
    similar length share a batch and little is spent on padding: with one pair per sequence (`base`), batching
    whole mentions padded every pair to the longest candidate of the batch (24–40 % more tokens on NCBI Disease).
    """
    sequences = sorted((s for group in groups for s in group.sequences), key=lambda s: len(s.input_ids))
    n_mentions = sum(len(group.mention_indices) for group in groups)
    if not sequences:
        return
    budget = batch_size * sum(len(s.input_ids) for s in sequences) / max(1, n_mentions)
    batch: list[PackedSequence] = []
    for sequence in sequences:  # ascending lengths: the newest sequence sets the batch's padded width
        if batch and (len(batch) + 1) * len(sequence.input_ids) > budget:
            yield batch
            batch = []
        batch.append(sequence)
    yield batch


def collate(sequences: Sequence[PackedSequence], isolated: bool, pad_id: int, position_offset: int = 0,
            device: torch.device | str = "cpu") -> dict:
    """Tensors on `device` for the encoder plus the slot index tensors (batch row, position, mention, candidate).

    `isolated` builds, on `device`, a boolean (batch, 1, query, key) mask: a key is visible when it is context
    or in the query's own candidate segment; padding is never visible. Batches whose sequences hold one
    candidate each need no such mask (isolated and full attention coincide), so they keep the plain padding
    mask and the fastest attention kernels. `position_offset` shifts position ids for RoBERTa-style encoders.
    """
    sizes = [len(s.input_ids) for s in sequences]
    n_tokens = sum(sizes)
    lengths = torch.tensor(sizes, device=device)
    filled = torch.arange(int(lengths.max()), device=device)[None, :] < lengths[:, None]

    def padded(attribute: str, value: int) -> torch.Tensor:
        # one flat array per attribute, scattered into the padded matrix: far cheaper than a tensor per row
        values = np.fromiter(chain.from_iterable(getattr(s, attribute) for s in sequences), dtype=np.int64, count=n_tokens)
        flat = torch.from_numpy(values).to(device, non_blocking=True)
        matrix = torch.full(filled.shape, value, dtype=flat.dtype, device=device)
        matrix[filled] = flat
        return matrix

    segments = padded("segment_ids", -1)
    batch = {"input_ids": padded("input_ids", pad_id), "token_type_ids": (segments > 0).long()}  # context 0, candidates 1
    if isolated and any(len(s.slots) > 1 for s in sequences):
        query, key = segments[:, :, None], segments[:, None, :]
        mask = (key == 0) | ((key == query) & (key > 0))
        mask[:, :, 0] = True  # every row sees [CLS], so padding rows are never empty
        batch["attention_mask"] = mask[:, None]
        batch["position_ids"] = padded("position_ids", 0) + position_offset
    else:
        batch["attention_mask"] = (segments >= 0).long()
    slots = torch.tensor([(row, *slot) for row, s in enumerate(sequences) for slot in s.slots], device=device)
    batch.update(slot_row=slots[:, 0], slot_mention=slots[:, 1], slot_candidate=slots[:, 2], slot_position=slots[:, 3])
    return batch
