"""PIFA label embeddings: each concept is the l2-normalised sum of the feature rows of its examples.

Aliases are examples too, so a concept without any training mention is embedded by its names.
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
