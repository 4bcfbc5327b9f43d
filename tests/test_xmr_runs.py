"""The run arithmetic that gathers the rows of CSR matrices, beam cells' children and candidate lists."""
import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr.runs import places_in_runs, run_cells


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(0, 6), max_size=12))
def test_places_in_runs_count_from_0_in_each_run(sizes):
    expected = [place for size in sizes for place in range(size)]
    assert places_in_runs(np.array(sizes, dtype=np.int64)).tolist() == expected


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 1_000), n_chosen=st.integers(0, 9))
def test_run_cells_are_the_cells_of_the_chosen_rows_in_order(seed, n_chosen):
    matrix = sp.random(9, 20, density=0.3, format="csr", random_state=seed)
    rows = np.random.default_rng(seed).integers(0, 9, n_chosen)  # repeats allowed, any order
    cells = run_cells(matrix.indptr[rows], np.diff(matrix.indptr)[rows])
    assert np.array_equal(matrix.indices[cells], matrix[rows].indices)
    assert np.array_equal(matrix.data[cells], matrix[rows].data)
