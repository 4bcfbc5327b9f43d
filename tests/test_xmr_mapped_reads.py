"""Rows of a memory-mapped matrix read front to back, with the kernel told which stretches come next."""
from __future__ import annotations

import mmap
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr import mapped_reads


class _RecordedRows:
    """A CSR matrix that records the rows asked of it."""

    def __init__(self, matrix: sp.csr_matrix):
        self.matrix, self.asked = matrix, []
        self.indptr, self.data, self.indices = matrix.indptr, matrix.data, matrix.indices

    def __getitem__(self, rows):
        self.asked.append(np.asarray(rows))
        return self.matrix[rows]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 60), n_wanted=st.integers(0, 80), ascending=st.booleans(),
       gap=st.integers(0, 20), span=st.integers(1, 40))
def test_rows_read_are_the_rows_asked_for_read_front_to_back(seed, n_rows, n_wanted, ascending, gap, span):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapped_reads, "GAP_CELLS", gap)
        patch.setattr(mapped_reads, "SPAN_CELLS", span)  # small: many stretches, read in many parts
        _check_rows_read(seed, n_rows, n_wanted, ascending)


def _check_rows_read(seed, n_rows, n_wanted, ascending):
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, 9, density=0.3, format="csr", random_state=seed, dtype=np.float32)
    rows = rng.integers(0, n_rows, n_wanted)
    rows = np.sort(rows) if ascending else rows
    recorded = _RecordedRows(matrix)
    gathered = mapped_reads.read_rows(recorded, rows)
    assert gathered.shape == (n_wanted, 9) and (gathered != matrix[rows]).nnz == 0
    assert np.all(np.diff(np.concatenate(recorded.asked)) >= 0)  # the stored matrix read front to back, each row once


def test_stretches_of_close_rows_are_asked_for_ahead_and_lone_rows_are_not(monkeypatch):
    matrix = sp.csr_matrix(np.ones((120, 3), dtype=np.float32))  # 3 cells a row
    monkeypatch.setattr(mapped_reads, "GAP_CELLS", 6)  # rows at most 2 apart (gaps of 3 cells each) make a stretch
    asked = []
    monkeypatch.setattr(mapped_reads, "advise", lambda array, advice, start=0, stop=None: asked.append((start, stop)))
    rows = np.array([40, 3, 5, *range(6, 21), 77, 100, 102, 103, 110])
    assert (mapped_reads.read_rows(matrix, rows) != matrix[rows]).nnz == 0
    # rows 3-20 and 100-103 (each for the values and for the indices); 40, 77 and 110 alone fault page by page
    assert asked == [(9, 63), (9, 63), (300, 312), (300, 312)]


@pytest.mark.skipif(not hasattr(mmap, "MADV_WILLNEED") or sys.platform == "win32", reason="madvise is POSIX")
def test_advice_is_taken_for_a_mapped_array_from_any_element(tmp_path):
    path = tmp_path / "values.npy"
    np.save(path, np.arange(5000, dtype=np.float32))
    mapped = np.load(path, mmap_mode="r")
    assert mapped_reads.advise(mapped, mmap.MADV_WILLNEED, 1, 4000)  # an element inside a page: its page's start
    assert mapped_reads.advise(mapped, mmap.MADV_RANDOM)
    assert not mapped_reads.advise(mapped, mmap.MADV_WILLNEED, 10, 10)  # nothing to advise
