"""Row-wise operations on CSR score matrices, vectorised: no Python loop over labels, and none over rows."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from .arrays import index_dtype
from .runs import places_in_runs, run_cells
from .scratch import zeroed_float32


LONG_ROW_RUNS = 16  # runs per kept cell in which `top_k_per_row` looks for a lower bound of a long row's k-th value
MIN_RUN_LENGTH = 4  # cells of a run, at least
PAIR_DOTS_SPREAD = "pair_dots_spread"  # `pair_dots`' row of `left` spread out (`scratch.zeroed_float32`)
CELLS_AT_ONCE = 1 << 20  # bounds the temporaries of the block-by-block operations on whole matrices (about 8 bytes a cell) to 8 MiB


def l2_normalize_rows(matrix: sp.csr_matrix, xp=np) -> sp.csr_matrix:
    """Scale each row to unit l2 norm in place (all-zero rows stay zero) and return it; a CSR matrix of scipy, or of
    cupyx with cupy as `xp`.

    Blocks of rows of about `CELLS_AT_ONCE` cells at a time: the squares and per-cell divisors of the whole
    matrix would double the peak of a gigabyte matrix (the tree's label embeddings at 10^6 concepts). Each row's norm
    is summed as the whole matrix's `sum(axis=1)` sums it, so the blocks change no float."""
    indptr = matrix.indptr
    for lo, hi in row_blocks(indptr, CELLS_AT_ONCE, xp):
        start, stop = int(indptr[lo]), int(indptr[hi])
        data, lengths = matrix.data[start:stop], xp.diff(indptr[lo:hi + 1])
        indices = matrix.indices[start:stop]
        if xp is not np:  # cupyx's `sum` sorts `squared`'s indices in place: on a view, the matrix's, and not its data
            indices = indices.copy()
        squared = type(matrix)((data * data, indices, indptr[lo:hi + 1] - start), shape=(hi - lo, matrix.shape[1]))
        cell_rows = None if xp is np else row_ids(squared, xp)  # before `sum`, which may canonicalise `squared` on a GPU
        divisors = xp.sqrt(xp.asarray(squared.sum(axis=1)).ravel().astype(xp.float64))
        divisors[divisors == 0] = 1.0
        divisors = divisors.astype(data.dtype)
        data /= np.repeat(divisors, lengths) if xp is np else divisors[cell_rows]
    return matrix


def row_blocks(indptr, cells: int, xp=np) -> list[tuple[int, int]]:
    """(lo, hi) bounds of consecutive row blocks of a CSR matrix with row pointers `indptr`, each of about `cells`
    stored cells (a longer row is a block of its own), covering every row."""
    n_rows = indptr.size - 1
    ends = xp.searchsorted(indptr, xp.arange(cells, int(indptr[-1]), cells), side="right") - 1
    bounds = sorted({0, n_rows, *(max(1, int(end)) for end in ends.tolist())})
    return list(zip(bounds[:-1], bounds[1:]))


def scale_rows_to_max_one(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Divide each row by its largest value (in place; empty rows stay empty), so a row's best scores 1."""
    return _divide_rows(matrix, matrix.max(axis=1).toarray().ravel())


def _divide_rows(matrix: sp.csr_matrix, divisors: np.ndarray) -> sp.csr_matrix:
    """`matrix` with row i divided by `divisors[i]` (in place; a zero divisor leaves its row as it is)."""
    divisors[divisors == 0] = 1.0
    matrix.data /= np.repeat(divisors.astype(matrix.data.dtype), np.diff(matrix.indptr))
    return matrix


def stack_rows_consumed(chunks: Iterator[sp.csr_matrix], shape: tuple[int, int], nnz: int, xp=np, sparse=sp) -> sp.csr_matrix:
    """The float32 CSR matrix of `chunks` one under another (`nnz` stored entries in all), copied into arrays
    allocated once: unlike `sp.vstack`, which holds every chunk beside its result, a chunk the iterator no longer
    references is freed while the result fills. Of scipy, or of cupyx with cupy as `xp` and cupyx.scipy.sparse as
    `sparse`."""
    indices_type = index_dtype(nnz, shape[1])
    data = xp.empty(nnz, dtype=xp.float32)
    indices = xp.empty(nnz, dtype=indices_type)
    indptr = xp.zeros(shape[0] + 1, dtype=indices_type)
    row = stored = 0
    for chunk in chunks:
        n_rows, n_stored = chunk.shape[0], chunk.nnz
        if chunk.shape[1] != shape[1] or row + n_rows > shape[0] or stored + n_stored > nnz:
            raise ValueError(f"chunk of shape {chunk.shape} ({n_stored} stored) does not fit at row {row} of {shape} ({nnz} stored)")
        data[stored:stored + n_stored] = chunk.data
        indices[stored:stored + n_stored] = chunk.indices
        indptr[row + 1:row + n_rows + 1] = chunk.indptr[1:] + stored
        row, stored = row + n_rows, stored + n_stored
    if (row, stored) != (shape[0], nnz):
        raise ValueError(f"chunks filled {row} rows ({stored} stored) of {shape} ({nnz} stored)")
    return sparse.csr_matrix((data, indices, indptr), shape=shape)


def transpose_rows_consumed(chunks: Callable[[], Iterator[sp.csr_matrix]], shape: tuple[int, int], nnz: int) -> sp.csr_matrix:
    """The transpose, as CSR, of the matrix of `chunks()` one under another (`nnz` stored entries in all): the same
    as `stack_rows_consumed(chunks(), shape, nnz).T.tocsr()`, without holding the stacked matrix beside its
    transpose (twice its size at the peak). Two passes: the first counts each column's entries, the second drops
    each chunk's entries into their column's next free places, so a column's rows stay in ascending order."""
    indices_type = index_dtype(nnz, shape[0])
    counts = np.zeros(shape[1], dtype=np.int64)
    for chunk in chunks():
        counts += np.bincount(chunk.indices, minlength=shape[1])
    if counts.sum() != nnz:
        raise ValueError(f"chunks hold {counts.sum()} stored entries, not {nnz}")
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(indices_type)
    free = indptr[:-1].astype(np.int64)  # each column's next free place
    data = np.empty(nnz, dtype=np.float32)
    indices = np.empty(nnz, dtype=indices_type)
    row = 0
    for chunk in chunks():
        order = np.argsort(chunk.indices, kind="stable")  # by column, rows ascending within one
        columns = chunk.indices[order]
        places = free[columns] + np.arange(len(columns)) - np.searchsorted(columns, columns)
        data[places] = chunk.data[order]
        indices[places] = (row_ids(chunk) + row)[order]
        free += np.bincount(chunk.indices, minlength=shape[1])
        row += chunk.shape[0]
    if row != shape[0]:
        raise ValueError(f"chunks filled {row} rows of {shape}")
    return sp.csr_matrix((data, indices, indptr), shape=(shape[1], shape[0]))


def place_rows(matrix: sp.csr_matrix, rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """An `n_rows`-row matrix whose row `rows[i]` is row i of `matrix`; the other rows are empty."""
    selection = sp.csr_matrix((np.ones(len(rows), matrix.dtype), (rows, np.arange(len(rows)))), shape=(n_rows, matrix.shape[0]))
    return (selection @ matrix).tocsr()


def compact_columns(matrix: sp.csr_matrix, xp=np, in_place: bool = False) -> tuple[np.ndarray, sp.csr_matrix]:
    """The columns `matrix` uses (sorted) and `matrix` restricted to them, as CSR sharing its data (of scipy, or of
    cupyx with cupy as `xp`).

    A lookup table, not `np.unique` + `searchsorted`: linear in nnz, which matters for the root's blocks. With
    `in_place`, `matrix`'s own column indices are renumbered block by block, not copied (the caller's matrix is
    spent): a label-tree node's gathered rows hold gigabytes of them at 4×10^6 labels.
    """
    present = xp.zeros(matrix.shape[1], dtype=bool)
    present[matrix.indices] = True
    used = xp.flatnonzero(present)
    if used.size == matrix.shape[1]:  # every column in use (the root's block): nothing to compact
        return used, matrix
    position = xp.zeros(matrix.shape[1], dtype=matrix.indices.dtype if in_place else xp.int32)
    position[used] = xp.arange(used.size, dtype=position.dtype)
    if not in_place:
        return used, type(matrix)((matrix.data, position[matrix.indices], matrix.indptr), shape=(matrix.shape[0], used.size))
    indices = matrix.indices
    for start in range(0, indices.size, CELLS_AT_ONCE):
        block = indices[start:start + CELLS_AT_ONCE]
        block[...] = position[block]
    return used, type(matrix)((matrix.data, indices, matrix.indptr), shape=(matrix.shape[0], used.size))


def product_float64(matrix: sp.csr_matrix, vector: np.ndarray, xp=np) -> np.ndarray:
    """`matrix @ vector` for a float32 CSR matrix and a float64 vector, every row summed in float64 as that product
    sums it, a block of rows of about `CELLS_AT_ONCE` cells at a time: the product itself first copies all of
    `matrix.data` as float64 (5 GB for the label tree's root at 4×10^6 labels). A GPU's product runs whole."""
    if xp is not np or matrix.nnz <= CELLS_AT_ONCE:
        return matrix @ vector
    result = np.empty(matrix.shape[0], dtype=np.float64)
    indptr = matrix.indptr
    for lo, hi in row_blocks(indptr, CELLS_AT_ONCE):
        start, stop = int(indptr[lo]), int(indptr[hi])
        rows = sp.csr_matrix((matrix.data[start:stop], matrix.indices[start:stop], indptr[lo:hi + 1] - start),
                             shape=(hi - lo, matrix.shape[1]))
        result[lo:hi] = rows @ vector
    return result


def row_ids(matrix: sp.csr_matrix, xp=np) -> np.ndarray:
    """The row of each stored cell of a CSR matrix, of numpy or of cupy as `xp` (whose `repeat` takes no per-row
    counts: a search there, 16× slower than `np.repeat` on a CPU)."""
    if xp is np:
        return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return xp.searchsorted(matrix.indptr[1:], xp.arange(matrix.nnz), side="right")


def top_k_per_row(matrix: sp.csr_matrix, k: int, chunk_cells: int = 1 << 21) -> sp.csr_matrix:
    """Keep the k largest entries of each row (which must hold no duplicate cells).

    Ties at the k-th value go to the lowest columns, so a row's result never depends on the
    other rows of the batch nor on the order of its entries (a product's rows come unsorted, and
    sorting them would cost more than the cut). Rows, taken in order of length, are scattered
    into dense blocks of similar widths padded with -inf and cut at their k-th value found by
    `argpartition`: linear time, no sort of the entries.
    """
    matrix = matrix.tocsr()
    lengths = np.diff(matrix.indptr)
    if lengths.size == 0 or lengths.max() <= k:
        return matrix.copy()
    matrix = _without_cells_below_kth(matrix, lengths, k)
    lengths = np.diff(matrix.indptr)
    by_length = np.argsort(lengths, kind="stable")
    kept_rows, kept_cols, kept_values = [], [], []
    lo = np.searchsorted(lengths[by_length], k, side="right")  # rows with <= k entries are kept whole
    short = by_length[:lo]
    short_cells = run_cells(matrix.indptr[short], lengths[short])
    kept_rows.append(np.repeat(short, lengths[short]))
    kept_cols.append(matrix.indices[short_cells])
    kept_values.append(matrix.data[short_cells])
    while lo < by_length.size:
        width = int(lengths[by_length[min(lo + max(1, chunk_cells // max(int(lengths[by_length[lo]]), 1)), by_length.size) - 1]])
        hi = min(by_length.size, lo + max(1, chunk_cells // width))
        chunk = by_length[lo:hi]
        width = int(lengths[chunk].max())
        chunk_rows = np.repeat(np.arange(chunk.size), lengths[chunk])
        position = places_in_runs(lengths[chunk])
        source = np.repeat(matrix.indptr[chunk], lengths[chunk]) + position
        values = np.full((chunk.size, width), -np.inf, dtype=np.float32)
        columns = np.zeros((chunk.size, width), dtype=matrix.indices.dtype)
        values[chunk_rows, position] = matrix.data[source]
        columns[chunk_rows, position] = matrix.indices[source]
        kth = -np.partition(-values, k - 1, axis=1)[:, k - 1:k]  # every row here has more than k entries
        keep = values > kth
        at_kth = values == kth
        _keep_lowest_columns(keep, at_kth, columns, k - keep.sum(axis=1))
        block_rows, block_positions = np.nonzero(keep)
        kept_rows.append(chunk[block_rows])
        kept_cols.append(columns[block_rows, block_positions])
        kept_values.append(values[block_rows, block_positions])
        lo = hi
    return sp.csr_matrix(
        (np.concatenate(kept_values), (np.concatenate(kept_rows), np.concatenate(kept_cols))), shape=matrix.shape, dtype=matrix.dtype
    )


def cut_long_rows(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """`top_k_per_row(matrix, k)` for a large matrix whose rows are mostly short (an index's posting lists): only the
    rows longer than k are read, one at a time, and the others are kept by a mask, where `top_k_per_row` would lay
    out every kept cell's row, column and value (gigabytes for the nearest channel's term index at 10^6 concepts);
    `matrix` itself where no row is longer than k."""
    lengths = np.diff(matrix.indptr)
    long_rows = np.flatnonzero(lengths > k)
    if not long_rows.size:
        return matrix
    keep = np.ones(matrix.nnz, dtype=bool)
    for row in long_rows.tolist():
        lo, hi = int(matrix.indptr[row]), int(matrix.indptr[row + 1])
        values, columns = matrix.data[lo:hi], matrix.indices[lo:hi]
        kth = np.partition(values, values.size - k)[values.size - k]
        kept = values > kth
        tied = np.flatnonzero(values == kth)
        kept[tied[np.argsort(columns[tied], kind="stable")][:k - int(kept.sum())]] = True  # ties: the lowest columns
        keep[lo:hi] = kept
    lengths[long_rows] = k
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(matrix.indptr.dtype)
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def _without_cells_below_kth(matrix: sp.csr_matrix, lengths: np.ndarray, k: int) -> sp.csr_matrix:
    """`matrix` less the cells of its long rows (`MIN_RUN_LENGTH` × k cells or more) that lie below a lower bound of
    their row's k-th largest value (`_long_row_runs`), in about one pass over the cells.

    Only the runs whose maximum reaches the bound are read again, less their cells below it. Every cell at or above
    the k-th value stays (ties included), so the top k is the same, while what `top_k_per_row` scatters and
    partitions shrinks from a whole row (the nearest channel's shortlist rows reach 5% of the example strings) to a
    few times k.
    """
    long_rows = np.flatnonzero(lengths >= MIN_RUN_LENGTH * k)
    if not long_rows.size:
        return matrix
    starts, ends, maxima, bounds = _long_row_runs(matrix, lengths, long_rows, k)
    row, run = np.nonzero(maxima >= bounds[:, None])
    short_rows = np.flatnonzero(lengths < MIN_RUN_LENGTH * k)
    # segments of cells to read, each a short row whole or a kept run of a long row, in the order of the cells
    segment_starts = np.concatenate([matrix.indptr[short_rows], starts[row, run]])
    order = np.argsort(segment_starts, kind="stable")
    segment_starts = segment_starts[order]
    segment_lengths = np.concatenate([lengths[short_rows], ends[row, run] - starts[row, run]])[order]
    segment_rows = np.concatenate([short_rows, long_rows[row]])[order]
    segment_bounds = np.concatenate([np.full(short_rows.size, -np.inf, dtype=matrix.data.dtype), bounds[row]])[order]
    cells = run_cells(segment_starts, segment_lengths)
    at_least = matrix.data[cells] >= np.repeat(segment_bounds, segment_lengths)
    counts = np.bincount(np.repeat(segment_rows, segment_lengths)[at_least], minlength=lengths.size)
    kept = cells[at_least]
    return sp.csr_matrix((matrix.data[kept], matrix.indices[kept], np.concatenate([[0], np.cumsum(counts)])), shape=matrix.shape)


def _long_row_runs(matrix: sp.csr_matrix, lengths: np.ndarray, long_rows: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """(starts, ends, maxima, bounds): each long row cut into at least k (at most `LONG_ROW_RUNS` × k) disjoint runs of
    cells (long rows × runs; a row's runs past its last are empty, of maximum -inf), and per row the k-th largest of
    its runs' maxima: the k-th largest of k of its cells, so at most the row's own k-th value."""
    row_lengths = lengths[long_rows, None].astype(np.int64)
    n_runs = np.minimum(LONG_ROW_RUNS * k, row_lengths // MIN_RUN_LENGTH)
    edges = matrix.indptr[long_rows, None] + np.minimum(np.arange(int(n_runs.max()) + 1), n_runs) * row_lengths // n_runs
    maxima = _run_maxima(matrix.data, edges)
    return edges[:, :-1], edges[:, 1:], maxima, -np.partition(-maxima, k - 1, axis=1)[:, k - 1]


def _run_maxima(data: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The largest of `data[edges[r, i]:edges[r, i + 1]]` for each row r of `edges` and run i; -inf for an empty run."""
    maxima = np.maximum.reduceat(data, np.minimum(edges, data.size - 1).ravel()).reshape(edges.shape)[:, :-1]
    if edges[-1, -1] == data.size:  # `reduceat` takes no index past the data: the run ending there stopped a cell short
        last = np.flatnonzero(np.diff(edges[-1]))[-1]
        maxima[-1, last] = data[edges[-1, last]:].max()
    maxima[edges[:, 1:] == edges[:, :-1]] = -np.inf
    return maxima


def _keep_lowest_columns(keep: np.ndarray, tied: np.ndarray, columns: np.ndarray, wanted: np.ndarray) -> None:
    """Add to `keep`, row by row, the `wanted` tied cells of the lowest columns (all of them where that is all
    there are: the usual case; only the rows with more ties than places are ranked)."""
    crowded = np.flatnonzero(tied.sum(axis=1) > wanted)
    keep |= tied
    if crowded.size:
        tied_columns = np.where(tied[crowded], columns[crowded], np.iinfo(columns.dtype).max)
        rank = np.argsort(np.argsort(tied_columns, axis=1, kind="stable"), axis=1)
        keep[crowded] &= ~tied[crowded] | (rank < wanted[crowded, None])


def max_per_cell(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix whose cell (r, c) holds the largest of the values given for it: the cells grouped by row (already
    so where `rows` ascend, as the channels give them), then each row's sorted by a compiled loop
    (`compiled_loops.row_maxima`), 2.3× faster than one sort of all the cells' flat positions at 4×10^6 concepts."""
    from .compiled_loops import row_maxima

    if rows.size and np.any(rows[1:] < rows[:-1]):
        by_row = np.argsort(rows, kind="stable")
        rows, cols, values = rows[by_row], cols[by_row], values[by_row]
    row_starts = np.searchsorted(rows, np.arange(shape[0] + 1))
    indptr, kept_cols, kept_values = row_maxima(row_starts, np.asarray(cols), np.asarray(values, dtype=np.float32))
    return sp.csr_matrix((kept_values, kept_cols, indptr), shape=shape, dtype=np.float32)


def max_over_mapped(rows: np.ndarray, values: np.ndarray, mapped: sp.csr_matrix, shape: tuple[int, int],
                    weighted: bool = False) -> sp.csr_matrix:
    """Entry i (row `rows[i]`, value `values[i]`) spread over the columns of `mapped`'s row i (times its
    stored value when `weighted`), keeping the largest per cell: a score carried through a mapping
    (aliases → concepts, children → parents)."""
    repeat = np.diff(mapped.indptr)
    spread = np.repeat(values, repeat)
    if weighted:
        spread = spread * mapped.data
    return max_per_cell(np.repeat(rows, repeat), mapped.indices, spread.astype(np.float32), shape)


def product_at(left: sp.csr_matrix, right: sp.csr_matrix, pattern: sp.csr_matrix) -> np.ndarray:
    """The values of `left @ right` at the stored cells of `pattern`, one per cell, in CSR order: scipy's floats (each
    cell's products added in `left`'s stored order from 0, in float32), a row at a time into a dense row of the
    product by a compiled loop (`compiled_loops.products_at_cells`), so the product is never stored."""
    from .compiled_loops import products_at_cells

    return products_at_cells(left.indptr, left.indices, left.data.astype(np.float32, copy=False), right.indptr, right.indices,
                             right.data.astype(np.float32, copy=False), pattern.indptr, pattern.indices, pattern.shape[1])


def pair_dots(left: sp.csr_matrix, right: sp.csr_matrix, left_rows: np.ndarray, right_rows: np.ndarray) -> np.ndarray:
    """The dot product of each (row `left_rows[i]` of `left`, row `right_rows[i]` of `right`) pair, in float32, without
    copying the rows; fastest with `left_rows` in runs (a query's candidates), as each run spreads its row once.
    `(left[left_rows].multiply(right[right_rows])).sum(axis=1)` gives the same values to the last bit or so: scipy adds
    the products in float32 in an order of its own, this in float64 in the order of `right`'s columns."""
    from .compiled_loops import dots_of_pairs

    right = right if right.has_sorted_indices else right.sorted_indices()
    return dots_of_pairs(left.indptr, left.indices, left.data.astype(np.float32, copy=False), right.indptr, right.indices,
                         right.data.astype(np.float32, copy=False), np.asarray(left_rows, dtype=np.int64),
                         np.asarray(right_rows, dtype=np.int64), zeroed_float32(PAIR_DOTS_SPREAD, left.shape[1]))
