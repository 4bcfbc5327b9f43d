"""Word keys looked up by a hash of their set of words: the sum of the words' hashes (mod 2^64).

Why: the word-key channel tries about a hundred rewritten keys per query at 10^6 concepts (one word substituted or
dropped), 375 at 4×10^6. Spelled out, each is sorted, joined, encoded and hashed before its lookup: 40 % of a query's
time. As a sum, a rewritten key's hash is its key's plus the edit's own change (`EditTable`), added for a whole batch
at once, and only the keys whose hash is found are spelled out, to be compared with the stored key (a hash collision
never matches two keys).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .rewrites import Rewrites
from .string_table import bytes_hash, rows_with_hashes

MASK = (1 << 64) - 1


@functools.lru_cache(maxsize=1 << 20)
def word_hash(word: str) -> int:
    return bytes_hash(word.encode("utf8"))


def set_hash(words: Iterable[str]) -> int:
    return sum(word_hash(word) for word in words) & MASK


@dataclass
class WordSetHashes:
    """`hashes` (sorted) of the word keys of rows `rows`."""

    hashes: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, keys: Iterable[str]) -> "WordSetHashes":
        hashes = np.array([set_hash(key.split()) for key in keys], dtype=np.uint64)
        rows = np.argsort(hashes, kind="stable")
        return cls(hashes[rows], rows.astype(np.int64))

    def candidates(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of `hashes`, row) for every stored key of an equal hash: a row per match, usually none or one."""
        return rows_with_hashes(self.hashes, self.rows, hashes)


@dataclass
class EditTable:
    """Every learned rewrite as arrays: edits `starts[r]:starts[r + 1]` are those of the word of row `r` (`row_of`),
    each the edit (`less[e]`, `plus[e]`) of `Rewrites.edits_of` (a drop where `drops[e]`), changing a key's set hash by
    `deltas[e]`."""

    row_of: dict[str, int]
    starts: np.ndarray
    deltas: np.ndarray
    drops: np.ndarray
    less: list[str]
    plus: list[str | None]

    @classmethod
    def of(cls, rewrites: Rewrites) -> "EditTable":
        words = sorted(set(rewrites.substitutes) | rewrites.droppable)
        edits = [list(rewrites.edits_of(word)) for word in words]
        flat = [edit for word_edits in edits for edit in word_edits]
        deltas = [((word_hash(plus) if plus is not None else 0) - word_hash(less)) & MASK for less, plus in flat]
        return cls({word: row for row, word in enumerate(words)}, np.cumsum([0] + [len(e) for e in edits], dtype=np.int64),
                   np.array(deltas, dtype=np.uint64), np.array([plus is None for _, plus in flat], dtype=bool),
                   [less for less, _ in flat], [plus for _, plus in flat])
