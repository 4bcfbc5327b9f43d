"""Counting a fitted vocabulary's n-grams in new texts with numpy: the count matrix scikit-learn's `CountVectorizer`
gives over that vocabulary (`analyzer` "char_wb" or "word", `lowercase=False`), to the bit, several times faster.

Why: prediction featurises every query, and `CountVectorizer` builds each n-gram as a Python string and looks it up
in a dict, holding the GIL: a third of a CPU core's prediction time, and what capped the GPU path (everything else
of a batch runs on the GPU or in numpy). Here each n-gram is an exact integer key, its units (characters for
"char_wb", words for "word") numbered 1..A by the vocabulary's alphabet and packed `bits` to a unit: all keys of a
batch are made by a few numpy operations per n-gram length and found in the vocabulary's sorted keys by one
`searchsorted`. No hashing, so no collisions: an n-gram with a unit the vocabulary lacks is in no term, and is
dropped. Where the keys would not fit in 63 bits (an alphabet of more than 2^(63 / longest n-gram) units),
`ngram_counter` falls back to `CountVectorizer`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from .arrays import load_arrays, load_json, save_arrays, save_json

WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"  # keeps one-character tokens ("type 1 diabetes")
KEY_BITS = 63  # an n-gram's key is a non-negative int64
UNITS_FILE = "units.json"


def sklearn_counter(analyzer: str, ngram_range: Sequence[int], vocabulary=None):
    """scikit-learn's counter of this analyzer (the vocabulary's fit, and the fallback of `ngram_counter`)."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        analyzer=analyzer, ngram_range=tuple(ngram_range), lowercase=False,
        token_pattern=WORD_TOKEN_PATTERN if analyzer == "word" else None, vocabulary=vocabulary, dtype=np.float32,
    )


