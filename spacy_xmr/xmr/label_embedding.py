"""Label embeddings for the tree: PIFA, optionally mixed with each concept's own name.

PIFA makes each concept the l2-normalised sum of the feature rows of its examples. Aliases are examples
too, so a concept without any training mention is embedded by its names. With `name_weight` w > 0 the
embedding is (1 - w)·PIFA + w·(its preferred name's features), PECOS's convex combination with label
features: a concept whose many synonyms or mentions drift from its name stays clustered near that name.

The embeddings are built a block of concepts at a time into arrays allocated once, on the device of an
`ArrayBackend` (`backend.py`: numpy/scipy, or cupy/cupyx on a GPU): a first pass over the blocks counts the cells,
a second fills them. Summed whole, PIFA and its normalisation held twice the result and the name mix five times
(a traced peak of 245 and 609 MiB beside a 119 MiB result at 10^5 synthetic concepts), gigabytes at 4×10^6
concepts; by blocks, the result and one block's temporaries (159 and 205 MiB), for a second product per block.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .backend import CPU, ArrayBackend
from .sparse_ops import l2_normalize_rows, row_blocks, stack_rows_consumed

PRODUCT_CELLS_AT_ONCE = 1 << 22  # multiply-adds of one block's products (at most): bounds its temporaries


def pifa_embeddings(features: sp.csr_matrix, labels: sp.csr_matrix, backend: ArrayBackend = CPU) -> Any:
    """concepts × features: `labels` is examples × concepts (nonzero = positive)."""
    return label_embeddings(features, labels, np.full(labels.shape[1], -1), 0.0, backend)


def label_embeddings(features: sp.csr_matrix, labels: sp.csr_matrix, name_rows: np.ndarray, name_weight: float,
                     backend: ArrayBackend = CPU) -> Any:
    """concepts × features, a float32 CSR matrix of `backend`'s sparse module: PIFA, combined with weight
    `name_weight` with the feature row `name_rows[c]` of each concept's name (-1: none, PIFA alone for that concept).
    The same floats for any block size: each row is summed and normalised on its own."""
    features = features.astype(np.float32, copy=False)  # so are the products: the result is float32
    positive = sp.csr_matrix((np.ones(labels.nnz, np.float32), labels.indices, labels.indptr), shape=labels.shape)
    by_concept = positive.T.tocsr()  # concepts × examples
    costs = by_concept @ np.diff(features.indptr).astype(np.float64)  # each concept's multiply-adds
    bounds = row_blocks(np.concatenate([[0], np.cumsum(costs)]), PRODUCT_CELLS_AT_ONCE)
    named = name_rows >= 0
    names = sp.csr_matrix((np.ones(int(named.sum()), np.float32), name_rows[named], np.concatenate([[0], np.cumsum(named)])),
                          shape=by_concept.shape)  # concepts × examples: its name's example
    with backend.activated():
        features, by_concept, names = map(backend.to_device, (features, by_concept, names))

        def block(lo: int, hi: int) -> Any:
            pifa = l2_normalize_rows((by_concept[lo:hi] @ features).tocsr(), backend.xp)
            if not name_weight:
                return pifa
            own = l2_normalize_rows((names[lo:hi] @ features).tocsr(), backend.xp)
            return ((1.0 - name_weight) * pifa + name_weight * own).tocsr()

        return _filled(backend, block, bounds, (by_concept.shape[0], features.shape[1]))


def _filled(backend: ArrayBackend, block: Callable[[int, int], Any], bounds: list[tuple[int, int]], shape: tuple[int, int]) -> Any:
    """The CSR matrix of the row blocks `block(lo, hi)` one under another: the blocks are computed once to count their
    cells and once more to copy them into arrays of that size."""
    nnz = sum(int(block(lo, hi).nnz) for lo, hi in bounds)
    return stack_rows_consumed((block(lo, hi) for lo, hi in bounds), shape, nnz, backend.xp, backend.sparse)
