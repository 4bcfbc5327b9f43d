"""Marker tokens added to the tokenizer: `[M{j}]`/`[/M{j}]` around mention j, `[C{j}]` before each of its candidates.

Numbering the markers keeps mentions distinct in a shared context (two identical surface forms in
one sentence get different markers) and ties each candidate segment to its mention.
"""
from __future__ import annotations

from dataclasses import dataclass


def mention_start(j: int) -> str:
    return f"[M{j}]"


def mention_end(j: int) -> str:
    return f"[/M{j}]"


def candidate_marker(j: int) -> str:
    return f"[C{j}]"


def marker_tokens(n_mentions: int) -> list[str]:
    """All marker strings for sequences holding up to `n_mentions` mentions."""
    return [m for j in range(n_mentions) for m in (mention_start(j), mention_end(j), candidate_marker(j))]


@dataclass(frozen=True)
class MarkerIds:
    """Token ids of the markers, the separator and the classifier token of one tokenizer."""

    start: tuple[int, ...]
    end: tuple[int, ...]
    candidate: tuple[int, ...]
    cls: int
    sep: int

    @classmethod
    def from_tokenizer(cls, tokenizer, n_mentions: int) -> "MarkerIds":
        ids = tokenizer.convert_tokens_to_ids
        unknown = tokenizer.unk_token_id
        start = tuple(ids(mention_start(j)) for j in range(n_mentions))
        end = tuple(ids(mention_end(j)) for j in range(n_mentions))
        candidate = tuple(ids(candidate_marker(j)) for j in range(n_mentions))
        if unknown in start + end + candidate:
            from ..errors import ModelLoadError

            raise ModelLoadError("the tokenizer lacks the reranker marker tokens; add them with `add_marker_tokens`")
        cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        return cls(start, end, candidate, cls_id, sep_id)


def add_marker_tokens(tokenizer, n_mentions: int) -> int:
    """Add the markers as special tokens (never split, never lower-cased); returns how many were new."""
    return tokenizer.add_tokens(marker_tokens(n_mentions), special_tokens=True)
