"""Index arithmetic behind the batch features: the distinct values of a column, the distinct (mention keys, concept)
pairs of a batch, every (key, name) pair behind them, the concepts' cached name arrays joined, and binary sparse
rows of ids.

Why: an abstract repeats its mentions, so about half of a batch's candidate rows repeat another's (mention keys,
concept) pair, and the string and stem features compare each distinct pair once. `np.unique` sorts, which over
Python strings costs several times the dict that `factorize` fills.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import scipy.sparse as sp

from ..xmr.runs import places_in_runs


def factorize(values: Sequence[Hashable]) -> tuple[list, np.ndarray]:
    """The distinct values in order of first appearance, and the index of each value among them."""
    distinct = list(dict.fromkeys(values))
    position = dict(zip(distinct, range(len(distinct))))
    return distinct, np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))


@dataclass
class DistinctPairs:
    """The distinct (mention keys, concept) pairs of a batch's candidate rows: `key_sets[key_set[i]]` and
    `concepts[concept[i]]` are pair i's, and `of_row` maps each candidate row to its pair."""

    key_sets: list[tuple[str, ...]]
    key_set: np.ndarray
    concepts: list[str]
    concept: np.ndarray
    of_row: np.ndarray

    def __len__(self) -> int:
        return len(self.key_set)

    @classmethod
    def of(cls, mention_keys: Sequence[Sequence[str]], owners: np.ndarray, concepts: list[str], concept_of: np.ndarray) -> "DistinctPairs":
        """`mention_keys[m]`: mention m's normalised keys; row i is a candidate `concepts[concept_of[i]]` of mention
        `owners[i]` (`concepts`, `concept_of`: the rows' concept ids as `factorize` gives them)."""
        key_sets, key_set_of_mention = factorize([tuple(keys) for keys in mention_keys])
        codes = key_set_of_mention[owners] * len(concepts) + concept_of
        pairs, of_row = np.unique(codes, return_inverse=True)
        return cls(key_sets, pairs // len(concepts), concepts, pairs % len(concepts), of_row.ravel())


def concatenated(cls, parts: Sequence):
    """An instance of the dataclass `cls`, whose fields are all arrays, holding the `parts`' fields one after another."""
    return cls(*(np.concatenate([getattr(part, name) for part in parts]) if parts else np.zeros(0, dtype=np.int64)
                 for name in cls.__dataclass_fields__))


def binary_rows(ids: np.ndarray, counts: np.ndarray, width: int) -> sp.csr_matrix:
    """A 0/1 matrix whose row r holds the `counts[r]` ids that follow the previous rows' in `ids`."""
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return sp.csr_matrix((np.ones(len(ids), dtype=np.float32), ids.astype(np.int64), indptr), shape=(len(counts), width))


def pair_indexes(key_start, key_count, name_start, name_count) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, key row, name row) of every key × name pair of each group (a candidate row), group after group,
    keys outer, names inner."""
    sizes = key_count * name_count
    group = np.repeat(np.arange(len(sizes)), sizes)
    offset = places_in_runs(sizes)
    names_per_key = name_count[group]
    return group, key_start[group] + offset // names_per_key, name_start[group] + offset % names_per_key
