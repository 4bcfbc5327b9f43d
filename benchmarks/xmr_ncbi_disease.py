"""Benchmark of the XMR candidate generator on NCBI Disease (or BC5CDR diseases) + MEDIC, beside libpecos
XR-Linear (same features, same training pairs) and brute-force TF-IDF cosine nearest neighbours.

    python benchmarks/xmr_ncbi_disease.py [--split dev] [--pecos-python benchmarks/.venv-pecos/bin/python]
    python benchmarks/xmr_ncbi_disease.py --dataset bc5cdr_disease --split dev
    python benchmarks/xmr_ncbi_disease.py --dense-encoder benchmarks/work/minilm-medic   # with the dense channel

`--split test` (the reported figure) trains on train+dev and evaluates once on test; `--split dev`
trains on train and evaluates on dev, for tuning. `--dataset bc5cdr_disease` (the Disease mentions of
BC5CDR, a second tuning set; dev only, as ../shared/data holds no BC5CDR test set) trains on the training
file less the documents of the development file (the ../shared/data copy holds both). Gold mentions,
lenient multi-id matching. Writes benchmarks/results/xmr_<dataset>[_dev].json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from spacy_xmr.corpus import iter_mentions, read_corpus
from spacy_xmr.evaluation import evaluate_candidates
from spacy_xmr.ontology import read_medic
from spacy_xmr.xmr import XMRConfig, XMRModel, texts_to_link
from spacy_xmr.xmr.normalize import normalize_text

REPO = Path(__file__).resolve().parent.parent
KS = (1, 5, 10, 20, 50)
TOP_K = 50


def gold_mentions(path: Path, entity_types: list[str] | None = None) -> list:
    return [m for m in iter_mentions(read_corpus(path, entity_types)) if m.gold_ids]


def train_and_evaluation_mentions(data_dir: Path, dataset: str, split: str) -> tuple[list, list]:
    if dataset == "bc5cdr_disease":
        if split != "dev":
            raise SystemExit("bc5cdr_disease: only --split dev (../shared/data holds no BC5CDR test set)")
        dev = gold_mentions(data_dir / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt", ["Disease"])
        dev_documents = {m.document_id for m in dev}
        train = gold_mentions(data_dir / "bc5cdr" / "CDR_TrainingSet.PubTator.txt", ["Disease"])
        return [m for m in train if m.document_id not in dev_documents], dev
    ncbi = data_dir / "ncbi_disease"
    train = gold_mentions(ncbi / "NCBItrainset_corpus.txt")
    dev = gold_mentions(ncbi / "NCBIdevelopset_corpus.txt")
    if split == "test":
        return train + dev, gold_mentions(ncbi / "NCBItestset_corpus.txt")
    return train, dev


def metrics(mentions, ranked, ontology) -> dict:
    predictions = {m.key: r for m, r in zip(mentions, ranked)}
    result = evaluate_candidates(mentions, predictions, ontology, KS)
    return {"acc_at_1": result["acc_at_1"], **{f"recall_at_{k}": result["recall_at_k"][str(k)] for k in KS}, "mrr": result["mrr"],
            "n_mentions": result["n_mentions"], "n_multi_id": result["n_multi_id"], "strict_acc_at_1": result["strict"]["acc_at_1"]}


def model_metrics(model: XMRModel, mentions, ontology, ranked=None) -> dict:
    """`metrics` of the model's own lists, where recall@k is that of the list a caller asking for k candidates
    gets: its last slots hold the document candidates (fusion.document_candidates), so a top-50 list's first 20
    are not the top-20 list. `ranked`: the model's top-50 lists where the caller has them already."""
    result = metrics(mentions, ranked or model.predict_mentions(mentions, top_k=TOP_K), ontology)
    for k in KS:
        if k < TOP_K:
            result[f"recall_at_{k}"] = metrics(mentions, model.predict_mentions(mentions, top_k=k), ontology)[f"recall_at_{k}"]
    return result


