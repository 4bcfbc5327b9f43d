"""The compiled loops' own sort, and their results when loaded from numba's on-disk cache, whichever process compiled
which of them: numba names generated code by a per-process counter, and two loops cached by different processes once
held different sorts under one symbol (the shortlist's `argsort` then ran as `row_maxima`'s in-place sort and listed
strings that do not exist; numba issue #10486)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spacy_xmr.xmr.compiled_loops import _sort_keys

STEPS = textwrap.dedent("""
    import sys
    import numpy as np
    import scipy.sparse as sp
    from spacy_xmr.xmr import compiled_loops

    def maxima():
        starts, cols = np.array([0, 3, 5], dtype=np.int64), np.array([5, 1, 5, 2, 2], dtype=np.int32)
        indptr, kept_cols, kept_values = compiled_loops.row_maxima(starts, cols, np.arange(5, dtype=np.float32))
        assert indptr.tolist() == [0, 2, 3] and kept_cols.tolist() == [1, 5, 2] and kept_values.tolist() == [1, 2, 4]

    def shortlist(read_only):
        postings = sp.random(300, 900, density=0.05, format="csr", random_state=1, dtype=np.float32)
        queries = sp.random(40, 300, density=0.05, format="csr", random_state=2, dtype=np.float32)
        arrays = [array.copy() for array in (postings.indptr, postings.indices, postings.data)]
        for array in arrays:
            array.flags.writeable = not read_only  # a memory-mapped model's arrays: another signature
        counts, strings, sums = compiled_loops.top_k_of_postings(queries.indptr, queries.indices, queries.data, *arrays,
                                                                 5, np.zeros(900, dtype=np.float32))
        product = (queries @ postings).toarray()
        start = 0
        for row, count in enumerate(counts):
            best = np.sort(product[row][product[row] > 0])[::-1][:5]
            assert strings[start:start + count].tolist() == sorted(strings[start:start + count].tolist())
            assert np.allclose(np.sort(sums[start:start + count])[::-1], best), row
            assert np.allclose(product[row][strings[start:start + count]], sums[start:start + count]), row
            start += count

    for step in sys.argv[1:]:
        {"maxima": maxima, "shortlist": lambda: shortlist(False), "read_only_shortlist": lambda: shortlist(True)}[step]()
""")


def test_loops_cached_by_different_processes_run_their_own_code_when_loaded_together(tmp_path):
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    for steps in (["maxima"], ["shortlist"], ["read_only_shortlist"], ["maxima", "read_only_shortlist"]):
        run = subprocess.run([sys.executable, "-c", STEPS, *steps], env=environment, capture_output=True, text=True)
        assert run.returncode == 0, f"{steps}: {run.stderr[-2000:]}"
    assert any((tmp_path / "numba").rglob("*.nbc"))  # the last run loaded what the others cached


@pytest.mark.parametrize("size", [0, 1, 2, 3, 16, 17, 18, 100, 5000])
@pytest.mark.parametrize("order", ["random", "ascending", "descending", "few values", "one value", "organ pipe"])
def test_the_loops_sort_orders_any_keys(size, order):
    rng = np.random.default_rng(size)
    keys = {"random": rng.integers(-(1 << 62), 1 << 62, size), "ascending": np.arange(size) << 32,
            "descending": np.arange(size)[::-1] << 32, "few values": rng.integers(0, 3, size),
            "one value": np.full(size, 7), "organ pipe": np.minimum(np.arange(size), size - np.arange(size))}[order]
    keys = keys.astype(np.int64)
    expected = np.sort(keys)
    _sort_keys(keys)
    assert np.array_equal(keys, expected)
