"""`top_k_per_row` on rows far longer than k (cut first at a lower bound of their k-th value), `cut_long_rows`, and
`max_per_cell`."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr import sparse_ops
from spacy_xmr.xmr.sparse_ops import cut_long_rows, max_per_cell, top_k_per_row


def by_sorting(matrix: sp.csr_matrix, k: int) -> list[list[int]]:
    """Each row's k best columns by (value descending, column ascending): the order `top_k_per_row` breaks ties in."""
    matrix = matrix.tocsr()
    kept = []
    for lo, hi in zip(matrix.indptr[:-1], matrix.indptr[1:]):
        order = np.lexsort((matrix.indices[lo:hi], -matrix.data[lo:hi]))[:k]
        kept.append(sorted(matrix.indices[lo:hi][order].tolist()))
    return kept


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6), levels=st.sampled_from([2, 5, 50, 10**6]))
def test_top_k_per_row_of_long_rows_keeps_the_k_best_and_their_ties_by_column(seed, k, levels):
    """Rows far longer than k (cut first at a lower bound of their k-th value) with values of few levels (many ties) or of many."""
    rng = np.random.default_rng(seed)
    n_rows, n_cols = int(rng.integers(1, 12)), int(rng.integers(1, 3 * sparse_ops.MIN_RUN_LENGTH * sparse_ops.LONG_ROW_RUNS * k))
    dense = rng.integers(1, levels + 1, size=(n_rows, n_cols)).astype(np.float32) * (rng.random((n_rows, n_cols)) < 0.8)
    matrix = sp.csr_matrix(dense)
    shuffled = matrix.copy()
    for lo, hi in zip(shuffled.indptr[:-1], shuffled.indptr[1:]):  # a product's rows come unsorted
        order = rng.permutation(hi - lo) + lo
        shuffled.indices[lo:hi], shuffled.data[lo:hi] = shuffled.indices[order], shuffled.data[order]
    for candidate in (matrix, shuffled):
        kept = top_k_per_row(candidate, k)
        assert [sorted(kept.indices[lo:hi].tolist()) for lo, hi in zip(kept.indptr[:-1], kept.indptr[1:])] == by_sorting(matrix, k)
        assert np.array_equal(kept.toarray()[kept.toarray() != 0], dense[kept.toarray() != 0])



@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6), levels=st.sampled_from([2, 5, 10**6]))
def test_cutting_the_long_rows_keeps_the_k_best_of_each_and_the_short_rows_whole(seed, k, levels):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 4 * k, size=int(rng.integers(1, 15)))
    dense = np.zeros((lengths.size, 5 * k), dtype=np.float32)
    for row, length in enumerate(lengths):
        dense[row, rng.choice(dense.shape[1], size=length, replace=False)] = rng.integers(1, levels + 1, size=length)
    matrix = sp.csr_matrix(dense)
    cut = cut_long_rows(matrix, k)
    assert cut.has_sorted_indices and cut.indptr.dtype == matrix.indptr.dtype
    assert [sorted(cut.indices[lo:hi].tolist()) for lo, hi in zip(cut.indptr[:-1], cut.indptr[1:])] == by_sorting(matrix, k)
    assert np.array_equal(cut.toarray()[cut.toarray() != 0], dense[cut.toarray() != 0])
    if lengths.max() <= k:
        assert cut is matrix


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_cells=st.integers(0, 300))
def test_max_per_cell_keeps_the_largest_value_given_for_each_cell(seed, n_cells):
    """Cells given many times, in any order, among few rows and columns."""
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, 7, n_cells), rng.integers(0, 11, n_cells)
    values = rng.integers(1, 20, n_cells).astype(np.float32) / 7
    expected = np.zeros((7, 11), dtype=np.float32)
    np.maximum.at(expected, (rows, cols), values)
    result = max_per_cell(rows, cols, values, (7, 11))
    assert result.has_canonical_format and np.array_equal(result.toarray(), expected)
