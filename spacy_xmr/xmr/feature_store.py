"""The training strings' feature matrix on disk: written a chunk of rows at a time as the featurizer computes it, then
memory-mapped read-only.

Why: at UMLS size (15M strings × about 115 n-grams, 8 bytes each) the matrix is about 13 GiB, most of a 24 GB machine.
Mapped, it is held by the page cache, which keeps the pages that PIFA and the matchers read and drops them again
under pressure, not by the process's own memory; the n-gram count chunks wait on disk too until the vocabulary is
known (`DiskShelf`). The files are raw `.npy` arrays in a temporary folder under `work_dir` (default: the system's
temporary folder), removed once mapped: on POSIX systems a mapping keeps its file's pages until the matrix is freed.
"""
from __future__ import annotations

import shutil
import tempfile
import weakref
from collections import deque
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import scipy.sparse as sp

from .arrays import index_dtype, load_arrays, save_arrays
from .sparse_ops import row_blocks

MATRIX_FILES = ("data", "indices", "indptr")
BUCKET_CELLS = 1 << 25  # cells a bucket of reordered rows holds, about: 256 MiB of float32 values and int32 indices


class ChunkShelf:
    """Sparse chunks put aside in order and each taken back once, in order, in memory (see `DiskShelf`)."""

    def __init__(self):
        self._chunks: deque[sp.csr_matrix] = deque()

    def put(self, chunk: sp.csr_matrix) -> None:
        self._chunks.append(chunk)

    def taken(self) -> Iterator[sp.csr_matrix]:
        """The chunks in the order they were put, each dropped from the shelf as it is handed out."""
        while self._chunks:
            yield self._chunks.popleft()


class DiskShelf:
    """A `ChunkShelf` whose chunks wait as files in `directory`, read back (writable, in memory) one at a time."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir()
        self._paths: deque[Path] = deque()

    def put(self, chunk: sp.csr_matrix) -> None:
        path = self.directory / str(len(self._paths))
        save_arrays(path, data=chunk.data, indices=chunk.indices, indptr=chunk.indptr, shape=np.array(chunk.shape))
        self._paths.append(path)

    def taken(self) -> Iterator[sp.csr_matrix]:
        while self._paths:
            path = self._paths.popleft()
            data, indices, indptr, shape = (np.load(path / f"{name}.npy", allow_pickle=False) for name in (*MATRIX_FILES, "shape"))
            shutil.rmtree(path)
            yield sp.csr_matrix((data, indices, indptr), shape=tuple(int(n) for n in shape), copy=False)


class _ArrayFile:
    """A 1-d `.npy` file of `length` items of `dtype` (its header written first), filled by appending."""

    def __init__(self, path: Path, dtype: np.dtype, length: int):
        self.path, self.dtype, self.length, self.written = path, np.dtype(dtype), length, 0
        self._file: BinaryIO = open(path, "wb")
        np.lib.format.write_array_header_1_0(self._file, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                           "fortran_order": False, "shape": (length,)})

    def append(self, values: np.ndarray) -> None:
        if self.written + values.size > self.length:
            raise ValueError(f"{self.path}: {self.written + values.size} values written to an array of {self.length}")
        self._file.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())
        self.written += values.size

    def close(self) -> None:
        self._file.close()

    def check_full(self) -> None:
        if self.written != self.length:
            raise ValueError(f"{self.path}: {self.written} values written to an array of {self.length}")


class FeatureStore:
    """A temporary folder under `work_dir` that holds the feature matrix of one training (use it as a context: the
    folder is removed on leaving it, the mapped matrix stays readable)."""

    def __init__(self, work_dir: str | Path | None = None):
        if work_dir is not None:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="spacy-xmr-features-", dir=work_dir))

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc_info) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def shelf(self, name: str) -> DiskShelf:
        return DiskShelf(self.directory / name)

    def write_rows(self, chunks: Iterable[sp.csr_matrix], shape: tuple[int, int], nnz: int) -> sp.csr_matrix:
        """The CSR matrix of `chunks` one under another (`nnz` stored entries in all, known in advance), written to
        this folder as the chunks come and mapped read-only; indices of the dtype `arrays.index_dtype` picks."""
        index_type = index_dtype(nnz, *shape)
        files = [_ArrayFile(self.directory / f"{name}.npy", dtype, length)
                 for name, dtype, length in zip(MATRIX_FILES, (np.float32, index_type, index_type), (nnz, nnz, shape[0] + 1))]
        data, indices, indptr = files
        indptr.append(np.zeros(1))
        canonical = True
        try:
            for chunk in chunks:
                if chunk.shape[1] != shape[1]:
                    raise ValueError(f"a chunk of {chunk.shape[1]} columns in a matrix of {shape[1]}")
                canonical = canonical and chunk.has_canonical_format
                indptr.append(chunk.indptr[1:].astype(np.int64) + data.written)
                data.append(chunk.data)
                indices.append(chunk.indices)
        finally:
            for file in files:
                file.close()
        for file in files:
            file.check_full()
        arrays = load_arrays(self.directory, *MATRIX_FILES)
        matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape, copy=False)
        matrix.has_canonical_format = canonical  # spares scipy the check; it must never sort the read-only arrays
        weakref.finalize(matrix, shutil.rmtree, self.directory, True)  # where a mapped file cannot be removed (Windows)
        return matrix

    def write_rows_in_order(self, matrix: sp.csr_matrix, order: np.ndarray, bucket_cells: int = BUCKET_CELLS) -> sp.csr_matrix:
        """`matrix[order]` (`order` a permutation of its rows), written to this folder and mapped as `write_rows` does.

        Gathering `matrix[order]` directly would read the rows in the new order: scattered across a mapped file
        larger than the page cache, a disk read for nearly every row. Instead the rows are read once in their own
        order and put aside in buckets of consecutive new positions (about `bucket_cells` cells each, on disk), and
        each bucket is then ordered in memory: two sequential passes over the rows, and one bucket in memory."""
        n_rows = matrix.shape[0]
        lengths = np.diff(matrix.indptr)
        new_lengths = lengths[order]
        first_cells = (np.cumsum(new_lengths) - new_lengths) // bucket_cells
        bucket_at = np.cumsum(np.diff(first_cells, prepend=0) > 0)  # the bucket of each new position (none left empty)
        position = np.empty(n_rows, dtype=np.int64)
        position[order] = np.arange(n_rows)
        bucket_of = bucket_at[position]  # the bucket of each row
        del new_lengths, first_cells, bucket_at
        shelves = [self.shelf(f"bucket_{bucket}") for bucket in range(int(bucket_of.max(initial=-1)) + 1)]
        for lo, hi in row_blocks(matrix.indptr, bucket_cells):
            by_bucket = np.argsort(bucket_of[lo:hi], kind="stable")
            block, buckets = matrix[lo:hi][by_bucket], bucket_of[lo:hi][by_bucket]
            starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]) if buckets.size else np.empty(0, int)
            for start, end in zip(starts, [*starts[1:], buckets.size]):
                shelves[buckets[start]].put(block[start:end])

        def ordered_buckets():
            for bucket, shelf in enumerate(shelves):
                rows = sp.vstack(list(shelf.taken()), format="csr")  # the bucket's rows in their own order
                yield rows[np.argsort(position[bucket_of == bucket])]

        return self.write_rows(ordered_buckets(), matrix.shape, matrix.nnz)
