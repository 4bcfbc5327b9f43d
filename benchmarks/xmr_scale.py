"""Training time, peak memory and prediction throughput of the XMR model on synthetic ontologies.

    python benchmarks/xmr_scale.py --concepts 100000 [--concepts 1000000]

Each size runs in its own subprocess so that its peak RSS is its own. Throughput is measured after a
first call of 100 queries (timed apart: it builds the lazy prediction structures). The model is then saved
(with those structures), loaded and called once more on 100 queries, as a user of a saved model would.
Writes benchmarks/results/xmr_scale.json.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
WARM_UP_QUERIES = 100  # the first call, timed apart: it builds what prediction derives from the model once


def run_one(n_concepts: int, n_queries: int) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from synthetic_ontology import perturbed_queries, synthetic_ontology

    from spacy_xmr.xmr import XMRModel

    start = time.perf_counter()
    ontology = synthetic_ontology(n_concepts)
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    model = XMRModel.train(ontology, [], progress=False)
    train_s = time.perf_counter() - start
    train_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queries = perturbed_queries(ontology, n_queries)
    texts = [text for text, _ in queries]
    start = time.perf_counter()
    model.predict(texts[:WARM_UP_QUERIES], top_k=10)  # builds the lazy parts: term index, rewrites, transposed layers
    first_call_s = time.perf_counter() - start
    start = time.perf_counter()
    ranked = model.predict(texts, top_k=10)
    predict_s = time.perf_counter() - start
    stats = model.stats
    directory = Path(tempfile.mkdtemp(prefix="xmr-scale-"))
    try:
        start = time.perf_counter()
        model.save(directory / "model")
        save_s = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (directory / "model").rglob("*") if p.is_file())
        del model  # the loaded copy replaces it: the peak stays one model's
        gc.collect()
        start = time.perf_counter()
        loaded = XMRModel.load(directory / "model")
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded.predict(texts[:WARM_UP_QUERIES], top_k=10)
        first_call_after_load_s = time.perf_counter() - start
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {
        "n_concepts": n_concepts, "n_aliases": ontology.n_aliases(), "generate_s": generate_s, "train_s": train_s,
        "peak_rss_mb_after_training": train_rss, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # the matcher worker processes (forked: much of their RSS is pages shared with this process)
        "peak_rss_mb_largest_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "first_call_s": first_call_s, "predict_mentions_per_s": len(texts) / predict_s,
        "recall_at_1_perturbed": sum(bool(r) and r[0][0] == cid for r, (_, cid) in zip(ranked, queries)) / len(queries),
        "recall_at_10_perturbed": sum(any(c == cid for c, _ in r) for r, (_, cid) in zip(ranked, queries)) / len(queries),
        "save_s": save_s, "load_s": load_s, "first_call_after_load_s": first_call_after_load_s,
        "model_bytes": size, "stats": stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, action="append", help="ontology size (repeatable); default 100000")
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "xmr_scale.json")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_one(args.worker, args.queries)))
        return
    results = []
    for n in args.concepts or [100_000]:
        completed = subprocess.run([sys.executable, __file__, "--worker", str(n), "--queries", str(args.queries)],
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            results.append({"n_concepts": n, "failed": completed.stderr.strip()[-1000:]})
        else:
            results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1], indent=2))
    with atomic_open(args.output) as handle:
        json.dump({"machine_cpus": os.cpu_count(), "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
