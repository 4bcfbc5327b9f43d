"""Load a saved XMR model of the synthetic ontology as a linking process would, and time it: the load, a first call
of 100 queries, then queries/s on more of the perturbed queries of `benchmarks/xmr_scale.py` (the same ones, so
recall@1 compares with its run), and the process's memory (RSS and PSS from /proc, as `xmr_memory.py` reads them; Linux only).

    python benchmarks/xmr_load.py --model DIR --concepts 1000000 [--queries 5000] [--label NAME] [--output FILE]

Each run appends its record to `--output` (default benchmarks/results/xmr_load.json). To compare two versions of
the code on one model folder, run it twice, the older code first on PYTHONPATH (a `git worktree` of its commit) with
its own `--label`. `xmr_scale.py` removes its model folder when it ends: keep a hard-linked copy while it runs
(`cp -al /tmp/xmr-scale-*/model DIR` once its log reaches the phase `load`).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
WARM_UP_QUERIES = 100


def measure(model_dir: Path, n_concepts: int, n_queries: int) -> dict:
    from synthetic_ontology import perturbed_queries, recall_at, synthetic_ontology
    from xmr_memory import memory

    from spacy_xmr.xmr import XMRModel

    ontology = synthetic_ontology(n_concepts)
    queries = perturbed_queries(ontology, n_queries + WARM_UP_QUERIES)
    del ontology
    gc.collect()
    texts, gold = [text for text, _ in queries], [concept for _, concept in queries]
    before = memory(os.getpid())
    start = time.perf_counter()
    model = XMRModel.load(model_dir)
    load_s = time.perf_counter() - start
    after_load = memory(os.getpid())
    start = time.perf_counter()
    model.predict(texts[:WARM_UP_QUERIES], top_k=10)
    first_call_s = time.perf_counter() - start
    start = time.perf_counter()
    ranked = model.predict(texts[WARM_UP_QUERIES:], top_k=10)
    predict_s = time.perf_counter() - start
    after = memory(os.getpid())
    return {"load_s": round(load_s, 2), "first_call_s": round(first_call_s, 2), "queries_per_s": round(n_queries / predict_s, 1),
            "recall_at_1_perturbed": recall_at(ranked, gold[WARM_UP_QUERIES:], 1), "memory_before_load": before, "memory_after_load": after_load,
            "memory_after_predicting": after,
            "pss_anon_mb_added_by_the_model": round(after["pss_anon_mb"] - before["pss_anon_mb"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a model folder of the synthetic ontology")
    parser.add_argument("--concepts", type=int, required=True, help="the synthetic ontology's size it was trained on")
    parser.add_argument("--queries", type=int, default=5000, help="queries timed after the first call")
    parser.add_argument("--label", default="", help="what to record about this run (e.g. the code's commit)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "xmr_load.json")
    args = parser.parse_args()
    record = {"label": args.label, "model": str(args.model), "n_concepts": args.concepts, "n_queries": args.queries,
              "command": " ".join(["python", "benchmarks/xmr_load.py", *sys.argv[1:]]),
              **measure(args.model, args.concepts, args.queries)}
    print(json.dumps(record, indent=1), flush=True)
    records = json.loads(args.output.read_text()) if args.output.exists() else []
    with atomic_open(args.output) as handle:
        json.dump(records + [record], handle, indent=2)
    print(f"appended to {args.output}")


if __name__ == "__main__":
    main()
