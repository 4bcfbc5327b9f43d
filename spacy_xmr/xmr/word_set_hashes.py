"""Word keys looked up by a hash of their set of words: the sum of the words' hashes (mod 2^64).

Why: the word-key channel tries about a hundred rewritten keys per query at 10^6 concepts (one word substituted or
dropped). Spelled out, each is sorted, joined, encoded and hashed before its lookup: 40 % of a query's time. As a
sum, a rewritten key's hash follows from its key's by one subtraction and one addition, and only the keys whose hash
is found are spelled out, to be compared with the stored key (a hash collision never matches two keys).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

import numpy as np

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
