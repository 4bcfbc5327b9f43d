"""What reading a label-tree node's rows costs from a memory-mapped feature file that the page cache does not hold:
plain fancy indexing (each fault reads the disk's `read_ahead_kb` around its page) against `mapped_reads.read_rows`
on a mapping for random access, side by side in one process. Linux only (it reads /proc/self/io).

    python benchmarks/mapped_reads.py [--rows 2000000] [--cells-per-row 120] [--nodes 300] [--node-rows 250] \\
        [--foreign-share 0.2] [--output benchmarks/results/mapped_reads.json]

A node is a stretch of `--node-rows` consecutive rows plus `--foreign-share` as many rows from anywhere in the file
(examples whose other labels sit under other leaves, as the matchers' leaf level has), in a random order. The file's
pages are dropped from the page cache (`posix_fadvise(DONTNEED)`) before each node, as at 4×10^6 concepts, where
the 14 GB file does not fit beside the training's memory and a page read around one node is gone by the time another
needs it. Reports each way's seconds and bytes read from disk per node, and their ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from spacy_xmr.atomic import atomic_open
from spacy_xmr.xmr.arrays import load_arrays
from spacy_xmr.xmr.feature_store import MATRIX_FILES, FeatureStore
from spacy_xmr.xmr.mapped_reads import random_access, read_rows

REPO = Path(__file__).resolve().parent.parent
CHUNK_ROWS = 100_000


def _read_bytes() -> int:
    return int(next(line for line in Path("/proc/self/io").read_text().splitlines() if line.startswith("read_bytes")).split()[1])


def _chunks(n_rows: int, cells_per_row: int, n_columns: int):
    rng = np.random.default_rng(0)
    for lo in range(0, n_rows, CHUNK_ROWS):
        rows = min(CHUNK_ROWS, n_rows - lo)
        columns = np.sort(rng.integers(0, n_columns, (rows, cells_per_row)), axis=1).astype(np.int32).ravel()
        yield sp.csr_matrix((rng.random(rows * cells_per_row, dtype=np.float32), columns,
                             np.arange(0, rows * cells_per_row + 1, cells_per_row)), shape=(rows, n_columns))


def _nodes(n_rows: int, n_nodes: int, node_rows: int, foreign_share: float) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    starts = np.sort(rng.choice(n_rows - node_rows, n_nodes, replace=False))
    return [rng.permutation(np.concatenate([np.arange(start, start + node_rows),
                                            rng.integers(0, n_rows, int(node_rows * foreign_share))])) for start in starts]


def _drop_cache(directory: Path) -> None:
    for path in directory.glob("*.npy"):
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def _timed(read, nodes: list[np.ndarray], directory: Path, shape: tuple[int, int], advised: bool) -> dict:
    """Each node read from a mapping of its own, made after the file's pages were dropped: a page that a mapping
    holds cannot be dropped, so one mapping for all nodes would keep the pages read before."""
    seconds, read_bytes = 0.0, 0
    for rows in nodes:
        _drop_cache(directory)
        matrix = _mapped(directory, shape)
        if advised:
            random_access(matrix)
        before, start = _read_bytes(), time.perf_counter()
        read(matrix, rows)
        seconds += time.perf_counter() - start
        read_bytes += _read_bytes() - before
        del matrix
    return {"ms_per_node": round(1000 * seconds / len(nodes), 2), "mb_read_per_node": round(read_bytes / len(nodes) / 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cells-per-row", type=int, default=120)
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--node-rows", type=int, default=250)
    parser.add_argument("--foreign-share", type=float, default=0.2)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "mapped_reads.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mapped-reads-") as work_dir, FeatureStore(work_dir) as store:
        shape = (args.rows, 1_000_000)
        written = store.write_rows(_chunks(args.rows, args.cells_per_row, shape[1]), shape, args.rows * args.cells_per_row)
        nodes = _nodes(args.rows, args.nodes, args.node_rows, args.foreign_share)
        record = {"command": " ".join(["python", "benchmarks/mapped_reads.py", *sys.argv[1:]]),
                  "file_gb": round(written.nnz * 8 / 1e9, 2), "read_ahead_kb": _read_ahead_kb(),
                  "plain": _timed(lambda matrix, rows: matrix[rows], nodes, store.directory, shape, advised=False),
                  "read_rows": _timed(read_rows, nodes, store.directory, shape, advised=True)}
        del written
    record["ratio_ms"] = round(record["plain"]["ms_per_node"] / record["read_rows"]["ms_per_node"], 2)
    record["ratio_bytes"] = round(record["plain"]["mb_read_per_node"] / max(record["read_rows"]["mb_read_per_node"], 1e-6), 1)
    print(json.dumps(record, indent=1))
    with atomic_open(args.output) as handle:
        json.dump(record, handle, indent=2)


def _mapped(directory: Path, shape: tuple[int, int]) -> sp.csr_matrix:
    arrays = load_arrays(directory, *MATRIX_FILES)
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape, copy=False)


def _read_ahead_kb() -> dict[str, int]:
    """Each disk's read-ahead: what a fault on a mapped file reads around its page."""
    return {path.parent.parent.name: int(path.read_text()) for path in sorted(Path("/sys/block").glob("*/queue/read_ahead_kb"))
            if not path.parent.parent.name.startswith(("loop", "zram", "ram"))}


if __name__ == "__main__":
    main()
