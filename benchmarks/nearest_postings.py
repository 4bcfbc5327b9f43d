"""Queries/s and recall of a saved XMR model of the synthetic ontology with the nearest channel's posting lists cut
to each `--max-postings` (the prediction setting `max_postings`; 0: every posting), each with every
`--tree-candidates` (the label tree's best concepts per query whose strings the channel compares too; 0: none), side
by side in one process.

    python benchmarks/nearest_postings.py --model DIR --concepts 1000000 [--max-postings 0 20000 10000 5000 2000] \\
        [--tree-candidates 0 20] [--queries 2000] [--rounds 2] [--output benchmarks/results/nearest_postings.json]

The model is loaded once. For each setting the first call (100 queries) is timed apart: it cuts the trained term
index (or builds it again from the stored features, for a bound above the trained one). Then `--queries` perturbed
queries of `xmr_scale.py` are timed, in `--rounds` rounds that take the settings in turn (the second in reverse order;
the best round counts, as the machine is shared; each round's rate is kept too: in the first the queries read the
model's pages from disk), and each setting's recall@1 and recall@10 are counted against the concept each query was
made from. Ratios are against the first setting (the first of each list). The record names the commit that ran.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
WARM_UP_QUERIES = 100


def code_version() -> str:
    """The commit of the spacy_xmr that ran (another checkout's, where PYTHONPATH names one), "+" where it has changes."""
    import spacy_xmr

    folder = str(Path(spacy_xmr.__file__).parent)
    commit = subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "-C", folder, "status", "--porcelain", "."], capture_output=True, text=True).stdout.strip()
    return commit + ("+" if changed else "") if commit else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a model folder of the synthetic ontology")
    parser.add_argument("--concepts", type=int, required=True, help="the synthetic ontology's size it was trained on")
    parser.add_argument("--max-postings", type=int, nargs="+", default=[0, 20_000, 10_000, 5_000, 2_000],
                        help="the bounds compared (0: every posting)")
    parser.add_argument("--tree-candidates", type=int, nargs="+", default=[0, 20],
                        help="the tree's best concepts per query whose strings are compared too (0: none)")
    parser.add_argument("--queries", type=int, default=2000, help="queries timed after the first call")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds over all the bounds")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "nearest_postings.json")
    args = parser.parse_args()
    from synthetic_ontology import perturbed_queries, recall_at, synthetic_ontology

    from spacy_xmr.xmr import XMRModel

    queries = perturbed_queries(synthetic_ontology(args.concepts), args.queries + WARM_UP_QUERIES)
    texts, gold = [text for text, _ in queries], [concept for _, concept in queries]
    start = time.perf_counter()
    model = XMRModel.load(args.model)
    settings = [(cap, tree) for cap in args.max_postings for tree in args.tree_candidates]
    results = {setting: {"max_postings": setting[0], "tree_candidates": setting[1]} for setting in settings}
    print(f"loaded in {time.perf_counter() - start:.1f} s; trained max_postings {model.config.nearest.max_postings}", flush=True)
    for round_index in range(args.rounds):
        for setting in settings if round_index % 2 == 0 else settings[::-1]:
            model.configure(max_postings=setting[0], tree_candidates=setting[1])
            start = time.perf_counter()
            model.predict(texts[:WARM_UP_QUERIES], top_k=10)
            results[setting].setdefault("first_call_s", round(time.perf_counter() - start, 2))
            start = time.perf_counter()
            ranked = model.predict(texts[WARM_UP_QUERIES:], top_k=10)
            rate = round(args.queries / (time.perf_counter() - start), 1)
            results[setting].setdefault("queries_per_s_by_round", []).append(rate)  # the first reads pages from disk
            results[setting]["queries_per_s"] = max(results[setting]["queries_per_s_by_round"])
            results[setting]["recall_at_1_perturbed"] = recall_at(ranked, gold[WARM_UP_QUERIES:], 1)
            results[setting]["recall_at_10_perturbed"] = recall_at(ranked, gold[WARM_UP_QUERIES:], 10)
            print(json.dumps(results[setting]), flush=True)
    first = results[settings[0]]["queries_per_s"]
    for result in results.values():
        result["queries_per_s_ratio"] = round(result["queries_per_s"] / first, 2)
    record = {"command": " ".join(["python", "benchmarks/nearest_postings.py", *sys.argv[1:]]), "code": code_version(),
              "model": str(args.model),
              "n_concepts": args.concepts, "n_queries": args.queries, "results": list(results.values())}
    print(json.dumps(record, indent=1), flush=True)
    with atomic_open(args.output) as handle:
        json.dump(record, handle, indent=2)


if __name__ == "__main__":
    main()
