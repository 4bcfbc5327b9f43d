"""The compiled loops of prediction: the beam search's per-query products (`parent_blocks.block_products`,
`sparse_ops.product_at`), the dot products of (query, string) pairs (`sparse_ops.pair_dots`) and the nearest channel's
shortlist (`top_k_of_postings`). Each loops over a few entries per step, which numpy can only do by copying rows,
and scipy's products only with arrays as wide as the whole product.

numba compiles each on first use and caches the machine code beside this file (or in the user's cache folder where
that is read-only), so a process pays the compilation once per machine, not once per call.

No loop here calls numba's `sort` or `argsort`: numba names the sorting code it generates by a counter of the process
that compiles it, so two loops cached by different processes can hold different sorts (in place, by index) under one
symbol, and a process that loads both runs one in place of the other (numba issue #10486). Here the shortlist's
`argsort` ran as `row_maxima`'s in-place sort and listed strings that do not exist. The loops sort with
`_sort_keys`, whose name is theirs.

Nor do two processes compile (or load) a loop at once: numba's cache writes its index and its code in separate files,
unlocked (numba issue #10128), and processes that start together on a machine's first run (Ray's workers,
`nlp.pipe(n_process=...)`) can leave an index entry that names another signature's code. Here, 8 processes making
the shortlist's first call for 8 signatures at once left, in 3 runs of 6, a cache on which one of them failed in
every later process ("can't unbox array"; `benchmarks/numba_cache_race.py`). A process's first call of a kind of
arguments therefore waits for a lock beside the cache (`_first_calls_locked`): 0 runs of 6.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numba
import numpy as np
from filelock import FileLock

LOCK_FILE = "spacy_xmr_compiled_loops.lock"  # in numba's cache folder of this module


def _first_calls_locked(kernel):
    """`kernel` (a numba dispatcher), called under a file lock beside numba's cache the first time this process passes
    arguments of a kind (`_kind_of`) it has not passed before; later calls skip the lock."""
    lock, kinds_called = FileLock(str(Path(kernel.stats.cache_path) / LOCK_FILE)), set()

    @functools.wraps(kernel.py_func)
    def call(*args):
        kind = tuple(map(_kind_of, args))
        if kind in kinds_called:
            return kernel(*args)
        with lock:
            result = kernel(*args)
        kinds_called.add(kind)
        return result

    call.kernel = kernel
    return call


def _kind_of(value):
    """What numba's signature of `value` depends on, read in about a microsecond (numba's `typeof` takes ten)."""
    if isinstance(value, np.ndarray):
        flags = value.flags
        return value.dtype.num, value.ndim, flags.writeable, flags.c_contiguous, flags.f_contiguous, flags.aligned
    return type(value)


@_first_calls_locked
@numba.njit(cache=True, nogil=True)
def products_by_block(f_indptr, f_indices, f_data, cells, cell_queries, beam_parents, run_starts, parent_keys, key_features,
                      key_starts, child_ranks, weights, n_values):
    """For each beam cell (query q, parent p), taken in the order of `cells`: q's terms looked up among p's keys (both
    ascending: a branch-free bisection from the last hit), and each hit's weights added to the run of p's children
    that starts at `run_starts[cell]`, in float32, term by term, as scipy's products add them. A cell writes only its
    own run, so any order gives the same floats; cells grouped by parent search keys that recent cells brought into
    the cache."""
    values = np.zeros(n_values, dtype=np.float32)
    for cell in cells:
        q, p = cell_queries[cell], beam_parents[cell]
        t0, t1 = f_indptr[q], f_indptr[q + 1]
        lo, hi = parent_keys[p], parent_keys[p + 1]
        run = run_starts[cell]
        for i in range(t0, t1):
            if lo >= hi:
                break
            term = f_indices[i]
            at, n = lo, hi - lo
            while n > 1:
                half = n >> 1
                at = at + half if key_features[at + half - 1] < term else at
                n -= half
            at = at + 1 if key_features[at] < term else at
            lo = at
            if at < hi and key_features[at] == term:
                x = f_data[i]
                for e in range(key_starts[at], key_starts[at + 1]):
                    values[run + child_ranks[e]] += x * weights[e]
                lo = at + 1
    return values


@_first_calls_locked
@numba.njit(cache=True, nogil=True)
def products_at_cells(l_indptr, l_indices, l_data, r_indptr, r_indices, r_data, p_indptr, p_indices, n_cols):
    """For each row q of L: row q of `L @ R` accumulated into a dense row (R's rows of q's terms, in q's stored order,
    in float32), read at the cells of the pattern's row q, then zeroed where it was written (or whole, if shorter)."""
    values = np.zeros(p_indices.size, dtype=np.float32)
    dense = np.zeros(n_cols, dtype=np.float32)
    for q in range(l_indptr.size - 1):
        if p_indptr[q] == p_indptr[q + 1]:
            continue
        written = 0
        for i in range(l_indptr[q], l_indptr[q + 1]):
            x, term = l_data[i], l_indices[i]
            written += r_indptr[term + 1] - r_indptr[term]
            for e in range(r_indptr[term], r_indptr[term + 1]):
                dense[r_indices[e]] += x * r_data[e]
        for cell in range(p_indptr[q], p_indptr[q + 1]):
            values[cell] = dense[p_indices[cell]]
        if written < n_cols:
            for i in range(l_indptr[q], l_indptr[q + 1]):
                for e in range(r_indptr[l_indices[i]], r_indptr[l_indices[i] + 1]):
                    dense[r_indices[e]] = 0
        else:
            dense[:] = 0
    return values


