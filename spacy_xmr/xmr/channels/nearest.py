"""The nearest channel: a concept scores the TF-IDF cosine of its closest example string to the query.

It covers the near-misses that no exact lookup finds (plurals, word order, a misspelling). The strings compared are
those the term index finds, plus those of the concepts the label tree scored best (`tree_candidates`), which the
index misses when a query's match rests on common n-grams, and more often with its lists cut (`max_postings`).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ...errors import ModelLoadError
from ..arrays import load_matrix, save_matrix, stored
from ..device_kernels import keep_top_k
from ..example_strings import ExampleStrings
from ..scratch import zeroed_float32
from ..sparse_ops import cut_long_rows, max_over_mapped, max_per_cell, pair_dots, row_ids, top_k_per_row, transpose_rows_consumed
from .base import Channel, ModelParts, QueryBatch, TrainingInputs

if TYPE_CHECKING:
    from ..config import NearestConfig, XMRConfig

# (query, string) pairs a device's shortlist forms at once: with millions of strings even a query's rarest n-grams
# are shared by many of them, and one product for a whole batch would take gigabytes (a CPU adds up each query's
# postings on its own: `_shortlist`)
DEVICE_PAIRS_AT_ONCE = 20_000_000
# (query, string) cosines at once on a GPU, where each pair copies both rows (about 100 n-grams each)
GPU_COSINE_PAIRS_AT_ONCE = 2_000_000
TERM_INDEX_ROWS = 100_000  # example strings cut to their heaviest terms at once
TERM_INDEX_FILE = "term_index"
SHORTLIST_SUMS = "shortlist_sums"  # the CPU shortlist's running sums, one per string (`scratch.zeroed_float32`)


def _row_spans(queries: sp.csr_matrix, posting_lengths: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive row ranges of `queries` whose products with the posting lists form about `budget` pairs
    each (a single row may exceed it); every row in exactly one range."""
    pairs = np.zeros(queries.shape[0], dtype=np.int64)
    np.add.at(pairs, row_ids(queries), posting_lengths[queries.indices])
    ends = np.searchsorted(np.cumsum(pairs), np.arange(budget, int(pairs.sum()), budget), side="right")
    bounds = np.unique(np.concatenate([[0], np.maximum(ends, 1), [queries.shape[0]]]))
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def _cut_postings(by_term: sp.csr_matrix, max_postings: int) -> sp.csr_matrix:
    """Each term's `max_postings` heaviest strings (0: all); `by_term` itself where no list is longer."""
    return cut_long_rows(by_term, max_postings) if max_postings else by_term


def _shortlist(backend, cut, by_term, top_aliases: int, spans: list[tuple[int, int]] | None):
    """queries × example strings: the `top_aliases` largest of `cut @ by_term` per query (ties to the lowest strings).
    On a CPU (`spans` None) each query's posting lists are added up by a compiled loop; on a device, by products of the
    row `spans` (measured on the CPU's index: `by_term` is the device's copy)."""
    if spans is None:
        from ..compiled_loops import top_k_of_postings

        counts, strings, sums = top_k_of_postings(cut.indptr, cut.indices, cut.data.astype(np.float32, copy=False),
                                                  by_term.indptr, by_term.indices, by_term.data.astype(np.float32, copy=False),
                                                  top_aliases, zeroed_float32(SHORTLIST_SUMS, by_term.shape[1]))
        return sp.csr_matrix((sums, strings, np.concatenate([[0], np.cumsum(counts)])), shape=(cut.shape[0], by_term.shape[1]))
    cut = backend.to_device(cut)
    return backend.sparse.vstack([keep_top_k(backend, (cut[lo:hi] @ by_term).tocsr(), top_aliases) for lo, hi in spans],
                                 format="csr")


def _cosines(backend, queries, strings, query_rows, string_rows):
    """The dot product of each (query row, string row) pair (unit rows: their cosine). On a CPU a compiled loop reads
    the rows in place (`pair_dots`); on a device, rows are copied and multiplied a bounded number of pairs at a time."""
    if not backend.on_device:
        return pair_dots(queries, strings, query_rows, string_rows)
    step, xp = GPU_COSINE_PAIRS_AT_ONCE, backend.xp
    return xp.concatenate([xp.asarray(queries[query_rows[lo:lo + step]].multiply(strings[string_rows[lo:lo + step]])
                                      .sum(axis=1)).ravel() for lo in range(0, max(len(query_rows), 1), step)])


