"""Word-stem overlap between a mention and a concept's names: what the string features miss when a word changes its
ending ("hypertrophic" / "hypertrophy", "epileptiform activity" / "epilepsy") or is split in two
("thrombo-embolism" / "thromboembolism").

A word's stem is its first `STEM_LENGTH` letters after `singular`; function words have none. Like `names.py`, every
(key, name) pair of a batch is compared at once, as row-wise products of binary sparse matrices of stem ids.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..ontology import Ontology
from ..xmr import normalize_text
from ..xmr.normalize import singular
from ..xmr.sparse_ops import pair_dots
from .names import MAX_NAMES
from .pairs import DistinctPairs, binary_rows, concatenated, pair_indexes

STEM_LENGTH = 6
FUNCTION_WORDS = frozenset({"of", "the", "an", "in", "with", "to", "for", "by", "on", "and", "or", "due", "associated"})
STEM_FEATURES = ("name_stems_covered", "mention_stems_covered", "compact_match")


@functools.lru_cache(maxsize=65536)  # a corpus repeats its mentions' words
def stems(key: str) -> frozenset[str]:
    """The stems of a normalised key's words: `"venous thromboembolisms"` → `{"venous", "thromb"}`."""
    return frozenset(singular(word)[:STEM_LENGTH] for word in key.split() if word not in FUNCTION_WORDS)


@functools.lru_cache(maxsize=65536)
def compact(key: str) -> str:
    """The key's words in the singular without spaces between them, so that a word split by a hyphen meets its
    one-word spelling: `"thrombo embolisms"` → `"thromboembolism"`."""
    return "".join(singular(word) for word in key.split())


@dataclass(frozen=True)
class NameStems:
    """A concept's names: their stem ids one name after another (`stem_ids`, `counts` per name), and the compact-string
    id of each name; arrays, so that a batch joins its concepts' names with one concatenation each."""

    stem_ids: np.ndarray
    counts: np.ndarray
    compacts: np.ndarray


class StemIndex:
    """Each concept's names as stem ids and a compact-string id, read on first use and kept."""

    def __init__(self, ontology: Ontology):
        self.ontology = ontology
        self.stem_ids: dict[str, int] = {}
        self.compact_ids: dict[str, int] = {}
        self._concepts: dict[str, NameStems] = {}

    def names(self, concept_id: str) -> NameStems:
        if concept_id not in self._concepts:
            concept = self.ontology.get(concept_id)
            keys = [key for key in (normalize_text(alias) for alias in (concept.aliases if concept else [])[:MAX_NAMES]) if key]
            rows = [[self.stem_ids.setdefault(stem, len(self.stem_ids)) for stem in stems(key)] for key in keys]
            self._concepts[concept_id] = NameStems(np.array([i for row in rows for i in row], dtype=np.int64),
                                                   np.array([len(row) for row in rows], dtype=np.int64),
                                                   np.array([self.compact_ids.setdefault(compact(key), len(self.compact_ids))
                                                             for key in keys], dtype=np.int64))
        return self._concepts[concept_id]

    def keys(self, keys: Sequence[str]) -> tuple[list[list[int]], list[int], list[int]]:
        """(stem ids known to the names, number of stems, compact-string id or -1) of each mention key."""
        key_stems = [stems(key) for key in keys]
        return ([[self.stem_ids[stem] for stem in found if stem in self.stem_ids] for found in key_stems], [len(found) for found in key_stems],
                [self.compact_ids.get(compact(key), -1) for key in keys])


def stem_features(index: StemIndex, pairs: DistinctPairs) -> np.ndarray:
    """len(pairs) × STEM_FEATURES of each distinct (mention keys, concept) pair (the keys: the mention's
    normalised text, then its long form if any): over the concept's names and the mention's keys, the largest share of
    a name's stems found in the key, the largest share of the key's stems found in a name, and 1 when a key and a name
    are the same string once spaces are removed."""
    out = np.zeros((len(pairs), len(STEM_FEATURES)))
    if not len(pairs):
        return out
    unique, concept_of_row, mention_keys, owners = pairs.concepts, pairs.concept, pairs.key_sets, pairs.key_set
    parts = [index.names(concept_id) for concept_id in unique]
    names = concatenated(NameStems, parts)
    key_stems, key_sizes, key_compacts = index.keys([key for keys in mention_keys for key in keys])
    names_per_concept = np.array([len(part.compacts) for part in parts], dtype=np.int64)
    keys_per_mention = np.array([len(keys) for keys in mention_keys], dtype=np.int64)
    group, key, name = pair_indexes((np.cumsum(keys_per_mention) - keys_per_mention)[owners], keys_per_mention[owners],
                                     (np.cumsum(names_per_concept) - names_per_concept)[concept_of_row], names_per_concept[concept_of_row])
    if not len(group):
        return out
    width = len(index.stem_ids)
    key_matrix = binary_rows(np.array([i for row in key_stems for i in row], dtype=np.int64),
                             np.array([len(row) for row in key_stems], dtype=np.int64), width)
    common = pair_dots(key_matrix, binary_rows(names.stem_ids, names.counts, width), key, name)  # counts: exact in float32
    name_sizes = names.counts[name].astype(np.float64)
    compared = np.stack([common / np.maximum(name_sizes, 1), common / np.maximum(np.asarray(key_sizes, dtype=np.float64)[key], 1),
                         (np.asarray(key_compacts)[key] == names.compacts[name]).astype(np.float64)], axis=1)
    groups, starts = np.unique(group, return_index=True)
    out[groups] = np.maximum.reduceat(compared, starts, axis=0)
    return out
