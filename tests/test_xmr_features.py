"""Normalisation, TF-IDF features (checked against scikit-learn) and the sparse row operations."""
from __future__ import annotations

import tracemalloc
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr.config import FeatureConfig
from spacy_xmr.xmr.features import Featurizer, TfidfBlock
from spacy_xmr.xmr.ngram_counts import WORD_TOKEN_PATTERN
from spacy_xmr.xmr.normalize import normalize_text
from spacy_xmr.xmr import sparse_ops
from spacy_xmr.xmr.sparse_ops import (compact_columns, max_per_cell, pair_dots, product_at, product_float64, stack_rows_consumed,
                                      top_k_per_row, transpose_rows_consumed)

TEXTS = ["type 1 diabetes", "a t", "breast cancer", "dm", "hereditary nonpolyposis colorectal cancer", "g6pd deficiency"]


@pytest.mark.parametrize(
    "raw, expected",
    [("Alzheimer's  Disease", "alzheimer disease"), ("A-T", "a t"), ("ＤＭ", "dm"), ("Wilms'\ttumour", "wilms tumour"),
     ("--", ""), ("breast/ovarian cancer", "breast ovarian cancer")],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("analyzer, ngram_range", [("char_wb", (2, 5)), ("char_wb", (3, 5)), ("word", (1, 2))])
def test_block_matches_scikit_learn(analyzer, ngram_range):
    from sklearn.feature_extraction.text import TfidfVectorizer

    queries = TEXTS + ["zz cancer", "dm type 1", ""]
    block, fitted, n_stored = TfidfBlock.fit(TEXTS, analyzer, ngram_range)
    fitted = sp.vstack(list(fitted), format="csr")
    assert n_stored == fitted.nnz
    token_pattern = {"token_pattern": r"(?u)\b\w+\b"} if analyzer == "word" else {}
    reference = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, lowercase=False,
                                **token_pattern).fit(TEXTS)
    assert block.vocabulary == list(reference.get_feature_names_out())
    assert abs(block.transform(queries) - reference.transform(queries)).max() < 1e-6
    assert abs(fitted - reference.transform(TEXTS)).max() < 1e-6



@pytest.mark.parametrize("analyzer, ngram_range, min_df", [("char_wb", (2, 4), 1), ("char_wb", (3, 5), 2), ("word", (1, 2), 2)])
def test_counting_in_chunks_gives_the_one_pass_counts(monkeypatch, analyzer, ngram_range, min_df):
    from sklearn.feature_extraction.text import CountVectorizer

    from spacy_xmr.xmr import features

    texts = TEXTS * 3 + ["cancer of the breast", "diabetes type 2", "colorectal cancer", "g6pd"]
    reference = CountVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, lowercase=False,
                                token_pattern=WORD_TOKEN_PATTERN if analyzer == "word" else None)
    expected = reference.fit_transform(texts).tocsr()
    monkeypatch.setattr(features, "COUNT_CHUNK", 4)  # six chunks, new n-grams in each
    vocabulary, document_frequency, chunks = features._count_ngrams(texts, analyzer, ngram_range, min_df)
    chunks = list(chunks)
    assert vocabulary == list(reference.get_feature_names_out())
    assert document_frequency.tolist() == np.diff(expected.tocsc().indptr).tolist()
    assert [chunk.shape[0] for chunk in chunks] == [4, 4, 4, 4, 4, 2] and all(chunk.has_sorted_indices for chunk in chunks)
    assert (sp.vstack(chunks, format="csr") != expected).nnz == 0


def test_featurizer_rows_do_not_depend_on_the_counting_chunks(monkeypatch):
    from spacy_xmr.xmr import features

    texts = TEXTS * 2 + ["cancer of the breast", "diabetes type 2"]
    _, whole = Featurizer.fit_transform(texts, FeatureConfig())
    monkeypatch.setattr(features, "COUNT_CHUNK", 3)
    _, chunked = Featurizer.fit_transform(texts, FeatureConfig())
    assert chunked.shape == whole.shape and chunked.nnz == whole.nnz
    assert abs(chunked - whole).max() < 1e-7


class RecordingPool(ProcessPoolExecutor):
    """A process pool that notes its size."""

    sizes: list[int] = []

    def __init__(self, max_workers, **options):
        RecordingPool.sizes.append(max_workers)
        super().__init__(max_workers, **options)


