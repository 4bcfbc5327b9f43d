"""The kernels of prediction's device path: sparse products restricted to given cells, and the top k per row, written
against an `ArrayBackend`'s `xp` and `sparse` modules (`backend.py`) with only what cupy and cupyx.scipy.sparse have:
sparse products, `lexsort`, `searchsorted`, `bincount`, `cumsum`, fancy indexing.

Why kernels of their own: the CPU kernels loop over queries in compiled code (`parent_blocks.block_products`) or use
numpy calls that cupy lacks or limits (`np.repeat` with per-row counts, `np.partition` of ragged blocks), which suit
a CPU and not a GPU, which wants few large operations. `keep_top_k` picks the kernel of a backend (the CPU's own, or
the sort here), as `beam.beam_search` does for the margins. The same code runs with numpy and scipy as `xp` and
`sparse` (a backend standing in for a GPU): that is how the tests check it against the CPU kernels without a GPU.
"""
from __future__ import annotations

from typing import Any

from .backend import ArrayBackend
from .sparse_ops import row_ids, top_k_per_row

PRODUCT_PAIRS_AT_ONCE = 50_000_000  # multiply-adds of one restricted product: bounds its memory (12 bytes a stored cell)


def keep_top_k(backend: ArrayBackend, matrix: Any, k: int) -> Any:
    """Keep the k largest entries of each row, ties at the k-th value to the lowest columns, as
    `sparse_ops.top_k_per_row` does (which the CPU uses): here by one sort of all cells on (row, -value, column)."""
    if not backend.on_device:
        return top_k_per_row(matrix, k)
    xp = backend.xp
    matrix = matrix.tocsr()
    rows = row_ids(matrix, xp)
    keys = xp.stack([matrix.indices.astype(xp.float64), -matrix.data.astype(xp.float64), rows.astype(xp.float64)])
    order = xp.lexsort(keys)  # the rows stay in place: each cell moves only within its row
    kept = order[xp.arange(matrix.nnz) - matrix.indptr[rows] < k]
    indptr = xp.concatenate([xp.zeros(1, dtype=matrix.indptr.dtype),
                             xp.cumsum(xp.minimum(xp.diff(matrix.indptr), k)).astype(matrix.indptr.dtype)])
    return backend.sparse.csr_matrix((matrix.data[kept], matrix.indices[kept], indptr), shape=matrix.shape)


def product_at_cells(backend: ArrayBackend, features: Any, weights: Any, opened: Any) -> Any:
    """`features @ weights` at the cells of `opened` (queries × nodes), in CSR order, by products of row blocks of
    about `PRODUCT_PAIRS_AT_ONCE` multiply-adds each, read at the cells by `values_at` (the device's counterpart of
    `beam.layer_margins`)."""
    xp = backend.xp
    n_rows = features.shape[0]
    costs = xp.bincount(row_ids(features, xp), weights=xp.diff(weights.indptr)[features.indices],
                        minlength=n_rows)
    budgets = xp.arange(PRODUCT_PAIRS_AT_ONCE, float(costs.sum()), PRODUCT_PAIRS_AT_ONCE)
    ends = xp.searchsorted(xp.cumsum(costs), budgets, side="right")
    bounds = sorted({0, n_rows, *(max(1, int(end)) for end in ends.tolist())})
    parts = [values_at(backend, features[lo:hi], weights, opened[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return xp.concatenate(parts) if parts else xp.zeros(0, dtype=xp.float32)


def values_at(backend: ArrayBackend, left: Any, right: Any, pattern: Any) -> Any:
    """The values of `left @ right` at the stored cells of `pattern`, one per cell, in CSR order (0 where the product
    stores none): the product's cells, sorted by (row, column), are searched for the pattern's."""
    xp = backend.xp
    product = (left @ right).tocsr()
    product.sum_duplicates()  # canonical: the cells in (row, column) order
    if product.nnz == 0:
        return xp.zeros(pattern.nnz, dtype=xp.float32)
    n_cols = pattern.shape[1]
    have = row_ids(product, xp).astype(xp.int64) * n_cols + product.indices
    wanted = row_ids(pattern, xp).astype(xp.int64) * n_cols + pattern.indices
    at = xp.minimum(xp.searchsorted(have, wanted), product.nnz - 1)
    return xp.where(have[at] == wanted, product.data[at], 0).astype(xp.float32)
