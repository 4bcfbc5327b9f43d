"""The string channels beside the tree: exact normalised-alias lookup and TF-IDF nearest neighbours.

713 of 960 NCBI test mentions equal, after normalisation, an alias or a training mention: for
those a lookup is both exact and cheap, and a concept reachable only through such a string must
be found even where the tree routes elsewhere. The nearest-neighbour channel scores a concept by
the cosine of its closest example string, which covers near-misses (plurals, word order).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .sparse_ops import max_per_cell, row_ids, top_k_per_row


class AliasIndex:
    """Example strings (normalised), their concepts with support weights, and their feature rows."""

    def __init__(self, keys: list[str], labels: sp.csr_matrix, features: sp.csr_matrix):
        self.keys = keys
        self.labels = labels.tocsr()
        self.features = features.tocsr()
        self._row = {key: i for i, key in enumerate(keys)}
        self._features_t: sp.csr_matrix | None = None

    def exact(self, texts: list[str]) -> sp.csr_matrix:
        """queries × concepts: support of each concept for the query's exact string, scaled so the best is 1."""
        found = [(i, self._row[text]) for i, text in enumerate(texts) if text in self._row]
        selector = sp.csr_matrix(
            (np.ones(len(found), np.float32), ([i for i, _ in found], [r for _, r in found])),
            shape=(len(texts), len(self.keys)),
        )
        scores = (selector @ self.labels).tocsr()
        best = scores.max(axis=1).toarray().ravel()
        best[best == 0] = 1.0
        scores.data /= np.repeat(best, np.diff(scores.indptr)).astype(np.float32)
        return scores

    def nearest(self, features: sp.csr_matrix, top_aliases: int, query_terms: int) -> sp.csr_matrix:
        """queries × concepts: for each concept among the `top_aliases` nearest strings, its best cosine.

        Candidates are found with each query cut to its `query_terms` heaviest features (the
        rarest n-grams, whose posting lists are short: common n-grams would make the product
        nearly dense), then scored with the exact cosine.
        """
        if self._features_t is None:
            self._features_t = self.features.T.tocsr()
        shortlist = top_k_per_row((top_k_per_row(features, query_terms) @ self._features_t).tocsr(), top_aliases)
        similarities = shortlist.copy()
        query = row_ids(similarities)
        similarities.data = np.asarray(features[query].multiply(self.features[similarities.indices]).sum(axis=1)).ravel()
        per_key = self.labels[similarities.indices]
        repeat = np.diff(per_key.indptr)
        return max_per_cell(
            np.repeat(query, repeat), per_key.indices, np.repeat(similarities.data, repeat),
            (features.shape[0], self.labels.shape[1]),
        )