def test_worker_processes_count_the_same_features(monkeypatch):
    from spacy_xmr.xmr import features

    texts = TEXTS * 2 + ["cancer of the breast", "diabetes type 2", "g6pd"]
    monkeypatch.setattr(features, "ProcessPoolExecutor", RecordingPool)
    RecordingPool.sizes.clear()
    alone, rows = Featurizer.fit_transform(texts, FeatureConfig(), n_jobs=2)
    assert RecordingPool.sizes == []  # fewer texts than PARALLEL_MIN_TEXTS: counted here
    monkeypatch.setattr(features, "PARALLEL_MIN_TEXTS", 1)
    workers, worker_rows = Featurizer.fit_transform(texts, FeatureConfig(), n_jobs=2)
    assert RecordingPool.sizes == [2]  # one pool for both blocks
    assert workers.char_block.vocabulary == alone.char_block.vocabulary and workers.word_block.vocabulary == alone.word_block.vocabulary
    assert (worker_rows != rows).nnz == 0


def test_stack_rows_consumed_equals_vstack_and_rejects_a_bad_fit():
    rng = np.random.default_rng(3)
    chunks = [sp.random(n, 7, density=0.4, format="csr", dtype=np.float32, random_state=rng) for n in (3, 0, 5, 1)]
    expected = sp.vstack(chunks, format="csr")
    stacked = stack_rows_consumed(iter(chunks), (9, 7), expected.nnz)
    assert (stacked != expected).nnz == 0 and stacked.indptr.tolist() == expected.indptr.tolist()
    with pytest.raises(ValueError, match="filled 9 rows"):
        stack_rows_consumed(iter(chunks), (10, 7), expected.nnz)
    with pytest.raises(ValueError, match="does not fit"):
        stack_rows_consumed(iter(chunks), (9, 7), expected.nnz - 1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(0, 6), min_size=1, max_size=5), width=st.integers(1, 9))
def test_transpose_rows_consumed_equals_the_stacked_matrix_transposed(seed, sizes, width):
    rng = np.random.default_rng(seed)
    chunks = [sp.random(n, width, density=0.5, format="csr", dtype=np.float32, random_state=rng) for n in sizes]
    shape = (sum(sizes), width)
    nnz = sum(chunk.nnz for chunk in chunks)
    expected = stack_rows_consumed(iter(chunks), shape, nnz).T.tocsr()
    transposed = transpose_rows_consumed(lambda: iter(chunks), shape, nnz)
    assert transposed.shape == expected.shape and transposed.indptr.tolist() == expected.indptr.tolist()
    assert transposed.indices.tolist() == expected.indices.tolist() and transposed.data.tolist() == expected.data.tolist()
    with pytest.raises(ValueError, match="stored entries"):
        transpose_rows_consumed(lambda: iter(chunks), shape, nnz + 1)

def test_featurizer_rows_are_unit_norm_and_survive_disk(tmp_path):
    featurizer, features = Featurizer.fit_transform(TEXTS, FeatureConfig())
    norms = np.sqrt(features.multiply(features).sum(axis=1)).A1
    assert np.allclose(norms, 1.0, atol=1e-5)
    assert featurizer.transform([""]).nnz == 0
    featurizer.to_disk(tmp_path)
    loaded = Featurizer.from_disk(tmp_path, FeatureConfig())
    assert abs(loaded.transform(TEXTS) - features).max() < 1e-6
    assert not list(tmp_path.glob("*.pkl"))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 12), chunk=st.integers(1, 400))
def test_top_k_per_row_matches_sorting(seed, k, chunk):
    rng = np.random.default_rng(seed)
    matrix = sp.random(int(rng.integers(1, 30)), 60, density=float(rng.uniform(0, 0.6)), format="csr", random_state=seed,
                       dtype=np.float32)
    kept = top_k_per_row(matrix, k, chunk_cells=chunk).toarray()
    dense = matrix.toarray()
    for row, kept_row in zip(dense, kept):
        expected = np.sort(row[row != 0])[::-1][:k]
        assert np.allclose(np.sort(kept_row[kept_row != 0])[::-1], expected)
        assert np.all((kept_row == 0) | (kept_row == row))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), right_density=st.floats(0.01, 0.6))