@_first_calls_locked
@numba.njit(cache=True, nogil=True)
def dots_of_pairs(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, a_rows, b_rows, spread):
    """For each pair i, the dot product of row `a_rows[i]` of A and row `b_rows[i]` of B: A's row spread into `spread`
    (float32 zeros at least as long as A's rows, left zero; spread again only where `a_rows` changes), then each
    entry of B's row multiplied by its column there in float32 and added in float64, rounded to float32 once. With
    B's columns ascending that is the sum of a merge of the two rows' shared columns to the bit: the other products
    are zero. Why: a merge branches at each step on which row is ahead, unpredictably (about 500 ns a pair of the
    nearest channel's rows of 85 n-grams; this reads B's row straight through in about 260)."""
    out = np.zeros(a_rows.size, dtype=np.float32)
    spread_row = -1
    for i in range(a_rows.size):
        if a_rows[i] != spread_row:
            if spread_row >= 0:
                for e in range(a_indptr[spread_row], a_indptr[spread_row + 1]):
                    spread[a_indices[e]] = 0
            spread_row = a_rows[i]
            for e in range(a_indptr[spread_row], a_indptr[spread_row + 1]):
                spread[a_indices[e]] += a_data[e]
        total = 0.0
        for e in range(b_indptr[b_rows[i]], b_indptr[b_rows[i] + 1]):
            total += np.float64(spread[b_indices[e]] * b_data[e])
        out[i] = total
    if spread_row >= 0:
        for e in range(a_indptr[spread_row], a_indptr[spread_row + 1]):
            spread[a_indices[e]] = 0
    return out


@numba.njit(cache=True, nogil=True)
def _ranks_below(sum_a, string_a, sum_b, string_b):
    """Whether (sum_a, string_a) ranks below (sum_b, string_b) in a shortlist: a smaller sum, or the same sum and a
    higher string (ties go to the lowest strings)."""
    return sum_a < sum_b or (sum_a == sum_b and string_a > string_b)


@numba.njit(cache=True, nogil=True)
def _sift_down(heap_sums, heap_strings, size, i):
    """Restores the heap below entry i: each entry ranks below its children (`_ranks_below`), the lowest at the root."""
    while True:
        lowest, left, right = i, 2 * i + 1, 2 * i + 2
        if left < size and _ranks_below(heap_sums[left], heap_strings[left], heap_sums[lowest], heap_strings[lowest]):
            lowest = left
        if right < size and _ranks_below(heap_sums[right], heap_strings[right], heap_sums[lowest], heap_strings[lowest]):
            lowest = right
        if lowest == i:
            return
        heap_sums[i], heap_sums[lowest] = heap_sums[lowest], heap_sums[i]
        heap_strings[i], heap_strings[lowest] = heap_strings[lowest], heap_strings[i]
        i = lowest


@numba.njit(cache=True, nogil=True)
def _sort_keys(keys):
    """Sorts int64 `keys` ascending in place: quicksort on a median of three, the larger part kept on a stack (so at
    most 64 levels), parts of up to 16 keys by insertion (see the module's docstring for why not numba's sort)."""
    pending = np.empty(128, dtype=np.int64)
    n_pending, lo, hi = 0, 0, keys.size - 1
    while True:
        while hi - lo > 16:
            mid = (lo + hi) >> 1
            if keys[mid] < keys[lo]:
                keys[mid], keys[lo] = keys[lo], keys[mid]
            if keys[hi] < keys[lo]:
                keys[hi], keys[lo] = keys[lo], keys[hi]
            if keys[hi] < keys[mid]:
                keys[hi], keys[mid] = keys[mid], keys[hi]
            pivot, i, j = keys[mid], lo, hi  # keys[lo] <= pivot <= keys[hi] stop both scans
            while True:
                i += 1
                while keys[i] < pivot:
                    i += 1
                j -= 1
                while keys[j] > pivot:
                    j -= 1
                if i >= j:
                    break
                keys[i], keys[j] = keys[j], keys[i]
            if j - lo < hi - j:  # keys[lo:j + 1] <= pivot <= keys[j + 1:hi + 1]
                pending[n_pending], pending[n_pending + 1], hi = j + 1, hi, j
            else:
                pending[n_pending], pending[n_pending + 1], lo = lo, j, j + 1
            n_pending += 2
        for i in range(lo + 1, hi + 1):
            key, j = keys[i], i - 1
            while j >= lo and keys[j] > key:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = key
        if n_pending == 0:
            return
        n_pending -= 2
        lo, hi = pending[n_pending], pending[n_pending + 1]


