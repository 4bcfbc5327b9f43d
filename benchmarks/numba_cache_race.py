"""Whether processes that start together on a cold numba cache leave it sound: --processes processes at once, each
making the first call of the nearest channel's shortlist (`compiled_loops.top_k_of_postings`) for its own integer
types (8 kinds of arguments: the queries', the postings' row pointers and columns, each int32 or int64), then each kind
again in a new process of its own, which loads what the others cached and checks its shortlist against scipy's
product. A kind that fails there (a wrong result, or numba's "can't unbox array") fails in every later process too,
until the cache is deleted. Repeated --trials times, each on an empty `NUMBA_CACHE_DIR`.

    python benchmarks/numba_cache_race.py [--trials 5] [--processes 8] [--output benchmarks/results/numba_cache_race.json]

Another checkout's code runs through PYTHONPATH, for versions side by side; the record names the commit that ran.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

FIRST_CALL = """
import sys
import numpy as np
import scipy.sparse as sp
from spacy_xmr.xmr import compiled_loops

kind = int(sys.argv[1])
postings = sp.random(300, 900, density=0.05, format="csr", random_state=1, dtype=np.float32)
queries = sp.random(40, 300, density=0.05, format="csr", random_state=2, dtype=np.float32)
query_type, pointer_type, column_type = (np.int64 if kind & bit else np.int32 for bit in (4, 2, 1))
counts, strings, sums = compiled_loops.top_k_of_postings(
    queries.indptr.astype(query_type), queries.indices.astype(query_type), queries.data, postings.indptr.astype(pointer_type),
    postings.indices.astype(column_type), postings.data, 5, np.zeros(900, dtype=np.float32))
product, start = (queries @ postings).toarray(), 0
for row, count in enumerate(counts):
    assert strings[start:start + count].max(initial=0) < 900 and np.allclose(product[row][strings[start:start + count]], sums[start:start + count])
    start += count
"""
N_KINDS = 8


def trial(processes: int, cache: Path) -> dict:
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    together = [subprocess.Popen([sys.executable, "-c", FIRST_CALL, str(index % N_KINDS)], env=environment,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for index in range(processes)]
    failed_together = sum(process.wait() != 0 for process in together)
    failed_after = [kind for kind in range(N_KINDS)
                    if subprocess.run([sys.executable, "-c", FIRST_CALL, str(kind)], env=environment,
                                      capture_output=True).returncode != 0]
    return {"failed_together": failed_together, "kinds_failing_after": failed_after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--processes", type=int, default=N_KINDS)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "numba_cache_race.json")
    args = parser.parse_args()
    from nearest_postings import code_version

    trials = []
    for index in range(args.trials):
        cache = Path(tempfile.mkdtemp(prefix="numba_cache_race_"))
        try:
            trials.append(trial(args.processes, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        print(f"trial {index}: {json.dumps(trials[-1])}", flush=True)
    record = {"command": " ".join(["python", "benchmarks/numba_cache_race.py", *sys.argv[1:]]), "code": code_version(),
              "cpus": os.cpu_count(), "processes": args.processes, "trials": trials,
              "broken_caches": sum(bool(result["kinds_failing_after"]) for result in trials)}
    with atomic_open(args.output) as handle:
        json.dump(record, handle, indent=2)
    print(f"{record['broken_caches']} of {args.trials} caches broken; written to {args.output}")


if __name__ == "__main__":
    main()
