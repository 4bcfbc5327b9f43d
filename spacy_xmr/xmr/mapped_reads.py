"""Rows of a memory-mapped CSR matrix read with the kernel told how (POSIX `madvise`), not by page faults alone.

Why: a fault on a mapped file reads up to the disk's `read_ahead_kb` around the page (8 MB here). The matchers read
each node's rows of the leaf-ordered feature file: most lie in one stretch, but the examples with labels under other
leaves too sit elsewhere, one row here and there, and each such row pulled megabytes. At 4×10^6 concepts the leaf
level read the 14 GB file over and over (0.4 GB/s per worker, a third of its time waiting). So the file is mapped for
random access (`random_access`: a fault reads its page only), and `read_rows` asks for each stretch of close rows in
one request before reading it. Where the platform has no `madvise` (Windows) reads go as before.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap

import numpy as np
import scipy.sparse as sp

GAP_CELLS = 1 << 16  # rows at most this many cells apart are read as one stretch (the gap read for nothing: 512 KiB)
SPAN_CELLS = 1 << 25  # cells asked for ahead before they are read (256 MiB of values and indices): the page cache
# must still hold them when they are read (the label tree's root reads rows from across the whole file)


def _libc_madvise():
    try:
        madvise = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).madvise
    except (OSError, AttributeError, TypeError):
        return None
    madvise.argtypes, madvise.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return madvise


_MADVISE = _libc_madvise()
_RANDOM, _WILLNEED = getattr(mmap, "MADV_RANDOM", None), getattr(mmap, "MADV_WILLNEED", None)  # None: not on this platform


def advise(array: np.ndarray, advice: int | None, start: int = 0, stop: int | None = None) -> bool:
    """Give `advice` (an `mmap.MADV_*`) for the pages that hold `array[start:stop]` (one dimension); whether the
    kernel took it (not where the platform lacks the advice or `madvise`)."""
    stop = array.size if stop is None else stop
    if _MADVISE is None or advice is None or stop <= start:
        return False
    first = array.ctypes.data + start * array.itemsize
    page_start = first - first % mmap.PAGESIZE
    return _MADVISE(page_start, first - page_start + (stop - start) * array.itemsize, advice) == 0


def random_access(matrix: sp.csr_matrix) -> None:
    """A fault in `matrix`'s values or indices reads its own page, nothing around it."""
    for array in (matrix.data, matrix.indices):
        advise(array, _RANDOM)


def _stretches(indptr: np.ndarray, rows: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of the sorted `rows` (positions in it) whose rows lie at most `GAP_CELLS` cells apart and span at most
    `SPAN_CELLS` cells, one after the other."""
    starts, ends = indptr[rows].astype(np.int64), indptr[rows + 1].astype(np.int64)
    bounds = [0, *(np.flatnonzero(starts[1:] - ends[:-1] > GAP_CELLS) + 1).tolist(), rows.size]
    stretches = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        while hi - lo > 0:
            cut = max(lo + 1, int(np.searchsorted(ends[lo:hi], starts[lo] + SPAN_CELLS, side="right")) + lo)
            stretches.append((lo, cut))
            lo = cut
    return stretches


def read_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """`matrix[rows]`, read front to back: each stretch of two or more close rows asked for in one request, the rows
    read once about `SPAN_CELLS` cells have been asked for (and at the end), then put in the given order."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    parts, first, asked = [], 0, 0
    for lo, hi in _stretches(matrix.indptr, ordered):
        if hi - lo > 1:
            start, stop = int(matrix.indptr[ordered[lo]]), int(matrix.indptr[ordered[hi - 1] + 1])
            for array in (matrix.data, matrix.indices):
                advise(array, _WILLNEED, start, stop)
            asked += stop - start
        if asked >= SPAN_CELLS:
            parts.append(matrix[ordered[first:hi]])
            first, asked = hi, 0
    if first < ordered.size or not parts:
        parts.append(matrix[ordered[first:]])
    gathered = parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")
    return gathered if np.array_equal(order, np.arange(order.size)) else gathered[np.argsort(order)]