@_first_calls_locked
@numba.njit(cache=True, nogil=True)
def top_k_of_postings(q_indptr, q_indices, q_data, p_indptr, p_indices, p_data, k, totals):
    """For each query row: its terms' posting lists added up string by string, in float32 in the query's term order from
    0 (scipy's `q @ postings` to the bit, zero sums dropped as it drops them), and the k largest sums kept, ties at the
    k-th to the lowest strings. Returns (kept per query, strings, sums), query by query, each query's strings ascending.

    `totals` (float32, all zero, at least one entry per string) holds the running sums; each query sets the entries it
    used back to zero. A string is listed when a product lands on a zero total, so it is listed again only if its sum
    came back to exactly zero, and then read (and dropped) once. The best k are kept in a heap while the totals are read.

    Why: scipy's product lays out arrays as long as all the strings on every call, where a query reaches about 9,000
    of them at 4×10^6 concepts with `max_postings` 2,000 (and 137,000 at 10^6 with every posting, where a merge of the
    sorted lists, comparing every list's head at each step, was slower than scipy)."""
    n_queries = q_indptr.size - 1
    most_pairs = 0
    for q in range(n_queries):
        pairs = 0
        for i in range(q_indptr[q], q_indptr[q + 1]):
            pairs += p_indptr[q_indices[i] + 1] - p_indptr[q_indices[i]]
        most_pairs = max(most_pairs, pairs)
    listed = np.empty(most_pairs, dtype=np.int64)
    heap_sums, heap_strings = np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int64)
    counts = np.zeros(n_queries, dtype=np.int64)
    kept_strings, kept_sums = np.empty(n_queries * k, dtype=np.int64), np.empty(n_queries * k, dtype=np.float32)
    n_kept = 0
    for q in range(n_queries):
        n_listed = 0
        for i in range(q_indptr[q], q_indptr[q + 1]):
            weight, term = q_data[i], q_indices[i]
            for e in range(p_indptr[term], p_indptr[term + 1]):
                string = p_indices[e]
                if totals[string] == 0:
                    listed[n_listed] = string
                    n_listed += 1
                totals[string] += weight * p_data[e]
        size = 0
        for i in range(n_listed):
            string = listed[i]
            total = totals[string]
            totals[string] = 0
            if total == 0:
                continue
            if size < k:
                heap_sums[size], heap_strings[size] = total, string
                size += 1
                if size == k:
                    for j in range(k // 2 - 1, -1, -1):
                        _sift_down(heap_sums, heap_strings, k, j)
            elif _ranks_below(heap_sums[0], heap_strings[0], total, string):
                heap_sums[0], heap_strings[0] = total, string
                _sift_down(heap_sums, heap_strings, k, 0)
        keys = np.empty(size, dtype=np.int64)  # (string, slot) in one integer
        for slot in range(size):
            keys[slot] = (heap_strings[slot] << 32) | slot
        _sort_keys(keys)
        for key in keys:
            kept_strings[n_kept], kept_sums[n_kept] = key >> 32, heap_sums[key & 0xFFFFFFFF]
            n_kept += 1
        counts[q] = size
    return counts, kept_strings[:n_kept], kept_sums[:n_kept]


@_first_calls_locked
@numba.njit(cache=True, nogil=True)
def row_maxima(row_starts, cols, values):
    """Cells (r, cols[i]) for i in `row_starts[r]:row_starts[r + 1]`, the largest value of each, as CSR (indptr, columns
    ascending, values): each row's few thousand cells sorted on their own, where one sort of all of them would wander
    through memory."""
    n_rows = row_starts.size - 1
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    kept_cols, kept_values = np.empty(cols.size, dtype=cols.dtype), np.empty(values.size, dtype=values.dtype)
    n = 0
    for r in range(n_rows):
        a, b = row_starts[r], row_starts[r + 1]
        keys = np.empty(b - a, dtype=np.int64)  # (column, place) in one integer: a plain sort, no indirection
        for i in range(b - a):
            keys[i] = (np.int64(cols[a + i]) << 32) | i
        _sort_keys(keys)
        previous = -1
        for key in keys:
            column, value = key >> 32, values[a + (key & 0xFFFFFFFF)]
            if column != previous:
                kept_cols[n], kept_values[n] = column, value
                n += 1
                previous = column
            elif value > kept_values[n - 1]:
                kept_values[n - 1] = value
        indptr[r + 1] = n
    return indptr, kept_cols[:n], kept_values[:n]
