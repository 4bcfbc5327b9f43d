"""Benchmark of the learned ranker (LightGBM, `RankerConfig.objective`, over the XMR channels) beside the XMR stage alone.

    python benchmarks/rank_ncbi_disease.py --split dev                              # NCBI Disease dev: tuning
    python benchmarks/rank_ncbi_disease.py --dataset bc5cdr_disease --split dev     # BC5CDR diseases dev: tuning
    python benchmarks/rank_ncbi_disease.py --split test --speed                     # NCBI test, once, final config

Data and protocol as benchmarks/xmr_ncbi_disease.py (MEDIC; `--split dev` trains on train and evaluates on dev,
`--split test` trains the XMR model on train+dev). The ranker trains on out-of-fold lists of the training mentions
(`folds`, by document). Those lists, and the evaluation mentions' lists, are cached under benchmarks/work/ (their XMR
models are a run's cost), and the features are computed from them on each run, so that features and settings of
LightGBM can be compared without rebuilding them; `--ranker-lists dev` (with `--split test`) trains it on the lists of the dev run (train only), so
that the test run needs no new out-of-fold models (the XMR model still trains on train+dev).
Reports acc@1 / R@k / MRR of both stages on the same lists, the feature importances (share of split gain), an
ablation that retrains without each of the three groups of largest total gain, and with `--speed` the mentions/s of
a spaCy pipeline (xmr_linker + xmr_ranker) on the NCBI Disease test abstracts, and by batch size on 1,100 distinct
BC5CDR and NCBI Disease abstracts. With `--cross-encoder-scores FILE`
(written by benchmarks/cross_encoder_scores.py for the same cached lists) a second ranker, with the cross-encoder
feature group, is trained and reported beside the first under "with_cross_encoder", with the cross-encoder's own
acc@1. With `--seeds N` the ranker is fitted again with the next N - 1 seeds and the spread of its figures reported
(`across_seeds`): LightGBM's feature sampling alone moves NCBI Disease dev acc@1 by several of its 787 mentions, as much
as most settings do, so settings are compared by their mean over seeds. Writes
benchmarks/results/rank_<dataset>_<split>.json.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


from spacy_xmr.atomic import atomic_open
from spacy_xmr.calibration_metrics import at_threshold, expected_calibration_error
from spacy_xmr.corpus.gold_rank import rank_of
from spacy_xmr.corpus.mention import Mention
from spacy_xmr.evaluation import evaluate_candidates
from spacy_xmr.ontology import read_medic, with_corpus_concepts
from spacy_xmr.ranking import GROUPS, LearnedRanker, RankerConfig, feature_table, ranked_channels
from spacy_xmr.ranking.features import ConceptFacts, concept_counts, featurize
from spacy_xmr.ranking.training import OutOfFoldLists, RankingExamples, examples_of_lists, fit_ranker, out_of_fold_lists
from spacy_xmr.xmr import CandidateEvidence, XMRConfig, XMRModel
from xmr_ncbi_disease import train_and_evaluation_mentions

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work"
KS = (1, 5, 10)


def metrics(mentions, ranked, ontology) -> dict:
    result = evaluate_candidates(mentions, {m.key: r for m, r in zip(mentions, ranked)}, ontology, KS)
    return {"acc_at_1": round(result["acc_at_1"], 4), **{f"recall_at_{k}": round(result["recall_at_k"][str(k)], 4) for k in KS},
            "mrr": round(result["mrr"], 4), "n_mentions": result["n_mentions"]}


def read_lists(path: Path) -> OutOfFoldLists:
    with gzip.open(path, "rt", encoding="utf8") as handle:
        data = json.load(handle)
    return OutOfFoldLists([Mention(**fields) for fields in data["mentions"]], data["folds"],
                          [[CandidateEvidence(*candidate) for candidate in candidates] for candidates in data["evidence"]])


def write_lists(path: Path, lists: OutOfFoldLists) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    data = {"mentions": [dataclasses.asdict(m) for m in lists.mentions], "folds": lists.folds,
            "evidence": [[[c.concept_id, c.score, c.channels] for c in candidates] for candidates in lists.evidence]}
    with atomic_open(path, "wb", encoding=None) as raw, gzip.open(raw, "wt", encoding="utf8") as handle:
        json.dump(data, handle)


def cached_lists(ontology, train, config: RankerConfig, xmr_config: XMRConfig, name: str) -> OutOfFoldLists:
    """The out-of-fold lists, from benchmarks/work/ when a run with the same data, top_k and folds saved them (the
    XMR models behind them are the run's cost; the features are computed from the lists each run)."""
    path = WORK / f"rank_lists_{name}_k{config.top_k}_f{config.folds}.json.gz"
    if not path.exists():
        write_lists(path, out_of_fold_lists(ontology, train, config, xmr_config, progress=lambda line: print(line, flush=True)))
    return read_lists(path)


def cached_evaluation_lists(ontology, train, evaluation, top_k: int, xmr_config: XMRConfig, name: str) -> list:
    """The evaluation mentions' lists from an XMR model trained on `train` (its confidence is not read, so it is
    not calibrated), from benchmarks/work/ when a run with the same data and top_k saved them."""
    path = WORK / f"rank_lists_{name}_evaluation_k{top_k}.json.gz"
    if not path.exists():
        xmr = XMRModel.train(ontology, train, dataclasses.replace(xmr_config, calibration=dataclasses.replace(xmr_config.calibration, folds=0)),
                             progress=False)
        write_lists(path, OutOfFoldLists(evaluation, [0] * len(evaluation), xmr.channel_scores(evaluation, top_k=top_k)))
    lists = read_lists(path)
    if [m.key for m in lists.mentions] != [m.key for m in evaluation]:
        raise SystemExit(f"{path} holds other mentions than this run's evaluation set: delete it")
    return lists.evidence


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
    table = feature_table(channels, examples.with_cross_encoder)
    results = {}
    for group in top_groups:
        columns = [i for i, feature in enumerate(table) if feature.group == group]
        ranker = fit_ranker(without_groups(examples, columns), dataclasses.replace(ranker_config, calibration_folds=0), channels, counts)
        features = evaluation.copy()
        features[:, columns] = 0
        results[f"without_{group}"] = metrics(mentions, ranker.order(ranker.raw_scores(features), evidence), ontology)
    return results


@dataclasses.dataclass
class RankerSetting:
    """What a ranker of this run is trained with and evaluated on (`ranker_figures`)."""

    config: RankerConfig
    channels: list[str]
    counts: dict[str, int]
    mentions: list
    evidence: list
    ontology: object
    with_ablation: bool
    cross_encoder: list | None = None


def ranker_figures(examples: RankingExamples, setting: RankerSetting) -> tuple[LearnedRanker, dict]:
    """A ranker fitted on `examples`, with its figures on the evaluation lists, its feature importances and (when
    asked) the ablation of its three groups of largest gain."""
    start = time.perf_counter()
    ranker = fit_ranker(examples, setting.config, setting.channels, setting.counts)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    ranked, confidences = ranker.rank_with_confidence(setting.mentions, setting.evidence, setting.ontology, setting.cross_encoder)
    rank_s = time.perf_counter() - start
    importances = ranker.importances()
    gains = group_gains(importances, feature_table(setting.channels, examples.with_cross_encoder))
    figures = {
        "ranker_stats": ranker.stats, "xmr_and_ranker": metrics(setting.mentions, ranked, setting.ontology),
        "lightgbm_fit_s": round(fit_s, 1), "ranker_mentions_per_s_after_xmr": round(len(setting.mentions) / rank_s, 1),
        "ranker_confidence": confidence_figures(setting.mentions, ranked, confidences, setting.ontology),
        "group_gain": {group: round(gain, 4) for group, gain in gains.items()}, "groups": GROUPS,
        "feature_importances": {name: round(share, 4) for name, share in importances.items()},
    }
    if setting.with_ablation:
        facts = ConceptFacts(setting.ontology, setting.counts)
        evaluation_features = featurize(setting.mentions, setting.evidence, facts, setting.channels, setting.cross_encoder)
        figures["ablation"] = ablation(examples, evaluation_features, setting.config, setting.channels, setting.counts, list(gains)[:3],
                                       setting.mentions, setting.evidence, setting.ontology)
    return ranker, figures


def seed_spread(examples: RankingExamples, setting: RankerSetting, n_seeds: int, first: dict) -> dict:
    """The ranker's evaluation figures with `n_seeds` seeds (the config's, whose figures are `first`, and the next
    ones), and their mean, min and max. The other seeds' rankers are fitted without a calibrator: their lists are all
    that is counted, and the calibrator's inner folds would triple the fits."""
    per_seed = {setting.config.seed: first}
    for seed in range(setting.config.seed + 1, setting.config.seed + n_seeds):
        config = dataclasses.replace(setting.config, seed=seed, calibration_folds=0)
        ranker = fit_ranker(examples, config, setting.channels, setting.counts)
        per_seed[seed] = metrics(setting.mentions, ranker.rank(setting.mentions, setting.evidence, setting.ontology,
                                                               setting.cross_encoder), setting.ontology)
    spread = {key: {"mean": round(sum(f[key] for f in per_seed.values()) / len(per_seed), 4),
                    "min": min(f[key] for f in per_seed.values()), "max": max(f[key] for f in per_seed.values())}
              for key in ("acc_at_1", "recall_at_5", "mrr")}
    return {"per_seed": per_seed, **spread}


def read_cross_encoder_scores(path: Path, training: list, evaluation: list) -> dict:
    """The scores `benchmarks/cross_encoder_scores.py` wrote, checked to be of these training and evaluation lists."""
    scores = json.loads(path.read_text(encoding="utf8"))
    for name, mentions in (("train", training), ("evaluation", evaluation)):
        if [tuple(key) for key in scores[f"{name}_keys"]] != [m.key for m in mentions]:
            raise SystemExit(f"{path}: its {name} scores are of other mentions than this run's lists: score them again")
    return scores


def timed_parts():
    """The parts of the pipeline whose CPU time (all threads) `pipeline_speed` reports, as (name, owner, attribute)."""
    from spacy_xmr.pipeline import base, linker, ranker
    from spacy_xmr.ranking import model as ranking_model
    from spacy_xmr.xmr import model as xmr_model

    return [("xmr_linker", linker.XMRLinker, "_rank"), ("xmr_scoring", xmr_model.XMRModel, "_scored_keys"),
            ("xmr_ranker", ranker.XMRRanker, "_rank"), ("ranker_features", ranking_model, "featurize"),
            ("lightgbm_predict", ranking_model.LearnedRanker, "raw_scores"), ("spans_to_mentions", linker, "mentions_of_spans"),
            ("annotations", base.CandidatePipe, "set_annotations")]


def cpu_shares(run) -> dict[str, float]:
    """Each of `timed_parts` as a share of the CPU time of `run()`: wrappers that read the process's CPU clock
    around each call (a few calls a batch, so they cost nothing measurable), free of the machine's load."""
    from unittest import mock

    spent = {name: 0.0 for name, _, _ in timed_parts()}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - start
        return wrapper

    with contextlib.ExitStack() as stack:
        for name, owner, attribute in timed_parts():
            stack.enter_context(mock.patch.object(owner, attribute, timed(name, getattr(owner, attribute))))
        start = time.process_time()
        run()
        total = time.process_time() - start
    return {name: round(seconds / total, 3) for name, seconds in spent.items()}


def timed_pipelines(runs: dict, gold_docs: list, repeats: int, copies: int) -> tuple[dict, dict]:
    """Best wall-clock and best CPU seconds of each run, {name: (pipeline, docs per batch)}, over `repeats`, the runs
    timed in turn in each repeat (a shared machine's load then weighs on all alike)."""
    wall, cpu = {name: float("inf") for name in runs}, {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, (nlp, batch_size) in runs.items():
            docs = [doc.copy() for _ in range(copies) for doc in gold_docs]
            start, start_cpu = time.perf_counter(), time.process_time()
            for _doc in nlp.pipe(docs, batch_size=batch_size):
                pass
            wall[name], cpu[name] = min(wall[name], time.perf_counter() - start), min(cpu[name], time.process_time() - start_cpu)
    return wall, cpu


BATCH_SIZE_CORPORA = ("bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
                      "ncbi_disease/NCBIdevelopset_corpus.txt")


def by_batch_size(data_dir: Path, nlp, batch_sizes=(64, 256), repeats: int = 2) -> dict:
    """Mentions/s of `nlp` over the gold mentions of 1,100 distinct abstracts (`BATCH_SIZE_CORPORA`) in batches of each
    size, best of `repeats`: distinct, because a batch holding two copies of an abstract would score it once."""
    from spacy_xmr.corpus import collection_to_docs, read_corpus

    docs = [doc for name in BATCH_SIZE_CORPORA for doc in collection_to_docs(read_corpus(data_dir / name), nlp)]
    n_mentions = sum(len(doc.ents) for doc in docs)
    best = timed_pipelines({size: (nlp, size) for size in batch_sizes}, docs, repeats, copies=1)[0]
    return {"documents": len(docs), "mentions": n_mentions, "mentions_per_s": {str(size): round(n_mentions / seconds, 1)
                                                                               for size, seconds in best.items()}}


def pipeline_speed(data_dir: Path, xmr: XMRModel, ranker, repeats: int = 5, copies: int = 3) -> dict:
    """Mentions/s of spaCy pipelines over the gold mentions of the NCBI test abstracts: the linker alone and with the
    ranker (`timed_pipelines`); the same after `gc.freeze()`, as `annotate` workers run (`distributed/annotator.py`);
    in one more pass, the shares of the ranker pipeline's CPU time that its parts take (`cpu_shares`); and the ranker
    pipeline by batch size on distinct abstracts (`by_batch_size`)."""
    import gc

    import spacy

    from spacy_xmr.corpus import collection_to_docs, read_corpus

    with tempfile.TemporaryDirectory() as tmp:
        xmr.save(Path(tmp) / "xmr")
        ranker.save(Path(tmp) / "ranker")
        pipelines = {}
        for name in ("linker_alone", "linker_and_ranker"):
            nlp = pipelines[name] = spacy.blank("en")
            nlp.add_pipe("xmr_linker", config={"model": str(Path(tmp) / "xmr")})
            if name == "linker_and_ranker":
                nlp.add_pipe("xmr_ranker", config={"model": str(Path(tmp) / "ranker")})
        gold_docs = collection_to_docs(read_corpus(data_dir / "ncbi_disease" / "NCBItestset_corpus.txt"), pipelines["linker_alone"])
        n_mentions = sum(len(doc.ents) for doc in gold_docs) * copies
        for nlp in pipelines.values():
            list(nlp.pipe([doc.copy() for doc in gold_docs]))  # loads the models, warms the caches
        runs = {name: (nlp, 64) for name, nlp in pipelines.items()}
        wall, cpu = timed_pipelines(runs, gold_docs, repeats, copies)
        gc.freeze()
        frozen_wall, frozen_cpu = timed_pipelines(runs, gold_docs, repeats, copies)
        gc.unfreeze()
        docs = [doc.copy() for _ in range(copies) for doc in gold_docs]
        shares = cpu_shares(lambda: list(pipelines["linker_and_ranker"].pipe(docs, batch_size=64)))
        batch_sizes = by_batch_size(data_dir, pipelines["linker_and_ranker"])

    def figures(seconds: float, cpu_seconds: float) -> dict:
        return {"mentions": n_mentions, "seconds_best": round(seconds, 3), "mentions_per_s": round(n_mentions / seconds, 1),
                "cpu_seconds_best": round(cpu_seconds, 3), "mentions_per_cpu_s": round(n_mentions / cpu_seconds, 1)}

    results = {name: figures(wall[name], cpu[name]) for name in pipelines}
    results["after_gc_freeze"] = {name: figures(frozen_wall[name], frozen_cpu[name]) for name in pipelines}
    results["ranker_pipeline_to_linker_alone"] = round(wall["linker_alone"] / wall["linker_and_ranker"], 3)
    results["ranker_pipeline_to_linker_alone_cpu"] = round(cpu["linker_alone"] / cpu["linker_and_ranker"], 3)
    results["cpu_shares_with_ranker"] = shares
    results["linker_and_ranker_by_batch_size"] = batch_sizes
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
    parser.add_argument("--cross-encoder-scores", type=Path,
                        help="also train and evaluate a ranker with the cross-encoder feature group, from the scores that "
                             "benchmarks/cross_encoder_scores.py wrote for these lists")
    parser.add_argument("--seeds", type=int, default=1,
                        help="fit the ranker with this many seeds in all (the config's and the next ones) and report "
                             "the spread of its figures")
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
    training_lists = cached_lists(ontology, ranker_train, ranker_config, xmr_config, f"{args.dataset}_{lists}")
    examples = examples_of_lists(ontology, training_lists, xmr_config)
    oof_s = time.perf_counter() - start
    channels = ranked_channels(xmr_config)
    counts = concept_counts(train, ontology)
    evidence = cached_evaluation_lists(ontology, train, evaluation, ranker_config.top_k, xmr_config, f"{args.dataset}_{args.split}")
    model_ontology = with_corpus_concepts(ontology, train) if xmr_config.training.corpus_concepts else ontology  # the XMR model's
    xmr_alone = [[(c.concept_id, c.score) for c in candidates] for candidates in evidence]
    setting = RankerSetting(ranker_config, channels, counts, evaluation, evidence, model_ontology, not args.no_ablation)
    ranker, figures = ranker_figures(examples, setting)
    results = {
        "dataset": args.dataset, "split": args.split, "train_mentions": len(train), "eval_mentions": len(evaluation),
        "ranker_lists": f"out-of-fold lists of the {lists} run's training mentions ({len(ranker_train)})",
        "command": "python benchmarks/rank_ncbi_disease.py " + " ".join(sys.argv[1:]),
        "ranker_config": ranker_config.to_dict(), "out_of_fold_lists_s": round(oof_s, 1),
        "xmr_alone": metrics(evaluation, xmr_alone, model_ontology), **figures,
    }
    if args.seeds > 1:
        results["across_seeds"] = seed_spread(examples, setting, args.seeds, results["xmr_and_ranker"])
    if args.cross_encoder_scores:
        scores = read_cross_encoder_scores(args.cross_encoder_scores, training_lists.mentions, evaluation)
        results["cross_encoder"] = {key: value for key, value in scores.items() if key not in ("train", "evaluation", "train_keys",
                                                                                              "evaluation_keys")}
        by_cross_encoder = [sorted(((c.concept_id, score) for c, score in zip(candidates, row)), key=lambda pair: -pair[1])
                            for candidates, row in zip(evidence, scores["evaluation"])]
        results["cross_encoder"]["alone"] = metrics(evaluation, by_cross_encoder, model_ontology)
        results["with_cross_encoder"] = ranker_figures(examples_of_lists(ontology, training_lists, xmr_config, scores["train"]),
                                                       dataclasses.replace(setting, cross_encoder=scores["evaluation"]))[1]
    if args.speed:
        results["pipeline_speed"] = pipeline_speed(args.data_dir, XMRModel.train(ontology, train, xmr_config, progress=False),
                                                   ranker)
    results["machine"] = {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    output = args.output or REPO / "benchmarks" / "results" / f"rank_{args.dataset}_{args.split}.json"
    with atomic_open(output) as handle:
        json.dump(results, handle, indent=2)
    print(json.dumps({key: results[key] for key in ("xmr_alone", "xmr_and_ranker", "group_gain", "across_seeds") if key in results},
                     indent=1))
    if "with_cross_encoder" in results:
        print(json.dumps({"cross_encoder_alone": results["cross_encoder"]["alone"],
                          **{key: results["with_cross_encoder"][key] for key in ("xmr_and_ranker", "group_gain", "ablation")
                             if key in results["with_cross_encoder"]}}, indent=1))
    print(json.dumps(results.get("ablation", {}), indent=1), json.dumps(results.get("pipeline_speed", {})))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