class NearestChannel(Channel):
    name = "nearest"

    def __init__(self, examples: ExampleStrings, settings: "NearestConfig"):
        self.examples = examples
        self.settings = settings
        self._by_term: sp.csr_matrix | None = None  # built with the trained `max_postings`: the one saved
        self._in_use: tuple[int, sp.csr_matrix] | None = None  # (max_postings, term index) that scoring reads
        self._device_copies: dict = {}  # the term index and strings on a GPU (`ArrayBackend.resident`)
        self._tree_candidates = settings.tree_candidates  # as `prepare` was last given
        self._strings_of_concepts: sp.csr_matrix | None = None  # concepts × example strings, for `tree_candidates`

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "NearestChannel":
        return cls(inputs.examples, inputs.config.nearest)

    def prepare(self, config: "XMRConfig | None" = None) -> None:
        """The term index that scoring reads: for `config`'s `nearest.max_postings` (default: the trained one).

        A smaller bound than the trained one cuts the trained index; a larger one (or none) needs the postings
        it dropped, so the index is built again from the stored features (about a minute at 10^6 concepts).
        """
        max_postings = self.settings.max_postings if config is None else config.nearest.max_postings
        self._tree_candidates = self.settings.tree_candidates if config is None else config.nearest.tree_candidates
        if self._tree_candidates and self._strings_of_concepts is None:
            self._strings_of_concepts = self.examples.labels.T.tocsr()
        if self._in_use is not None and self._in_use[0] == max_postings:
            return
        trained = self.settings.max_postings
        if not trained or 0 < max_postings <= trained:  # the trained index holds every posting the bound keeps
            index = _cut_postings(self.term_index(), max_postings)
        else:
            index = self._built_index(max_postings)
        self._in_use = (max_postings, index)
        self._device_copies.clear()  # a GPU's copy was of the index in use before

    def term_index(self) -> sp.csr_matrix:
        """terms × example strings as trained (built on first use): each string under its `index_terms` heaviest
        terms, each term over its `max_postings` heaviest strings.

        A query reaches a string through the query's rarest n-grams, which are among that string's heaviest
        too; a string's common n-grams would only lengthen the posting lists (at 10^6 concepts the full
        transposed matrix is gigabytes and most of the shortlist's time). A term common enough to reach more than
        `max_postings` strings still reaches those it weighs most in: the short strings it is most of.
        """
        if self._by_term is None:
            self._by_term = self._built_index(self.settings.max_postings)
        return self._by_term

    def _built_index(self, max_postings: int) -> sp.csr_matrix:
        features, index_terms = self.examples.features, self.settings.index_terms
        heaviest = lambda: (top_k_per_row(features[lo:lo + TERM_INDEX_ROWS], index_terms)
                            for lo in range(0, features.shape[0], TERM_INDEX_ROWS))
        n_stored = int(np.minimum(np.diff(features.indptr), index_terms).sum())
        return _cut_postings(transpose_rows_consumed(heaviest, features.shape, n_stored), max_postings)

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        """queries × concepts: for each concept among the `top_aliases` nearest strings, its best cosine.

        Candidates are found with each query cut to its `query_terms` heaviest features (the rarest n-grams, whose
        posting lists are short: common n-grams would make the product nearly dense) in the term index, then scored
        with the exact cosine. On a GPU (`queries.backend`) the products, the cut to `top_aliases` and the cosines
        run there; the concepts are gathered on the CPU.
        """
        if self._in_use is None:
            self.prepare()
        backend, features, strings = queries.backend, queries.features, self.examples.features
        cut, by_term = top_k_per_row(features, self.settings.query_terms), self._in_use[1]
        spans = _row_spans(cut, np.diff(by_term.indptr), DEVICE_PAIRS_AT_ONCE) if backend.on_device else None
        if backend.on_gpu:
            by_term, strings = backend.resident(self._device_copies, "strings",
                                                lambda: (backend.to_device(by_term), backend.to_device(strings)))
        queried = backend.to_device(features)
        shortlist = _shortlist(backend, cut, by_term, self.settings.top_aliases, spans)
        query = row_ids(shortlist, backend.xp)
        similarities = _cosines(backend, queried, strings, query, shortlist.indices)
        query, similarities, nearest = (backend.to_cpu(array) for array in (query, similarities, shortlist.indices))
        labels = self.examples.labels
        scores = max_over_mapped(query, similarities, labels[nearest], (features.shape[0], labels.shape[1]))
        proposed = queries.earlier.get("tree")
        if self._tree_candidates and proposed is not None:
            scores = scores.maximum(self._proposed_cosines(backend, queried, strings, proposed)).tocsr()
        return scores

    def _proposed_cosines(self, backend, queried, strings, proposed: sp.csr_matrix) -> sp.csr_matrix:
        """queries × concepts: each of the `tree_candidates` concepts the tree scores best for a query at the cosine of
        its closest string (none where no string shares an n-gram with the query). The concept alone gets it: a
        string of several concepts (an abbreviation) does not carry the tree's choice to the others."""
        concepts = top_k_per_row(proposed, self._tree_candidates)
        their_strings = self._strings_of_concepts[concepts.indices]  # a row per (query, concept) cell
        counts = np.diff(their_strings.indptr)
        query, concept = np.repeat(row_ids(concepts), counts), np.repeat(concepts.indices, counts)
        similarities = backend.to_cpu(_cosines(backend, queried, strings, backend.to_device(query),
                                               backend.to_device(their_strings.indices)))
        shared = similarities > 0
        return max_per_cell(query[shared], concept[shared], similarities[shared], concepts.shape)

    def save(self, directory: Path) -> None:
        """The term index if built: a function of the stored features, but at 10^6 concepts a minute's work."""
        if self._by_term is not None:
            save_matrix(directory / TERM_INDEX_FILE, self._by_term)

    @classmethod
    def load(cls, parts: ModelParts) -> "NearestChannel":
        """The saved term index, which was built for the model's own `nearest.index_terms`; built on first use when absent."""
        channel = cls(parts.examples, parts.config.nearest)
        path = parts.directory / TERM_INDEX_FILE
        if stored(path):
            by_term = load_matrix(path)
            if by_term.shape != parts.examples.features.shape[::-1]:
                raise ModelLoadError(f"{path}: shape {by_term.shape} does not match the example strings' features "
                                     f"{parts.examples.features.shape[::-1]}; delete it to rebuild it on first use")
            channel._by_term = by_term
        return channel
