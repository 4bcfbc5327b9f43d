"""The model's array files (`spacy_xmr.xmr.arrays`): memory-mapped `.npy` folders, canonical matrices built on them
without a copy, older `.npz` files still read, and errors that name the file."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from model_formats import memory_mapped

from spacy_xmr.errors import ModelLoadError
from spacy_xmr.xmr.arrays import legacy_file, load_arrays, load_matrix, save_arrays, save_matrix, stored


def untidy_matrix() -> sp.csr_matrix:
    """A CSR matrix with unsorted indices and a duplicate cell, as a sparse product may leave one."""
    data = np.array([3.0, 1.0, 2.0, 0.5, 4.0], dtype=np.float32)
    indices = np.array([4, 0, 2, 0, 1], dtype=np.int32)
    indptr = np.array([0, 3, 3, 5], dtype=np.int32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(3, 6))
    matrix.indices[3:5] = [1, 1]  # row 2: the cell (2, 1) twice
    matrix.has_sorted_indices = False
    return matrix


def test_a_matrix_loads_memory_mapped_read_only_and_canonical(tmp_path):
    matrix = untidy_matrix()
    save_matrix(tmp_path / "m", matrix)
    loaded = load_matrix(tmp_path / "m")
    assert (loaded != matrix).nnz == 0
    for part in (loaded.data, loaded.indices, loaded.indptr):
        assert memory_mapped(part) and not part.flags.writeable
    assert loaded.has_canonical_format
    assert list(loaded.indices) == [0, 2, 4, 1]  # sorted, the duplicate summed
    assert loaded[2, 1] == pytest.approx(4.5)
    assert not matrix.has_canonical_format  # the caller's matrix was not sorted in place


def test_scipy_never_writes_a_loaded_matrix(tmp_path):
    rng = np.random.default_rng(0)
    matrix = sp.random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    save_matrix(tmp_path / "m", matrix)
    content = {path.name: path.read_bytes() for path in (tmp_path / "m").iterdir()}
    loaded = load_matrix(tmp_path / "m")
    loaded.sort_indices()
    loaded.sum_duplicates()
    left = sp.random(5, 40, density=0.3, format="csr", dtype=np.float32, random_state=rng)
    np.testing.assert_allclose((left @ loaded).toarray(), (left @ matrix).toarray(), rtol=1e-6)
    np.testing.assert_allclose(loaded[[3, 1]].multiply(matrix[[3, 1]]).toarray(), matrix[[3, 1]].multiply(matrix[[3, 1]]).toarray())
    assert (loaded.T.tocsr() != matrix.T.tocsr()).nnz == 0
    assert {path.name: path.read_bytes() for path in (tmp_path / "m").iterdir()} == content


@pytest.mark.parametrize("n_columns", [4, 2**31 + 1])  # int32 indices, int64 ones
def test_index_arrays_are_saved_in_the_dtype_scipy_keeps_so_loading_copies_nothing(tmp_path, n_columns):
    matrix = sp.csr_matrix((np.ones(2, np.float32), np.array([0, n_columns - 1]), np.array([0, 1, 2])), shape=(2, n_columns))
    matrix.indptr = matrix.indptr.astype(np.int64)  # two dtypes, as a product may leave them
    save_matrix(tmp_path / "m", matrix)
    loaded = load_matrix(tmp_path / "m")
    assert loaded.indices.dtype == loaded.indptr.dtype == (np.int32 if n_columns < 2**31 else np.int64)
    assert memory_mapped(loaded.indices) and memory_mapped(loaded.indptr) and (loaded != matrix).nnz == 0


def test_named_arrays_of_any_shape_round_trip(tmp_path):
    arrays = {"bias": np.linspace(0, 1, 7, dtype=np.float32), "n_parents": np.array(12), "none": np.zeros(0, np.int32)}
    save_arrays(tmp_path / "a", **arrays)
    loaded = load_arrays(tmp_path / "a", "bias", "n_parents", "none")
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype
    assert memory_mapped(loaded["bias"])
    with pytest.raises(FileExistsError):  # a folder is written once, into a fresh model directory
        save_arrays(tmp_path / "a", bias=arrays["bias"])


def test_the_npz_files_of_older_model_folders_are_read_into_memory(tmp_path):
    matrix = sp.csr_matrix(np.arange(12, dtype=np.float32).reshape(3, 4))
    sp.save_npz(legacy_file(tmp_path / "m"), matrix, compressed=False)  # what format 2 and 3 wrote
    np.savez(legacy_file(tmp_path / "a"), bias=np.ones(3, np.float32))
    assert stored(tmp_path / "m") and stored(tmp_path / "a") and not stored(tmp_path / "b")
    loaded = load_matrix(tmp_path / "m")
    assert (loaded != matrix).nnz == 0 and loaded.data.flags.writeable and not memory_mapped(loaded.data)
    np.testing.assert_array_equal(load_arrays(tmp_path / "a", "bias")["bias"], np.ones(3))


def test_a_missing_or_damaged_array_names_its_file(tmp_path):
    with pytest.raises(ModelLoadError, match="nothing.*missing"):
        load_matrix(tmp_path / "nothing")
    save_matrix(tmp_path / "m", sp.csr_matrix(np.eye(3, dtype=np.float32)))
    (tmp_path / "m" / "data.npy").write_bytes(b"not an npy file")
    with pytest.raises(ModelLoadError, match="m/data.npy"):
        load_matrix(tmp_path / "m")
    save_matrix(tmp_path / "short", sp.csr_matrix(np.eye(3, dtype=np.float32)))
    np.save(tmp_path / "short" / "indptr.npy", np.array([0, 1], dtype=np.int32))  # disagrees with the shape
    with pytest.raises(ModelLoadError, match="short"):
        load_matrix(tmp_path / "short")
    np.savez(legacy_file(tmp_path / "a"), bias=np.ones(3))
    with pytest.raises(ModelLoadError, match="a.npz"):
        load_arrays(tmp_path / "a", "weights")