class PackedNgramCounter:
    """Counts the n-grams of a fixed vocabulary by exact integer keys (see the module's docstring)."""

    def __init__(self, analyzer: str, ngram_range: Sequence[int], units: dict[str, int], bits: int, keys: np.ndarray,
                 columns: np.ndarray, n_columns: int):
        self.analyzer, self.ngram_range = analyzer, tuple(ngram_range)
        self._units, self._bits = units, bits  # unit -> 1..A; 0 is a unit the vocabulary lacks
        self._keys, self._columns, self._n_columns = keys, columns, n_columns  # keys sorted, each term's column
        self._tokens = re.compile(WORD_TOKEN_PATTERN)
        characters = units if analyzer == "char_wb" else {}
        self._alphabet = np.fromiter(map(ord, characters), dtype=np.uint32, count=len(characters))  # sorted: codes 1..A

    @classmethod
    def for_vocabulary(cls, analyzer: str, ngram_range: Sequence[int], vocabulary: Sequence[str]) -> "PackedNgramCounter | None":
        """The counter of `vocabulary` (terms in column order), or None where its keys would not fit in 63 bits."""
        terms = [_units_of_term(analyzer, term) for term in vocabulary]
        units = {unit: code for code, unit in enumerate(sorted({unit for term in terms for unit in term}), start=1)}
        bits = max(1, len(units).bit_length())
        if bits * max(ngram_range[1], max(map(len, terms), default=1)) > KEY_BITS:
            return None
        keys = np.array([_packed(term, units, bits) for term in terms], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(analyzer, ngram_range, units, bits, keys[order], order.astype(np.int32), len(vocabulary))

    @property
    def n_columns(self) -> int:
        """The vocabulary's size: the count matrices' width."""
        return self._n_columns

    def save(self, path: Path) -> None:
        """Its tables in the new folder `path`: the keys and columns as `.npy` (memory-mapped by `load`), the units in
        code order as JSON."""
        save_arrays(path, keys=self._keys, columns=self._columns)
        save_json(path / UNITS_FILE, {"units": list(self._units), "bits": self._bits, "n_columns": self._n_columns})

    @classmethod
    def load(cls, path: Path, analyzer: str, ngram_range: Sequence[int]) -> "PackedNgramCounter":
        """The counter `save` wrote, its keys and columns memory-mapped: the processes that load one model share
        them, and none parses the vocabulary's strings to count."""
        arrays, tables = load_arrays(path, "keys", "columns"), load_json(path / UNITS_FILE)
        units = {unit: code for code, unit in enumerate(tables["units"], start=1)}
        return cls(analyzer, ngram_range, units, tables["bits"], arrays["keys"], arrays["columns"], tables["n_columns"])

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """texts × vocabulary float32 counts, indices sorted: `CountVectorizer(vocabulary=...).transform(texts)`."""
        codes, segment_lengths, segment_rows = self._segments(texts)
        rows, keys = [], []
        segment_end = np.repeat(np.cumsum(segment_lengths), segment_lengths)  # each position's segment end
        segment_length = np.repeat(segment_lengths, segment_lengths)
        position_row = np.repeat(segment_rows, segment_lengths)
        key = np.zeros(codes.size, dtype=np.int64)
        known = np.ones(codes.size, dtype=bool)
        low, high = self.ngram_range
        for n in range(1, high + 1):  # key[p]: the n units from p packed, while p + n stays in p's segment
            width = codes.size - n + 1
            if width <= 0:
                break
            key, known = (key[:width] << self._bits) | codes[n - 1:], known[:width] & (codes[n - 1:] > 0)
            ends = np.arange(width) + n
            if n >= low:
                fits = ends <= segment_end[:width]
            elif self.analyzer == "char_wb":  # scikit-learn counts a padded word shorter than the shortest n-gram whole
                fits = (segment_length[:width] == n) & (ends == segment_end[:width])
            else:
                continue
            kept = np.flatnonzero(known & fits)
            rows.append(position_row[kept])
            keys.append(key[kept])
        return self._counts(np.concatenate(rows) if rows else np.zeros(0, np.int64),
                            np.concatenate(keys) if keys else np.zeros(0, np.int64), len(texts))

    def _segments(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The units of every text, numbered (0: not in the vocabulary), one array; the lengths of the segments n-grams
        stay within (a word padded with a space on each side for "char_wb", a whole text for "word"); each segment's text."""
        if self.analyzer == "word":
            tokens = [self._tokens.findall(text) for text in texts]
            lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(texts))
            codes = np.fromiter((self._units.get(token, 0) for text in tokens for token in text), dtype=np.int64, count=int(lengths.sum()))
            return codes, lengths, np.arange(len(texts))
        words = [text.split() for text in texts]
        padded = "".join(f" {word} " for text in words for word in text)
        code_points = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        alphabet = self._alphabet
        at = np.minimum(np.searchsorted(alphabet, code_points), max(alphabet.size - 1, 0))
        codes = np.where(alphabet[at] == code_points, at + 1, 0).astype(np.int64) if alphabet.size else np.zeros(code_points.size, np.int64)
        lengths = np.fromiter((len(word) + 2 for text in words for word in text), dtype=np.int64, count=sum(map(len, words)))
        return codes, lengths, np.repeat(np.arange(len(texts)), [len(text) for text in words])

    def _counts(self, rows: np.ndarray, keys: np.ndarray, n_texts: int) -> sp.csr_matrix:
        """The count matrix of the (row, key) occurrences whose key is a vocabulary term."""
        if self._keys.size:
            at = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
            found = self._keys[at] == keys
            rows, columns = rows[found], self._columns[at[found]].astype(np.int64)
        else:
            rows = columns = np.zeros(0, np.int64)
        width = max(self._n_columns, 1)  # no cells at all where the vocabulary is empty
        cells, counts = np.unique(rows * width + columns, return_counts=True)
        indptr = np.searchsorted(cells // width, np.arange(n_texts + 1))
        return sp.csr_matrix((counts.astype(np.float32), (cells % width).astype(np.int32), indptr), shape=(n_texts, self._n_columns))


def _units_of_term(analyzer: str, term: str) -> list[str]:
    """A vocabulary term's units: its characters, or its words (a word n-gram is its words joined by spaces)."""
    return term.split(" ") if analyzer == "word" else list(term)


def _packed(units: list[str], codes: dict[str, int], bits: int) -> int:
    """A term's key: its units' codes, `bits` each, the first unit in the highest bits."""
    key = 0
    for unit in units:
        key = (key << bits) | codes[unit]
    return key


def ngram_counter(analyzer: str, ngram_range: Sequence[int], vocabulary: Sequence[str]):
    """A counter of `vocabulary`'s n-grams (`.transform(texts)` → float32 counts): the packed one where its keys fit,
    else scikit-learn's."""
    packed = PackedNgramCounter.for_vocabulary(analyzer, ngram_range, vocabulary)
    if packed is not None:
        return packed
    return sklearn_counter(analyzer, ngram_range, {term: column for column, term in enumerate(vocabulary)})
