"""The one place where the XMR model's files meet the disk: a sparse matrix or a few named dense arrays per
folder of `.npy` files, or a JSON value per file, read back with an error that names the file.

Why `.npy` files, memory-mapped read-only: processes that load the same model (`nlp.pipe(n_process=...)`
workers, the workers of a distributed run, several services on one machine) then share one copy of its arrays
in the page cache instead of holding one each, and loading reads only the file headers. A matrix is saved in
canonical form (sorted indices, no duplicates) and flagged so when loaded: scipy then never tries to sort the
read-only arrays in place. Model folders are written atomically (new files, then a rename), so a file that a
process has mapped is never rewritten under it.

Format 2 and 3 folders stored each group of arrays as one uncompressed `.npz` (`NAME.npz`); they are still read,
whole, into memory. No pickle: a model directory from elsewhere cannot run code.
"""
from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError

MATRIX_PARTS = ("data", "indices", "indptr", "shape")


@contextlib.contextmanager
def reading(path: Path) -> Iterator[Path]:
    """Re-raise what a missing or corrupt model file raises as a ModelLoadError naming the file."""
    try:
        yield path
    except ModelLoadError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        raise ModelLoadError(f"{path}: missing or corrupt XMR model file ({type(err).__name__}: {err}); "
                             "save or train the model again") from err


def legacy_file(path: Path) -> Path:
    """Where a format 2 or 3 model folder kept the arrays that format 4 keeps in the folder `path`."""
    return path.with_name(path.name + ".npz")


def stored(path: Path) -> bool:
    """Whether the arrays `path` are saved (as a folder, or as the `.npz` file of an older model folder)."""
    return path.is_dir() or legacy_file(path).is_file()


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """One `<name>.npy` per array in the new folder `path`."""
    path.mkdir()
    for name, array in arrays.items():
        np.save(path / f"{name}.npy", np.asarray(array), allow_pickle=False)


def array_file(path: Path, size: int, dtype: type) -> np.ndarray:
    """A new `.npy` file of `size` values at `path`, mapped writable: an array written as it is filled, without being
    held in memory (an empty one is written at once)."""
    if size == 0:
        np.save(path, np.zeros(0, dtype=dtype), allow_pickle=False)
        return np.zeros(0, dtype=dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(size,))


def load_arrays(path: Path, *names: str) -> dict[str, np.ndarray]:
    """The arrays `names` of the folder `path`, memory-mapped read-only; from an older model folder's `.npz`, read
    into memory."""
    if path.is_dir():
        arrays = {}
        for name in names:
            with reading(path / f"{name}.npy") as file:
                arrays[name] = np.load(file, mmap_mode="r", allow_pickle=False)
        return arrays
    if legacy_file(path).is_file():
        with reading(legacy_file(path)), np.load(legacy_file(path), allow_pickle=False) as stored_arrays:
            return {name: stored_arrays[name] for name in names}
    raise ModelLoadError(f"{path}: missing from the XMR model directory {path.parent}; save or train the model again")


def stored_names(path: Path) -> set[str]:
    """The names of the arrays saved as `path` (either form)."""
    if path.is_dir():
        return {file.stem for file in path.glob("*.npy")}
    with reading(legacy_file(path)), np.load(legacy_file(path), allow_pickle=False) as stored_arrays:
        return set(stored_arrays.files)


def index_dtype(*sizes: int) -> type:
    """The dtype of a sparse matrix's indices and indptr: int32 where its `sizes` (stored entries, rows, columns) fit."""
    return np.int32 if max(sizes) <= np.iinfo(np.int32).max else np.int64


def matrix_arrays(matrix: sp.spmatrix, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays that `matrix_from_arrays` rebuilds `matrix` from, keyed `prefix` + part: CSR in canonical form
    (a copy where `matrix` is not), indices and indptr of the dtype scipy picks (int32 where the values fit), so
    that loading converts nothing."""
    matrix = matrix.tocsr()
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    index_type = index_dtype(matrix.nnz, *matrix.shape)
    parts = (matrix.data, matrix.indices.astype(index_type, copy=False), matrix.indptr.astype(index_type, copy=False),
             np.array(matrix.shape, dtype=np.int64))
    return {prefix + name: part for name, part in zip(MATRIX_PARTS, parts)}


def matrix_from_arrays(arrays: dict[str, np.ndarray], prefix: str = "") -> sp.csr_matrix:
    """The CSR matrix of the arrays `matrix_arrays` gave, built on them without a copy.

    Memory-mapped arrays were written by `matrix_arrays`, canonical: the matrix is flagged so, which spares scipy
    the check and stops it from sorting them in place (they are read-only). An older `.npz`'s arrays are in memory
    and left to scipy as before.
    """
    data, indices, indptr = (arrays[prefix + name] for name in MATRIX_PARTS[:3])
    matrix = sp.csr_matrix((data, indices, indptr), shape=tuple(int(n) for n in arrays[prefix + "shape"]), copy=False)
    if isinstance(data, np.memmap):
        matrix.has_canonical_format = True
    return matrix


def save_matrix(path: Path, matrix: sp.spmatrix) -> None:
    save_arrays(path, **matrix_arrays(matrix))


def load_matrix(path: Path) -> sp.csr_matrix:
    arrays = load_arrays(path, *MATRIX_PARTS)
    with reading(path):  # parts that disagree (a damaged file)
        return matrix_from_arrays(arrays)


def save_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf8")


def load_json(path: Path) -> Any:
    with reading(path):
        return json.loads(path.read_text(encoding="utf8"))
