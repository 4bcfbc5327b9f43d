"""Label embeddings for the tree: PIFA, optionally mixed with each concept's own name.

PIFA makes each concept the l2-normalised sum of the feature rows of its examples. Aliases are examples
too, so a concept without any training mention is embedded by its names. With `name_weight` w > 0 the
embedding is (1 - w)·PIFA + w·(its preferred name's features), PECOS's convex combination with label
features: a concept whose many synonyms or mentions drift from its name stays clustered near that name.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .sparse_ops import l2_normalize_rows


def pifa_embeddings(features: sp.csr_matrix, labels: sp.csr_matrix) -> sp.csr_matrix:
    """concepts × features: `labels` is examples × concepts (nonzero = positive)."""
    positive = labels.copy()
    positive.data = np.ones_like(positive.data)
    return l2_normalize_rows((positive.T.tocsr() @ features).tocsr().astype(np.float32, copy=False))


def label_embeddings(features: sp.csr_matrix, labels: sp.csr_matrix, name_rows: np.ndarray, name_weight: float) -> sp.csr_matrix:
    """concepts × features: PIFA, combined with weight `name_weight` with the feature row `name_rows[c]` of
    each concept's name (-1: none, PIFA alone for that concept)."""
    pifa = pifa_embeddings(features, labels)
    if not name_weight:
        return pifa
    named = np.flatnonzero(name_rows >= 0)
    selector = sp.csr_matrix((np.ones(named.size, np.float32), (named, name_rows[named])), shape=(labels.shape[1], features.shape[0]))
    names = l2_normalize_rows((selector @ features).tocsr().astype(np.float32, copy=False))
    return ((1.0 - name_weight) * pifa + name_weight * names).tocsr()
