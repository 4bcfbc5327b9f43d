"""Benchmark of the learned ranker (LightGBM lambdarank over the XMR channels) beside the XMR stage alone.

    python benchmarks/rank_ncbi_disease.py --split dev                              # NCBI Disease dev: tuning
    python benchmarks/rank_ncbi_disease.py --dataset bc5cdr_disease --split dev     # BC5CDR diseases dev: tuning
    python benchmarks/rank_ncbi_disease.py --split test --speed                     # NCBI test, once, final config

Data and protocol as benchmarks/xmr_ncbi_disease.py (MEDIC; `--split dev` trains on train and evaluates on dev,
`--split test` trains the XMR model on train+dev). The ranker trains on out-of-fold lists of the training mentions
(`folds`, by document), cached under benchmarks/work/ so that settings of LightGBM can be compared without
rebuilding them; `--ranker-lists dev` (with `--split test`) trains it on the lists of the dev run (train only), so
that the test run needs no new out-of-fold models (the XMR model still trains on train+dev).
Reports acc@1 / R@k / MRR of both stages on the same lists, the feature importances (share of split gain), an
ablation that retrains without each of the three groups of largest total gain, and with `--speed` the mentions/s of
a spaCy pipeline (xmr_linker + xmr_ranker) on the NCBI Disease test abstracts. Writes
benchmarks/results/rank_<dataset>_<split>.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spacy_xmr.atomic import atomic_open
from spacy_xmr.calibration_metrics import at_threshold, expected_calibration_error
from spacy_xmr.corpus.gold_rank import rank_of
from spacy_xmr.evaluation import evaluate_candidates
from spacy_xmr.ontology import read_medic
from spacy_xmr.ranking import GROUPS, RankerConfig, feature_table, out_of_fold_examples, ranked_channels
from spacy_xmr.ranking.features import ConceptFacts, concept_counts, featurize
from spacy_xmr.ranking.training import RankingExamples, fit_ranker
from spacy_xmr.xmr import XMRConfig, XMRModel
from xmr_ncbi_disease import train_and_evaluation_mentions

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work"
KS = (1, 5, 10)


def metrics(mentions, ranked, ontology) -> dict:
    result = evaluate_candidates(mentions, {m.key: r for m, r in zip(mentions, ranked)}, ontology, KS)
    return {"acc_at_1": round(result["acc_at_1"], 4), **{f"recall_at_{k}": round(result["recall_at_k"][str(k)], 4) for k in KS},
            "mrr": round(result["mrr"], 4), "n_mentions": result["n_mentions"]}


def cached_examples(ontology, train, config: RankerConfig, xmr_config: XMRConfig, name: str) -> RankingExamples:
    """The out-of-fold examples, from benchmarks/work/ when a run with the same data and settings saved them."""
    columns = len(feature_table(ranked_channels(xmr_config)))
    path = WORK / f"rank_oof_{name}_k{config.top_k}_f{config.folds}_c{columns}.npz"
    if path.exists():
        data = np.load(path)
        return RankingExamples(data["features"], data["labels"], data["group_sizes"].tolist(), data["documents"].tolist(),
                               int(data["n_mentions"]))
    examples = out_of_fold_examples(ontology, train, config, xmr_config, progress=lambda line: print(line, flush=True))
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, features=examples.features, labels=examples.labels, group_sizes=np.array(examples.group_sizes),
                        documents=np.array(examples.documents), n_mentions=examples.n_mentions)
    return examples


def confidence_figures(mentions, ranked, confidences, ontology) -> dict:
    """ECE and the links kept at 0.5 of the ranker's calibrated confidence, beside its top candidate's list share
    (the naive reading of the ranker's scores), on the mentions with candidates."""
    kept = [i for i, candidates in enumerate(ranked) if candidates]
    correct = [rank_of(ranked[i], mentions[i].gold_ids, ontology) == 1 for i in kept]
    readings = {"calibrated": [confidences[i] for i in kept] if confidences else None, "list_share": [ranked[i][0][1] for i in kept]}
    return {name: {"expected_calibration_error": round(expected_calibration_error(values, correct), 4),
                   "at_0.5": at_threshold(values, correct, 0.5)}
            for name, values in readings.items() if values is not None}


def without_groups(examples: RankingExamples, columns: list[int]) -> RankingExamples:
    """The examples with those feature columns constant (LightGBM then never splits on them)."""
    features = examples.features.copy()
    features[:, columns] = 0
    return dataclasses.replace(examples, features=features)


def group_gains(importances: dict[str, float], table) -> dict[str, float]:
    gains: dict[str, float] = {}
    for feature in table:
        gains[feature.group] = gains.get(feature.group, 0.0) + importances.get(feature.name, 0.0)
    return dict(sorted(gains.items(), key=lambda pair: -pair[1]))


def ablation(examples, evaluation, ranker_config, channels, counts, top_groups, mentions, evidence, ontology) -> dict:
    """acc@1 on the evaluation lists of rankers trained and applied with one group's columns held constant."""
    table = feature_table(channels)
    results = {}
    for group in top_groups:
        columns = [i for i, feature in enumerate(table) if feature.group == group]
        ranker = fit_ranker(without_groups(examples, columns), dataclasses.replace(ranker_config, calibration_folds=0), channels, counts)
        features = evaluation.copy()
        features[:, columns] = 0
        results[f"without_{group}"] = metrics(mentions, ranker.order(ranker.raw_scores(features), evidence), ontology)
    return results


def pipeline_speed(data_dir: Path, xmr: XMRModel, ranker, repeats: int = 3, copies: int = 3) -> dict:
    """Mentions/s of spaCy pipelines over the gold mentions of the NCBI test abstracts: the linker alone, and with the ranker."""
    import spacy

    from spacy_xmr.corpus import collection_to_docs, read_corpus

    with tempfile.TemporaryDirectory() as tmp:
        xmr.save(Path(tmp) / "xmr")
        ranker.save(Path(tmp) / "ranker")
        results = {}
        for with_ranker in (False, True):
            nlp = spacy.blank("en")
            nlp.add_pipe("xmr_linker", config={"model": str(Path(tmp) / "xmr")})
            if with_ranker:
                nlp.add_pipe("xmr_ranker", config={"model": str(Path(tmp) / "ranker")})
            gold_docs = collection_to_docs(read_corpus(data_dir / "ncbi_disease" / "NCBItestset_corpus.txt"), nlp)
            n_mentions = sum(len(doc.ents) for doc in gold_docs) * copies
            list(nlp.pipe([doc.copy() for doc in gold_docs]))  # loads the models, warms the caches
            best = float("inf")
            for _ in range(repeats):
                docs = [doc.copy() for _ in range(copies) for doc in gold_docs]
                start = time.perf_counter()
                for _doc in nlp.pipe(docs, batch_size=64):
                    pass
                best = min(best, time.perf_counter() - start)
            results["linker_and_ranker" if with_ranker else "linker_alone"] = {"mentions": n_mentions, "seconds_best": round(best, 3),
                                                                              "mentions_per_s": round(n_mentions / best, 1)}
    results["ranker_pipeline_to_linker_alone"] = round(results["linker_and_ranker"]["mentions_per_s"]
                                                       / results["linker_alone"]["mentions_per_s"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dataset", choices=("ncbi_disease", "bc5cdr_disease"), default="ncbi_disease")
    parser.add_argument("--split", choices=("test", "dev"), default="dev")
    parser.add_argument("--ranker-config", type=Path, help="RankerConfig JSON (default: the package's defaults)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override ranker config values, e.g. num_leaves=31")
    parser.add_argument("--ranker-lists", choices=("dev", "test"), help="whose out-of-fold lists train the ranker (default: --split's)")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--speed", action="store_true", help="also time the spaCy pipeline on the NCBI test abstracts")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    base = json.loads(args.ranker_config.read_text()) if args.ranker_config else {}
    ranker_config = RankerConfig.from_dict({**base, **overrides})
    xmr_config = XMRConfig()
    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    train, evaluation = train_and_evaluation_mentions(args.data_dir, args.dataset, args.split)
    start = time.perf_counter()
    lists = args.ranker_lists or args.split
    ranker_train = train_and_evaluation_mentions(args.data_dir, args.dataset, lists)[0]
    examples = cached_examples(ontology, ranker_train, ranker_config, xmr_config, f"{args.dataset}_{lists}")
    oof_s = time.perf_counter() - start
    channels = ranked_channels(xmr_config)
    counts = concept_counts(train, ontology)
    start = time.perf_counter()
    ranker = fit_ranker(examples, ranker_config, channels, counts)
    fit_s = time.perf_counter() - start

    xmr = XMRModel.train(ontology, train, xmr_config, progress=False)
    evidence = xmr.channel_scores(evaluation, top_k=ranker_config.top_k)
    xmr_alone = [[(c.concept_id, c.score) for c in candidates] for candidates in evidence]
    start = time.perf_counter()
    ranked, confidences = ranker.rank_with_confidence(evaluation, evidence, xmr.ontology)
    rank_s = time.perf_counter() - start
    importances = ranker.importances()
    gains = group_gains(importances, feature_table(channels))
    results = {
        "dataset": args.dataset, "split": args.split, "train_mentions": len(train), "eval_mentions": len(evaluation),
        "ranker_lists": f"out-of-fold lists of the {lists} run's training mentions ({len(ranker_train)})",
        "command": "python benchmarks/rank_ncbi_disease.py " + " ".join(sys.argv[1:]),
        "ranker_config": ranker_config.to_dict(), "ranker_stats": ranker.stats,
        "xmr_alone": metrics(evaluation, xmr_alone, xmr.ontology),
        "xmr_and_ranker": metrics(evaluation, ranked, xmr.ontology),
        "out_of_fold_lists_s": round(oof_s, 1), "lightgbm_fit_s": round(fit_s, 1),
        "ranker_mentions_per_s_after_xmr": round(len(evaluation) / rank_s, 1),
        "ranker_confidence": confidence_figures(evaluation, ranked, confidences, xmr.ontology),
        "group_gain": {group: round(gain, 4) for group, gain in gains.items()}, "groups": GROUPS,
        "feature_importances": {name: round(share, 4) for name, share in importances.items()},
    }
    if not args.no_ablation:
        facts = ConceptFacts(xmr.ontology, counts)
        evaluation_features = featurize(evaluation, evidence, facts, channels)
        results["ablation"] = ablation(examples, evaluation_features, ranker_config, channels, counts, list(gains)[:3], evaluation,
                                       evidence, xmr.ontology)
    if args.speed:
        results["pipeline_speed"] = pipeline_speed(args.data_dir, xmr, ranker)
    results["machine"] = {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    output = args.output or REPO / "benchmarks" / "results" / f"rank_{args.dataset}_{args.split}.json"
    with atomic_open(output) as handle:
        json.dump(results, handle, indent=2)
    print(json.dumps({key: results[key] for key in ("xmr_alone", "xmr_and_ranker", "group_gain")}, indent=1))
    print(json.dumps(results.get("ablation", {}), indent=1), json.dumps(results.get("pipeline_speed", {})))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
