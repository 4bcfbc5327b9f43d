"""Queries/s of the MEDIC model (MEDIC + NCBI Disease train mentions) on one batch of distinct perturbed MEDIC names, in
one thread and in a thread per core: the CPU side of the batch that `xmr_gpu.py` runs on a GPU.

    python benchmarks/medic_queries.py [--model DIR | --save DIR] [--queries 20000] [--rounds 3] \\
        [--output benchmarks/results/medic_queries.json]

Trains the model first (about 20 s, without calibration, on which prediction's speed does not depend) unless --model
names a saved one; --save keeps it. For each thread count, a first call is timed apart, then the best of --rounds
counts. The record names the commit that ran (another checkout's, where PYTHONPATH names one, for versions side by
side) and a digest of the top-10 scores, which two versions that give the same candidates and scores share.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
TOP_K = 10


def scores_digest(scores) -> str:
    """sha256 of the CSR arrays (rows' columns sorted): the same for the same candidates with the same float32 scores."""
    scores = scores.tocsr(copy=True)
    scores.sort_indices()
    digest = hashlib.sha256()
    for array in (scores.indptr.astype("int64"), scores.indices.astype("int64"), scores.data.astype("float32")):
        digest.update(array.tobytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, help="a saved model of MEDIC (trained here when absent)")
    parser.add_argument("--save", type=Path, help="where to keep the model trained here")
    parser.add_argument("--queries", type=int, default=20_000, help="distinct perturbed MEDIC names in the batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "medic_queries.json")
    args = parser.parse_args()

    from nearest_postings import code_version
    from synthetic_ontology import distinct_perturbed_texts
    from xmr_ncbi_disease import train_and_evaluation_mentions

    from spacy_xmr.ontology import read_medic
    from spacy_xmr.xmr import XMRConfig, XMRModel

    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    if args.model:
        model = XMRModel.load(args.model, device="cpu")
    else:
        train, _ = train_and_evaluation_mentions(args.data_dir, "ncbi_disease", "dev")
        model = XMRModel.train(ontology, train, XMRConfig.from_dict({"calibration": {"folds": 0}}), progress=False)
        if args.save:
            model.save(args.save)
    texts = distinct_perturbed_texts(ontology, args.queries)
    record = {"command": " ".join(["python", "benchmarks/medic_queries.py", *sys.argv[1:]]), "code": code_version(),
              "cpus": os.cpu_count(), "n_queries": len(texts), "threads": []}
    for n_jobs in sorted({1, os.cpu_count()}):
        model.configure(device="cpu", n_jobs=n_jobs)
        start = time.perf_counter()
        scores = model.score_matrix(texts, top_k=TOP_K)
        result = {"n_jobs": n_jobs, "first_call_s": round(time.perf_counter() - start, 2), "queries_per_s_by_round": []}
        for _ in range(args.rounds):
            start = time.perf_counter()
            scores = model.score_matrix(texts, top_k=TOP_K)
            result["queries_per_s_by_round"].append(round(len(texts) / (time.perf_counter() - start), 1))
        result["queries_per_s"] = max(result["queries_per_s_by_round"])
        result["scores_sha256"] = scores_digest(scores)
        print(json.dumps(result), flush=True)
        record["threads"].append(result)
    with atomic_open(args.output) as handle:
        json.dump(record, handle, indent=2)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