def test_product_at_gives_scipys_floats(seed, right_density):
    """Rows whose terms write fewer cells than a row holds and more (the two ways the dense row is cleared), empty
    pattern rows, and a left operand whose indices are not sorted (scipy adds in stored order)."""
    left = sp.random(17, 30, density=0.2, format="csr", random_state=seed, dtype=np.float32)
    right = sp.random(30, 25, density=right_density, format="csr", random_state=seed + 1, dtype=np.float32)
    pattern = sp.random(17, 25, density=0.3, format="csr", random_state=seed + 2, dtype=np.float32)
    pattern.sort_indices()
    reversed_left = sp.csr_matrix((np.concatenate([left.data[a:b][::-1] for a, b in zip(left.indptr[:-1], left.indptr[1:])]),
                                   np.concatenate([left.indices[a:b][::-1] for a, b in zip(left.indptr[:-1], left.indptr[1:])]),
                                   left.indptr), shape=left.shape)
    rows, cols = pattern.nonzero()  # CSR order: the order product_at returns its values in
    for operand in (left, reversed_left):
        assert np.array_equal(product_at(operand, right, pattern), (operand @ right).toarray()[rows, cols])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0, 0.3))
def test_compact_columns_keeps_rows_and_drops_unused_columns(seed, density):
    matrix = sp.random(9, 40, density=density, format="csr", random_state=seed, dtype=np.float32)
    used, compact = compact_columns(matrix)
    assert np.array_equal(used, np.unique(matrix.indices))
    assert compact.shape == (9, used.size)
    assert np.array_equal(compact.toarray(), matrix.toarray()[:, used])
    renumbered = matrix.copy()
    used_in_place, in_place = compact_columns(renumbered, in_place=True)
    assert np.array_equal(used_in_place, used) and np.array_equal(in_place.toarray(), compact.toarray())
    assert matrix.nnz == 0 or np.shares_memory(in_place.indices, renumbered.indices)  # renumbered, not copied


def test_product_float64_sums_each_row_as_the_whole_product_without_a_float64_copy(monkeypatch):
    rng = np.random.default_rng(3)
    matrix = sp.random(4000, 3000, density=0.1, format="csr", random_state=3, dtype=np.float32)
    matrix = sp.vstack([matrix, sp.csr_matrix((2, 3000), dtype=np.float32), sp.csr_matrix(np.ones((1, 3000), np.float32))], format="csr")
    vector = rng.standard_normal(3000)
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 100_000)
    tracemalloc.start()
    by_blocks = product_float64(matrix, vector)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert by_blocks.dtype == np.float64 and np.array_equal(by_blocks, matrix @ vector)  # the same floats
    assert peak < matrix.data.nbytes  # the whole product copies the data as float64: twice its bytes
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 7)  # blocks of a few rows; the last row longer than a block
    assert np.array_equal(product_float64(matrix, vector), matrix @ vector)


def test_max_per_cell_keeps_the_largest_value():
    result = max_per_cell(np.array([0, 0, 1, 0]), np.array([2, 2, 1, 3]), np.array([0.1, 0.7, 0.3, 0.2]), (2, 4))
    assert np.allclose(result.toarray(), [[0, 0, 0.7, 0.2], [0, 0.3, 0, 0]])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_cells=st.integers(0, 300), rows_ascending=st.booleans())
def test_max_per_cell_equals_a_dense_maximum_in_canonical_form(seed, n_cells, rows_ascending):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, 9, n_cells), rng.integers(0, 12, n_cells)  # many repeated cells
    rows = np.sort(rows) if rows_ascending else rows
    values = rng.random(n_cells).astype(np.float32)
    expected = np.zeros((9, 12), dtype=np.float32)
    np.maximum.at(expected, (rows, cols), values)
    result = max_per_cell(rows, cols, values, (9, 12))
    assert np.array_equal(result.toarray(), expected) and result.nnz == np.count_nonzero(expected)
    assert result.has_canonical_format  # sorted columns, each cell once: what scipy's sums and maxima expect


