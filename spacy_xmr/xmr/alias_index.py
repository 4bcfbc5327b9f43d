"""The string channels beside the tree: exact normalised-alias lookup and TF-IDF nearest neighbours.

713 of 960 NCBI test mentions equal, after normalisation, an alias or a training mention: for
those a lookup is both exact and cheap, and a concept reachable only through such a string must
be found even where the tree routes elsewhere. The nearest-neighbour channel scores a concept by
the cosine of its closest example string, which covers near-misses (plurals, word order).
The word-key channel looks the strings up once more by `word_key` (word order, plurals, British
spelling and function words ignored) and by the word keys that learned rewrites (`rewrites.py`)
reach from it: it finds "Prostatic Neoplasms" for "prostate carcinomas", which no name spells out.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError
from .normalize import word_key
from .rewrites import Rewrites, learn_rewrites
from .sparse_ops import max_over_mapped, row_ids, scale_rows_to_max_one, stack_rows_consumed, top_k_per_row

# (query, alias) pairs the nearest-neighbour shortlist forms at once: with millions of aliases even a query's
# rarest n-grams are shared by many of them, and one product for a whole batch would take gigabytes.
NN_PAIRS_AT_ONCE = 20_000_000
TERM_INDEX_ROWS = 100_000  # example strings cut to their heaviest terms at once
# The prediction indexes as a model directory stores them (`save_indexes`), each optional.
TERM_INDEX_FILE, WORD_KEYS_FILE, WORD_LABELS_FILE, REWRITES_FILE = "term_index.npz", "word_keys.json", "word_labels.npz", "rewrites.json"
INDEX_FILES = (TERM_INDEX_FILE, WORD_KEYS_FILE, WORD_LABELS_FILE, REWRITES_FILE)


def _row_spans(queries: sp.csr_matrix, posting_lengths: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive row ranges of `queries` whose products with the posting lists form about `budget` pairs
    each (a single row may exceed it); every row in exactly one range."""
    pairs = np.zeros(queries.shape[0], dtype=np.int64)
    np.add.at(pairs, row_ids(queries), posting_lengths[queries.indices])
    ends = np.searchsorted(np.cumsum(pairs), np.arange(budget, int(pairs.sum()), budget), side="right")
    bounds = np.unique(np.concatenate([[0], np.maximum(ends, 1), [queries.shape[0]]]))
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