def rankings(scores: sp.csr_matrix, concept_ids: list[str]) -> list[list[tuple[str, float]]]:
    out = []
    for row in range(scores.shape[0]):
        lo, hi = scores.indptr[row], scores.indptr[row + 1]
        order = np.argsort(-scores.data[lo:hi], kind="stable")
        out.append([(concept_ids[c], float(s)) for c, s in zip(scores.indices[lo:hi][order], scores.data[lo:hi][order])])
    return out


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def time_batch(function, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_xmr(ontology, train, test, config, workdir: Path) -> tuple[dict, XMRModel]:
    import sklearn.feature_extraction.text  # imported before the clock starts, as pecos_runner.py imports PECOS
    import sklearn.svm  # noqa: F401

    start = time.perf_counter()
    model = XMRModel.train(ontology, train, config, progress=False)
    # PECOS fits no calibrator: the ranking model's time is compared, the calibration's is reported beside it
    calibration_s = model.stats.get("calibration_s", 0.0)
    train_s = time.perf_counter() - start - calibration_s
    result = model_metrics(model, test, ontology)
    texts = texts_to_link(test)
    batch_s = time_batch(lambda: model.predict(texts, top_k=TOP_K))
    single = []
    for text in texts[:200]:
        start = time.perf_counter()
        model.predict([text], top_k=TOP_K)
        single.append(time.perf_counter() - start)
    model.save(workdir / "xmr")
    no_abbreviations = metrics(test, model.predict_mentions(test, top_k=TOP_K, resolve_abbreviations=False), ontology)
    result.update(
        train_s=train_s, calibration_s=calibration_s, batch_mentions_per_s=len(texts) / batch_s, single_ms_median=float(np.median(single) * 1000),
        model_bytes=directory_bytes(workdir / "xmr"), peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        acc_at_1_without_abbreviations=no_abbreviations["acc_at_1"], stats=model.stats,
    )
    return result, model


def bench_nn(model: XMRModel, test, ontology) -> dict:
    """Exact cosine over every alias and training-mention string (same features), best string per concept."""
    from spacy_xmr.xmr.channels import NearestChannel, QueryBatch
    from spacy_xmr.xmr.config import NearestConfig

    exact_cosines = NearestChannel(model.examples, NearestConfig(top_aliases=200, query_terms=10**6, index_terms=10**6))  # every term
    texts = [normalize_text(t) for t in texts_to_link(test)]

    def run():
        return exact_cosines.score(QueryBatch(texts, lambda: model.featurizer.transform(texts), TOP_K, beam_size=1))

    batch_s = time_batch(run, repeats=1)
    scores = run()
    from spacy_xmr.xmr.sparse_ops import top_k_per_row

    result = metrics(test, rankings(top_k_per_row(scores, TOP_K), model.concept_ids), ontology)
    result.update(batch_mentions_per_s=len(texts) / batch_s)
    return result


def bench_pecos(pecos_python: str | None, model: XMRModel, ontology, test, workdir: Path) -> dict:
    """PECOS trains on the model's own examples (its corpus concepts included), with binary labels."""
    if not pecos_python or not Path(pecos_python).exists():
        return {"skipped": f"no PECOS python at {pecos_python!r} (python -m venv V && V/bin/pip install torch==2.13.0 libpecos)"}
    labels = model.examples.labels.copy()
    labels.data = np.ones_like(labels.data)
    sp.save_npz(workdir / "X_train.npz", model.examples.features)
    sp.save_npz(workdir / "Y_train.npz", labels.tocsr())
    sp.save_npz(workdir / "X_test.npz", model.featurizer.transform([normalize_text(t) for t in texts_to_link(test)]))
    runner = Path(__file__).with_name("pecos_runner.py")
    completed = subprocess.run([pecos_python, str(runner), str(workdir)], capture_output=True, text=True)
    if completed.returncode != 0:
        return {"skipped": f"pecos_runner.py failed: {completed.stderr.strip()[-800:]}"}
    result = json.loads((workdir / "pecos.json").read_text())
    scores = sp.load_npz(workdir / "pecos_scores.npz").tocsr()
    result.update(metrics(test, rankings(scores, model.concept_ids), ontology))
    return result


def print_table(results: dict) -> None:
    xmr, pecos, nn = results["spacy_xmr"], results["pecos_xr_linear"], results["tfidf_nn"]
    rows = ["acc_at_1", *[f"recall_at_{k}" for k in KS], "mrr", "train_s", "calibration_s", "batch_mentions_per_s", "single_ms_median",
            "peak_rss_mb", "model_bytes"]
    print(f"{'metric':24}{'spacy-xmr':>12}{'PECOS':>12}{'TF-IDF NN':>12}{'xmr/PECOS':>11}{'xmr/NN':>9}")
    for row in rows:
        values = [r.get(row) for r in (xmr, pecos, nn)]
        cells = "".join(f"{v:12.4f}" if isinstance(v, float) else f"{v!s:>12}" for v in values)
        ratios = "".join(f"{values[0] / v:>10.2f}x" if isinstance(v, (int, float)) and v else f"{'':>11}" for v in values[1:])
        print(f"{row:24}{cells}{ratios}")
    if "skipped" in pecos:
        print(f"PECOS skipped: {pecos['skipped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dataset", choices=("ncbi_disease", "bc5cdr_disease"), default="ncbi_disease")
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--config", type=Path, help="XMR config JSON")
    parser.add_argument("--dense-encoder", help="turn the dense channel on with this encoder (name or folder; sets dense.encoder)")
    parser.add_argument("--pecos-python", default=str(REPO / "benchmarks" / ".venv-pecos" / "bin" / "python"))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    train, test = train_and_evaluation_mentions(args.data_dir, args.dataset, args.split)
    config = XMRConfig.from_json(args.config) if args.config else XMRConfig()
    if args.dense_encoder:
        overrides = config.to_dict()
        overrides["dense"]["encoder"] = args.dense_encoder
        config = XMRConfig.from_dict(overrides)
    workdir = Path(tempfile.mkdtemp(prefix="xmr-bench-"))
    try:
        xmr, model = bench_xmr(ontology, train, test, config, workdir)
        results = {
            "dataset": args.dataset, "split": args.split, "train_mentions": len(train), "eval_mentions": len(test), "config": config.to_dict(),
            "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": __import__("os").cpu_count()},
            "spacy_xmr": xmr,
            "tfidf_nn": bench_nn(model, test, ontology),
            "pecos_xr_linear": bench_pecos(args.pecos_python, model, ontology, test, workdir),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    suffix = ("_dense" if args.dense_encoder else "") + ("_dev" if args.split == "dev" else "")
    output = args.output or REPO / "benchmarks" / "results" / f"xmr_{args.dataset}{suffix}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"written to {output}")


if __name__ == "__main__":
    main()
