"""The compiled loops of prediction: the beam search's per-query product (`parent_blocks.block_products`) and the
dot products of (query, string) pairs (`sparse_ops.pair_dots`). Both loop over a few entries per step, which numpy
can only do by copying rows.

numba compiles each on first use and caches the machine code beside this file (or in the user's cache folder where
that is read-only), so a process pays the compilation once per machine, not once per call.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def products_by_block(f_indptr, f_indices, f_data, beam_indptr, beam_parents, run_starts, parent_keys, key_features,
                      key_starts, child_ranks, weights, n_values):
    """For each beam cell (query q, parent p) in CSR order: q's terms looked up among p's keys (both ascending: a
    branch-free bisection from the last hit), and each hit's weights added to the run of p's children that starts
    at `run_starts[cell]`, in float32, term by term, as scipy's products add them."""
    values = np.zeros(n_values, dtype=np.float32)
    for q in range(f_indptr.size - 1):
        t0, t1 = f_indptr[q], f_indptr[q + 1]
        for cell in range(beam_indptr[q], beam_indptr[q + 1]):
            p = beam_parents[cell]
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


@numba.njit(cache=True, nogil=True)
def dots_of_pairs(a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, a_rows, b_rows):
    """For each pair i, the dot product of row `a_rows[i]` of A and row `b_rows[i]` of B (indices ascending): their
    shared columns merged in order, each product taken in float32 and added in float64, rounded to float32 once."""
    out = np.zeros(a_rows.size, dtype=np.float32)
    for i in range(a_rows.size):
        a, a_end = a_indptr[a_rows[i]], a_indptr[a_rows[i] + 1]
        b, b_end = b_indptr[b_rows[i]], b_indptr[b_rows[i] + 1]
        total = 0.0
        while a < a_end and b < b_end:
            if a_indices[a] < b_indices[b]:
                a += 1
            elif a_indices[a] > b_indices[b]:
                b += 1
            else:
                total += np.float64(a_data[a] * b_data[b])
                a += 1
                b += 1
        out[i] = total
    return out
