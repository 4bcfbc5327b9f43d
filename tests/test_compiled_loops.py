"""The compiled loops' own sort, their results when loaded from numba's on-disk cache whichever process compiled which
of them (numba names generated code by a per-process counter, and two loops cached by different processes once held
different sorts under one symbol: the shortlist's `argsort` then ran as `row_maxima`'s in-place sort and listed strings
that do not exist; numba issue #10486), and the lock that keeps processes from compiling them at once (numba's cache
is not safe for that: issue #10128)."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from filelock import FileLock

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


FIRST_AND_LATER_CALLS = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from spacy_xmr.xmr import compiled_loops

    arguments = np.array([0, 2], dtype=np.int64), np.array([3, 1], dtype=np.int32), np.ones(2, dtype=np.float32)
    print(Path(compiled_loops.row_maxima.kernel.stats.cache_path) / compiled_loops.LOCK_FILE, flush=True)
    for line in sys.stdin:
        compiled_loops.row_maxima(*arguments)
        print("called", flush=True)
""")


def test_a_first_call_waits_for_the_machines_compilation_lock_and_a_later_call_does_not(tmp_path):
    """Even a signature already in the cache: loading it is where a race read another signature's code."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = subprocess.run([sys.executable, "-c", FIRST_AND_LATER_CALLS], input="call\n", env=environment,
                          capture_output=True, text=True)
    assert warm.returncode == 0 and warm.stdout.endswith("called\n"), warm.stderr[-2000:]
    with subprocess.Popen([sys.executable, "-c", FIRST_AND_LATER_CALLS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env=environment, text=True) as process:
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line.strip()) for line in process.stdout])
        reader.start()
        try:
            lock = FileLock(lines.get(timeout=120))
            with lock:
                process.stdin.write("first\n")
                process.stdin.flush()
                with pytest.raises(queue.Empty):
                    lines.get(timeout=3)  # loading from the warm cache takes well under a second, but it waits
            assert lines.get(timeout=120) == "called"
            with lock:
                process.stdin.write("again\n")
                process.stdin.flush()
                assert lines.get(timeout=60) == "called"  # the same kind of arguments again: no lock
        finally:
            process.stdin.close()
            process.wait(timeout=60)
            reader.join(timeout=60)