class AliasIndex:
    """Example strings (normalised), their concepts with support weights, and their feature rows."""

    def __init__(self, keys: list[str], labels: sp.csr_matrix, features: sp.csr_matrix):
        self.keys = keys
        self.labels = labels.tocsr()
        self.features = features.tocsr()
        self._row = {key: i for i, key in enumerate(keys)}
        self._by_term: tuple[int, sp.csr_matrix] | None = None  # (index_terms, the term index)
        self._word_keys: dict[str, int] | None = None
        self._word_labels: sp.csr_matrix | None = None  # word keys × concepts, each row scaled so its best is 1
        self._rewrites: dict[int, Rewrites] = {}

    def are_examples(self, texts: list[str]) -> np.ndarray:
        """For each text, whether it is an example string."""
        return np.fromiter((text in self._row for text in texts), dtype=bool, count=len(texts))

    def exact(self, texts: list[str]) -> sp.csr_matrix:
        """queries × concepts: support of each concept for the query's exact string, scaled so the best is 1."""
        found = [(i, self._row[text]) for i, text in enumerate(texts) if text in self._row]
        selector = sp.csr_matrix(
            (np.ones(len(found), np.float32), ([i for i, _ in found], [r for _, r in found])),
            shape=(len(texts), len(self.keys)),
        )
        return scale_rows_to_max_one((selector @ self.labels).tocsr())

    def term_index(self, index_terms: int) -> sp.csr_matrix:
        """terms × example strings: each string under its `index_terms` heaviest terms only (built on first use).

        A query reaches a string through the query's rarest n-grams, which are among that string's heaviest
        too; a string's common n-grams would only lengthen the posting lists (at 10^6 concepts the full
        transposed matrix is gigabytes and most of the shortlist's time).
        """
        if self._by_term is None or self._by_term[0] != index_terms:
            rows = self.features.shape[0]
            heaviest = (top_k_per_row(self.features[lo:lo + TERM_INDEX_ROWS], index_terms) for lo in range(0, rows, TERM_INDEX_ROWS))
            n_stored = int(np.minimum(np.diff(self.features.indptr), index_terms).sum())
            self._by_term = None  # the old index goes before the new one is built
            self._by_term = (index_terms, stack_rows_consumed(heaviest, self.features.shape, n_stored).T.tocsr())
        return self._by_term[1]

    def nearest(self, features: sp.csr_matrix, top_aliases: int, query_terms: int, index_terms: int) -> sp.csr_matrix:
        """queries × concepts: for each concept among the `top_aliases` nearest strings, its best cosine.

        Candidates are found with each query cut to its `query_terms` heaviest features (the
        rarest n-grams, whose posting lists are short: common n-grams would make the product
        nearly dense) in the index of each string's `index_terms` heaviest features, then scored
        with the exact cosine.
        """
        cut, by_term = top_k_per_row(features, query_terms), self.term_index(index_terms)
        shortlist = sp.vstack([top_k_per_row((cut[lo:hi] @ by_term).tocsr(), top_aliases)
                               for lo, hi in _row_spans(cut, np.diff(by_term.indptr), NN_PAIRS_AT_ONCE)], format="csr")
        similarities = shortlist.copy()
        query = row_ids(similarities)
        similarities.data = np.asarray(features[query].multiply(self.features[similarities.indices]).sum(axis=1)).ravel()
        return max_over_mapped(query, similarities.data, self.labels[similarities.indices], (features.shape[0], self.labels.shape[1]))

    def _word_index(self) -> None:
        """Group the example strings by word key (built on first use: it is a function of the stored keys)."""
        if self._word_keys is not None:
            return
        word_keys = [word_key(key) for key in self.keys]
        unique, inverse = np.unique(np.array(word_keys, dtype=object), return_inverse=True)
        grouping = sp.csr_matrix(
            (np.ones(len(word_keys), np.float32), (inverse.ravel(), np.arange(len(word_keys)))), shape=(len(unique), len(word_keys))
        )
        self._word_labels = scale_rows_to_max_one((grouping @ self.labels).tocsr())
        self._word_keys = {key: i for i, key in enumerate(unique.tolist())}

    def rewrites(self, min_concepts: int) -> Rewrites:
        """The word rewrites that at least `min_concepts` concepts attest among their example strings."""
        if min_concepts not in self._rewrites:
            self._word_index()
            sets = [frozenset(key.split()) for key in self._word_keys]
            by_concept = self._word_labels.T.tocsr()
            self._rewrites[min_concepts] = learn_rewrites(
                ([sets[row] for row in by_concept.indices[lo:hi]] for lo, hi in zip(by_concept.indptr[:-1], by_concept.indptr[1:])),
                min_concepts,
            )
        return self._rewrites[min_concepts]

    # ---- the indexes on disk ----------------------------------------------------------
    def save_indexes(self, directory: Path, index_terms: int) -> None:
        """Write the prediction indexes built so far (the term index if built for `index_terms`), so that a loaded
        model need not rebuild them: they are functions of the stored strings and features, but at 10^6 concepts
        building them takes most of a minute."""
        if self._by_term is not None and self._by_term[0] == index_terms:
            sp.save_npz(directory / TERM_INDEX_FILE, self._by_term[1], compressed=False)
        if self._word_keys is not None:
            (directory / WORD_KEYS_FILE).write_text(json.dumps(list(self._word_keys), ensure_ascii=False), encoding="utf8")
            sp.save_npz(directory / WORD_LABELS_FILE, self._word_labels, compressed=False)
        if self._rewrites:
            rewrites = [{"min_concepts": min_concepts, **r.to_dict()} for min_concepts, r in sorted(self._rewrites.items())]
            (directory / REWRITES_FILE).write_text(json.dumps(rewrites, ensure_ascii=False), encoding="utf8")

    def load_indexes(self, directory: Path, index_terms: int) -> None:
        """Read the indexes `save_indexes` wrote (a model saved without them builds them on first use).

        `index_terms`: the setting `save_indexes` was given, which the stored term index was built for.
        """
        path = directory / TERM_INDEX_FILE
        try:
            if path.exists():
                matrix = sp.load_npz(path).tocsr()
                if matrix.shape != (self.features.shape[1], len(self.keys)):
                    raise ValueError(f"shape {matrix.shape} does not match the alias features {self.features.shape[::-1]}")
                self._by_term = (index_terms, matrix)
            path = directory / WORD_KEYS_FILE
            if path.exists():
                word_keys = json.loads(path.read_text(encoding="utf8"))
                path = directory / WORD_LABELS_FILE
                word_labels = sp.load_npz(path).tocsr()
                if word_labels.shape != (len(word_keys), self.labels.shape[1]):
                    raise ValueError(f"shape {word_labels.shape} does not match {len(word_keys)} word keys × {self.labels.shape[1]} concepts")
                self._word_keys, self._word_labels = {key: i for i, key in enumerate(word_keys)}, word_labels
            path = directory / REWRITES_FILE
            if path.exists():
                self._rewrites = {int(r["min_concepts"]): Rewrites.from_dict(r) for r in json.loads(path.read_text(encoding="utf8"))}
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise ModelLoadError(f"{path}: missing or corrupt prediction index in the XMR model directory {directory} ({type(err).__name__}: {err}); "
                                 f"delete {', '.join(INDEX_FILES)} to rebuild them on first use, or save the model again") from err

    def word_match(self, texts: list[str], substitution_weight: float, drop_weight: float, min_concepts: int) -> sp.csr_matrix:
        """queries × concepts: support (best 1) of each concept for the query's word key, or that times
        `substitution_weight` / `drop_weight` for a key one learned rewrite away; the best per concept."""
        self._word_index()
        rewrites = self.rewrites(min_concepts) if substitution_weight or drop_weight else Rewrites()
        queries, rows, weights = [], [], []

        def add(query: int, words, weight: float) -> None:
            row = self._word_keys.get(" ".join(sorted(words)))
            if row is not None and weight > 0:
                queries.append(query)
                rows.append(row)
                weights.append(weight)

        for query, text in enumerate(texts):
            key = word_key(text)
            if not key:
                continue
            add(query, key.split(), 1.0)
            substituted, dropped = rewrites.variants(frozenset(key.split()))
            for words in substituted:
                add(query, words, substitution_weight)
            for words in dropped:
                add(query, words, drop_weight)
        return max_over_mapped(np.array(queries, dtype=np.int64), np.array(weights, dtype=np.float32),
                               self._word_labels[np.array(rows, dtype=np.int64)], (len(texts), self.labels.shape[1]), weighted=True)
