"""The alias and overlap features of a batch of (mention, candidate) pairs, computed for all pairs at once.

A mention is read as one or two keys (its normalised text, and its long form where its document defines one), a
concept as its first `MAX_NAMES` normalised names. Every (key, name) pair behind a (mention, candidate) pair is
compared by its character-trigram and word sets, as row-wise products of binary sparse matrices; a candidate's
closest name is the pair of highest trigram Jaccard, then highest word Jaccard, then the first (keys before long
forms, names in the ontology's order). Per-pair Python took two thirds of the ranker's time; this takes a few percent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..ontology import Ontology
from ..xmr import normalize_text
from ..xmr.sparse_ops import pair_dots
from .pairs import DistinctPairs, binary_rows, concatenated, pair_indexes

MAX_NAMES = 50  # names compared per concept: MEDIC's longest synonym lists add time, not signal
NO_MATCH, SAME_WORDS, SYNONYM, PREFERRED_NAME = 0.0, 1.0, 2.0, 3.0  # alias_match values
STRING_FEATURES = ("alias_match", "word_jaccard", "char_jaccard", "length_ratio", "missing_words", "extra_words")


def trigrams(key: str) -> set[str]:
    padded = f" {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


@dataclass
class StringRows:
    """Normalised strings, one row each: an id shared by equal names (-1: no concept's name), length, sizes of the
    trigram and word sets, and those sets as ids into the index's vocabularies (CSR `indices` / `indptr` layout)."""

    string_ids: np.ndarray
    lengths: np.ndarray
    n_trigrams: np.ndarray
    n_words: np.ndarray
    trigram_ids: np.ndarray
    trigram_counts: np.ndarray  # ids kept per row (a key's trigrams that no name has are dropped: they match nothing)
    word_ids: np.ndarray
    word_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def matrices(self, n_trigrams: int, n_words: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The rows' binary trigram and word matrices."""
        return binary_rows(self.trigram_ids, self.trigram_counts, n_trigrams), binary_rows(self.word_ids, self.word_counts, n_words)


class NameIndex:
    """The normalised names of the concepts met so far, with vocabularies of their strings, trigrams and words.

    A concept is read on first use and kept, so a pipeline pays for the concepts it meets only."""

    def __init__(self, ontology: Ontology):
        self.ontology = ontology
        self._strings: dict[str, int] = {}
        self._trigrams: dict[str, int] = {}
        self._words: dict[str, int] = {}
        self._concepts: dict[str, StringRows] = {}

    def names(self, concept_id: str) -> StringRows:
        if concept_id not in self._concepts:
            concept = self.ontology.get(concept_id)
            names = [normalize_text(alias) for alias in (concept.aliases if concept else [])[:MAX_NAMES]]
            self._concepts[concept_id] = self._rows(names, register=True)
        return self._concepts[concept_id]

    def keys(self, keys: Sequence[str]) -> StringRows:
        """Rows of normalised mention keys, against the vocabularies of the names read so far."""
        return self._rows(keys, register=False)

    def _rows(self, keys: Sequence[str], register: bool) -> StringRows:
        def ids(items: set[str], vocabulary: dict[str, int]) -> list[int]:
            if register:
                return [vocabulary.setdefault(item, len(vocabulary)) for item in items]
            return [vocabulary[item] for item in items if item in vocabulary]

        string_ids, lengths, n_trigrams, n_words, trigram_ids, trigram_counts, word_ids, word_counts = [], [], [], [], [], [], [], []
        for key in keys:
            key_trigrams, key_words = trigrams(key), set(key.split())
            string_ids.append(self._strings.setdefault(key, len(self._strings)) if register else self._strings.get(key, -1))
            lengths.append(len(key))
            n_trigrams.append(len(key_trigrams))
            n_words.append(len(key_words))
            row_trigrams, row_words = ids(key_trigrams, self._trigrams), ids(key_words, self._words)
            trigram_ids += row_trigrams
            trigram_counts.append(len(row_trigrams))
            word_ids += row_words
            word_counts.append(len(row_words))
        return StringRows(*(np.asarray(values, dtype=np.int64) for values in (
            string_ids, lengths, n_trigrams, n_words, trigram_ids, trigram_counts, word_ids, word_counts)))

    def vocabulary_sizes(self) -> tuple[int, int]:
        return len(self._trigrams), len(self._words)


def _jaccard(common: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    union = a + b - common
    return common / np.where(union == 0, 1, union)


def string_features(index: NameIndex, pairs: DistinctPairs) -> np.ndarray:
    """len(pairs) × STRING_FEATURES of each distinct (mention keys, concept) pair (the keys: the mention's normalised
    text first, then its long form if any); zeros for a concept without names."""
    if not len(pairs):
        return np.zeros((0, len(STRING_FEATURES)))
    return _pairwise_string_features(index, pairs.key_sets, pairs.key_set, pairs.concept, pairs.concepts)


def _pairwise_string_features(index: NameIndex, mention_keys: Sequence[Sequence[str]], owners: np.ndarray,
                              concept_of_row: np.ndarray, unique: Sequence[str]) -> np.ndarray:
    """`string_features` of rows whose concepts are `unique[concept_of_row]`, each (key, name) pair compared."""
    out = np.zeros((len(concept_of_row), len(STRING_FEATURES)))
    name_parts = [index.names(concept_id) for concept_id in unique]
    names = concatenated(StringRows, name_parts)
    keys = index.keys([key for keys in mention_keys for key in keys])
    names_per_concept = np.array([len(part) for part in name_parts], dtype=np.int64)
    name_count = names_per_concept[concept_of_row]
    name_start = (np.cumsum(names_per_concept) - names_per_concept)[concept_of_row]
    keys_per_mention = np.array([len(keys) for keys in mention_keys], dtype=np.int64)
    key_count = keys_per_mention[owners]
    key_start = (np.cumsum(keys_per_mention) - keys_per_mention)[owners]
    group, key, name = pair_indexes(key_start, key_count, name_start, name_count)
    if not len(group):
        return out

    key_trigrams, key_words = keys.matrices(*index.vocabulary_sizes())
    name_trigrams, name_words = names.matrices(*index.vocabulary_sizes())
    common_trigrams = pair_dots(key_trigrams, name_trigrams, key, name)  # counts: exact in float32
    common_words = pair_dots(key_words, name_words, key, name)
    chars = _jaccard(common_trigrams, keys.n_trigrams[key], names.n_trigrams[name])
    words = _jaccard(common_words, keys.n_words[key], names.n_words[name])
    same_words = (common_words == keys.n_words[key]) & (common_words == names.n_words[name])
    same_string = keys.string_ids[key] == names.string_ids[name]
    first_name = name == name_start[group]
    alias = np.where(same_string, np.where(first_name, PREFERRED_NAME, SYNONYM), np.where(same_words, SAME_WORDS, NO_MATCH))

    groups, starts = np.unique(group, return_index=True)
    best_chars = np.maximum.reduceat(chars, starts)
    closest_chars = chars == best_chars[np.searchsorted(groups, group)]
    best_words = np.maximum.reduceat(np.where(closest_chars, words, -1.0), starts)
    chosen_mask = closest_chars & (words == best_words[np.searchsorted(groups, group)])
    chosen_pairs = np.flatnonzero(chosen_mask)
    chosen = chosen_pairs[np.unique(group[chosen_pairs], return_index=True)[1]]  # the first of the closest, per group
    key_length, name_length = keys.lengths[key[chosen]], names.lengths[name[chosen]]
    out[groups] = np.stack([
        np.maximum.reduceat(alias, starts), best_words, best_chars,
        np.minimum(key_length, name_length) / np.maximum(np.maximum(key_length, name_length), 1),
        names.n_words[name[chosen]] - common_words[chosen], keys.n_words[key[chosen]] - common_words[chosen],
    ], axis=1)
    return out