def test_top_k_per_row_breaks_ties_by_column_whatever_the_batch():
    row = sp.csr_matrix(np.array([[0.5, 0.9, 0.5, 0.5, 0.1, 0.5]], dtype=np.float32))
    wide = sp.csr_matrix(np.array([[0.3] * 6], dtype=np.float32))
    alone = top_k_per_row(row, 3)
    in_batch = top_k_per_row(sp.vstack([wide, row, wide]).tocsr(), 3, chunk_cells=12)[1]
    assert alone.indices.tolist() == in_batch.indices.tolist() == [0, 1, 2]
    reversed_entries = sp.csr_matrix((row.data[::-1], row.indices[::-1], row.indptr), shape=row.shape)  # as a product leaves them
    assert not reversed_entries.has_sorted_indices
    assert sorted(top_k_per_row(reversed_entries, 3).indices.tolist()) == [0, 1, 2]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_pairs=st.integers(0, 60))
def test_pair_dots_equal_the_row_sums_of_the_rows_elementwise_product(seed, n_pairs):
    left = sp.random(9, 200, density=0.15, format="csr", random_state=seed, dtype=np.float32)
    right = sp.random(14, 200, density=0.15, format="csr", random_state=seed + 1, dtype=np.float32)
    rng = np.random.default_rng(seed)
    left_rows, right_rows = rng.integers(0, 9, n_pairs), rng.integers(0, 14, n_pairs)
    expected = np.asarray(left[left_rows].multiply(right[right_rows]).sum(axis=1)).ravel().astype(np.float32)
    dots = pair_dots(left, right, left_rows, right_rows)
    assert dots.dtype == np.float32 and np.allclose(dots, expected, rtol=1e-6, atol=0)  # to the last bit or two
    shuffled = right.copy()  # a matrix whose rows hold their columns out of order gives the same
    for row in range(shuffled.shape[0]):
        lo, hi = shuffled.indptr[row], shuffled.indptr[row + 1]
        shuffled.indices[lo:hi], shuffled.data[lo:hi] = shuffled.indices[lo:hi][::-1].copy(), shuffled.data[lo:hi][::-1].copy()
    shuffled.has_sorted_indices = False
    assert np.array_equal(pair_dots(left, shuffled, left_rows, right_rows), dots)
    assert np.array_equal(pair_dots(left, right, left_rows, right_rows), dots)  # the spread row was left zero


def _merged_dot(left: sp.csr_matrix, right: sp.csr_matrix, left_row: int, right_row: int) -> np.float32:
    """The products of two rows' shared columns in float32, added in float64 in column order, rounded once."""
    a, b = left[left_row].toarray().ravel(), right[right_row].toarray().ravel()
    total = 0.0
    for column in np.flatnonzero((a != 0) & (b != 0)):
        total += np.float64(a[column] * b[column])
    return np.float32(total)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_pairs=st.integers(1, 60))
def test_pair_dots_are_the_merged_sums_to_the_bit_whatever_the_order_of_the_pairs(seed, n_pairs):
    """Each pair's sum does not depend on the pairs around it: the left rows in runs (a query's candidates, one
    spread each), shuffled, or left in a non-canonical order with a column split in two entries."""
    left = sp.random(6, 300, density=0.2, format="csr", random_state=seed, dtype=np.float32)
    right = sp.random(11, 300, density=0.2, format="csr", random_state=seed + 1, dtype=np.float32)
    rng = np.random.default_rng(seed)
    left_rows, right_rows = np.sort(rng.integers(0, 6, n_pairs)), rng.integers(0, 11, n_pairs)
    expected = np.array([_merged_dot(left, right, a, b) for a, b in zip(left_rows, right_rows)], dtype=np.float32)
    assert np.array_equal(pair_dots(left, right, left_rows, right_rows), expected)
    order = rng.permutation(n_pairs)
    assert np.array_equal(pair_dots(left, right, left_rows[order], right_rows[order]), expected[order])
    row = int(np.flatnonzero(np.diff(left.indptr))[0])  # its first entry's value split over two, the second stored last
    lo, hi = left.indptr[row], left.indptr[row + 1]
    data, indices = np.insert(left.data, hi, left.data[lo] / 2), np.insert(left.indices, hi, left.indices[lo])
    data[lo] /= 2
    indptr = left.indptr.copy()
    indptr[row + 1:] += 1
    split = sp.csr_matrix((data, indices, indptr), shape=left.shape)
    assert split.nnz == left.nnz + 1
    assert np.array_equal(pair_dots(split, right, left_rows, right_rows), expected)
