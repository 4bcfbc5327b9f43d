"""The XMR model on a CUDA GPU (cupy) against the CPU cores of the same machine: the same candidates, training time,
queries per second.

    python benchmarks/xmr_gpu.py [--data-dir ../shared/data] [--synthetic-concepts 100000] [--queries 20000] \\
        [--device cuda] [--output benchmarks/results/xmr_gpu.json]

Each part is written to the JSON as soon as it ends; a part that fails records its traceback and the others still
run (the GPU path is checked here as much as it is timed):

- `kernels`: the label embeddings (PIFA) and the 2-means tree of a random problem on the GPU against the CPU (as the
  `gpu`-marked test of tests/test_xmr_training_device_path.py checks them);
- `ncbi`: the NCBI Disease model (MEDIC + train mentions) trained with its label tree on the CPU and (unless
  `--no-gpu-training`) on the GPU (`tree.device`; the rest of training runs on the CPU), NCBI dev acc@1; the
  CPU-trained model's top 10 for the NCBI dev mentions on the CPU and on the GPU compared (the same sets, ties at the
  10th score aside, scores within 1e-4), the largest difference of each channel's scores between the two, and the
  GPU-trained model's against it;
- `medic_throughput`: queries/s of that model for `--queries` distinct perturbed MEDIC names in one batch: on every
  CPU core (a thread each), on the GPU in one thread, and on the GPU with a thread per core, each after a first call
  of the same batch (timed apart), best of two, and each compared with the CPU's candidates;
- `synthetic`: a synthetic ontology of `--synthetic-concepts` concepts (names only), trained (both ways unless
  `--no-gpu-training`), the same comparison and queries/s on `--queries` perturbed names.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_ontology import distinct_perturbed_texts, perturbed_queries, synthetic_ontology  # noqa: E402
from xmr_ncbi_disease import metrics, train_and_evaluation_mentions  # noqa: E402

from spacy_xmr.atomic import atomic_open  # noqa: E402
from spacy_xmr.ontology import read_medic  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel, backend  # noqa: E402
from spacy_xmr.xmr.clustering import binary_leaves  # noqa: E402
from spacy_xmr.xmr.label_embedding import label_embeddings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOP_K = 10
TOLERANCE = 1e-4


def agreement(expected: sp.csr_matrix, got: sp.csr_matrix) -> dict:
    """How far `got`'s top-k rows are from `expected`'s: rows whose candidates differ beyond ties at the k-th score,
    rows with another first candidate, and the largest score difference of a candidate both hold."""
    differing, other_first, largest = 0, 0, 0.0
    for row in range(expected.shape[0]):
        want = _row(expected, row)
        have = _row(got, row)
        kth = sorted(want.values(), reverse=True)[:TOP_K][-1] if want else 0.0
        if len(want) != len(have) or not {c for c, s in want.items() if s > kth + TOLERANCE} <= set(have):
            differing += 1
        if want and have and max(want, key=want.get) != max(have, key=have.get) and \
                abs(max(want.values()) - have.get(max(want, key=want.get), -1.0)) > TOLERANCE:
            other_first += 1
        for concept in set(want) & set(have):
            largest = max(largest, abs(want[concept] - have[concept]))
    return {"rows": expected.shape[0], "rows_with_other_candidates": differing, "rows_with_another_first_beyond_ties": other_first,
            "largest_score_difference": largest}


def channel_differences(expected: list, got: list) -> dict[str, float]:
    """Per channel (and the fused score), the largest difference of a (mention, candidate) pair both lists hold:
    which channel carries a score difference between the devices."""
    largest: dict[str, float] = {}
    for want, have in zip(expected, got):
        have_by_concept = {candidate.concept_id: candidate for candidate in have}
        for candidate in want:
            other = have_by_concept.get(candidate.concept_id)
            if other is None:
                continue
            for name, score in [("fused", candidate.score), *candidate.channels.items()]:
                other_score = other.score if name == "fused" else other.channels.get(name, 0.0)
                largest[name] = max(largest.get(name, 0.0), abs(score - other_score))
    return dict(sorted(largest.items(), key=lambda pair: -pair[1]))


def _row(matrix: sp.csr_matrix, row: int) -> dict[int, float]:
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    return dict(zip(matrix.indices[lo:hi].tolist(), matrix.data[lo:hi].tolist()))


def on(model: XMRModel, device: str, n_jobs: int | None = None) -> XMRModel:
    """The model set to score on `device`: on the CPU with a thread per core, on the GPU in one thread unless `n_jobs`."""
    return model.configure(device=device, n_jobs=os.cpu_count() if device == "cpu" else n_jobs)


def queries_per_second(model: XMRModel, device: str, texts: list[str], n_jobs: int | None = None) -> tuple[dict, sp.csr_matrix]:
    """The first call of the batch (copies to the device, lazy structures) timed apart, then the best of two; with
    the scores of the last call."""
    on(model, device, n_jobs)
    start = time.perf_counter()
    model.score_matrix(texts, top_k=TOP_K)
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        scores = model.score_matrix(texts, top_k=TOP_K)
        best = min(best, time.perf_counter() - start)
    return {"first_call_s": first, "queries_per_s": len(texts) / best}, scores


def trained(ontology, mentions, config: XMRConfig, tree_device: str) -> tuple[XMRModel, float]:
    data = config.to_dict()
    data["tree"]["device"] = tree_device
    start = time.perf_counter()
    model = XMRModel.train(ontology, mentions, XMRConfig.from_dict(data), progress=False)
    return model, time.perf_counter() - start


def part_kernels(args) -> dict:
    gpu = backend.array_backend(args.device)
    rng = np.random.default_rng(0)
    features = sp.random(60_000, 20_000, density=0.001, format="csr", dtype=np.float32, random_state=rng)
    labels = sp.csr_matrix((np.ones(60_000, dtype=np.float32), (np.arange(60_000), rng.integers(0, 20_000, 60_000))), shape=(60_000, 20_000))
    name_rows = rng.integers(0, 60_000, 20_000)
    times = {}
    start = time.perf_counter()
    expected = label_embeddings(features, labels, name_rows, 0.3)
    times["embed_cpu_s"] = time.perf_counter() - start
    label_embeddings(features[:100], labels[:100], name_rows % 100, 0.3, gpu)  # compiles the kernels: not timed
    start = time.perf_counter()
    on_gpu = label_embeddings(features, labels, name_rows, 0.3, gpu)
    times["embed_gpu_s"] = time.perf_counter() - start
    on_gpu_host = gpu.to_cpu(on_gpu)
    # compared before `binary_leaves`, which l2-normalises its input in place (rows mixed with a name are not unit length)
    embeddings = {"embeddings_same_nnz": bool(on_gpu_host.nnz == expected.nnz),
                  "embeddings_largest_difference": float(abs(on_gpu_host - expected).max())}
    start = time.perf_counter()
    cpu_leaves = binary_leaves(expected, 8, 100, seed=0)
    times["cluster_cpu_s"] = time.perf_counter() - start
    binary_leaves(on_gpu[:300], 2, 100, seed=0, backend=gpu)  # compiles the kernels: not timed
    start = time.perf_counter()
    gpu_leaves = binary_leaves(on_gpu, 8, 100, seed=0, backend=gpu)
    times["cluster_gpu_s"] = time.perf_counter() - start
    return {**embeddings, "leaves_equal": bool(np.array_equal(np.asarray(cpu_leaves), np.asarray(gpu_leaves))),
            "leaves_fraction_equal": float(np.mean(np.asarray(cpu_leaves) == np.asarray(gpu_leaves))), **times}


def part_ncbi(args, state: dict) -> dict:
    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    train, dev = train_and_evaluation_mentions(args.data_dir, "ncbi_disease", "dev")
    config = XMRConfig.from_dict({"calibration": {"folds": 0}})  # the calibration is the same on either device
    cpu_model, cpu_s = trained(ontology, train, config, "cpu")
    texts = [mention.text for mention in dev]
    expected = on(cpu_model, "cpu").score_matrix(texts, top_k=TOP_K)
    result = {"n_concepts": len(cpu_model.concept_ids), "train_s": {"tree_on_cpu": cpu_s}, "stats_tree_on_cpu": cpu_model.stats,
              "dev_acc_at_1": {"cpu_model_on_cpu": metrics(dev, cpu_model.predict_mentions(dev, top_k=TOP_K), ontology)["acc_at_1"]}}
    result["cpu_model_gpu_vs_cpu"] = agreement(expected, on(cpu_model, args.device).score_matrix(texts, top_k=TOP_K))
    result["dev_acc_at_1"]["cpu_model_on_gpu"] = metrics(dev, cpu_model.predict_mentions(dev, top_k=TOP_K), ontology)["acc_at_1"]
    on_gpu_evidence = cpu_model.channel_scores(dev, top_k=TOP_K)
    result["cpu_model_gpu_vs_cpu_by_channel"] = channel_differences(on(cpu_model, "cpu").channel_scores(dev, top_k=TOP_K), on_gpu_evidence)
    if args.train_on_gpu:
        gpu_model, result["train_s"]["tree_on_gpu"] = trained(ontology, train, config, args.device)
        result["stats_tree_on_gpu"] = gpu_model.stats
        result["gpu_trained_vs_cpu_trained_on_cpu"] = agreement(expected, on(gpu_model, "cpu").score_matrix(texts, top_k=TOP_K))
        result["dev_acc_at_1"]["gpu_model_on_cpu"] = metrics(dev, gpu_model.predict_mentions(dev, top_k=TOP_K), ontology)["acc_at_1"]
    state["medic"], state["medic_model"] = ontology, cpu_model
    return result


def part_throughput(args, ontology, model: XMRModel) -> dict:
    """CPU (a thread per core), GPU (one thread) and GPU with a thread per core (the CPU's share of a batch, the n-gram
    counting and the string channels, in parallel), each variant on its own so that one failing keeps the others."""
    texts = distinct_perturbed_texts(ontology, args.queries)
    result: dict = {"n_queries": len(texts)}
    for name, device, n_jobs in (("cpu", "cpu", None), ("gpu", args.device, None), ("gpu_threads", args.device, os.cpu_count())):
        try:
            result[name], scores = queries_per_second(model, device, texts, n_jobs)
            if name == "cpu":
                expected = scores
            else:
                result[name]["over_cpu"] = result[name]["queries_per_s"] / result["cpu"]["queries_per_s"]
                result[name]["vs_cpu"] = agreement(expected, scores)
        except Exception:
            result[name] = {"error": traceback.format_exc()}
            print(result[name]["error"], file=sys.stderr, flush=True)
    return result


def part_synthetic(args) -> dict:
    ontology = synthetic_ontology(args.synthetic_concepts)
    config = XMRConfig.from_dict({"calibration": {"folds": 0}})
    cpu_model, cpu_s = trained(ontology, [], config, "cpu")
    result = {"n_concepts": args.synthetic_concepts, "train_s": {"tree_on_cpu": cpu_s}, "stats_tree_on_cpu": cpu_model.stats}
    if args.train_on_gpu:
        texts = [text for text, _ in perturbed_queries(ontology, 2000, seed=5)]
        gpu_model, result["train_s"]["tree_on_gpu"] = trained(ontology, [], config, args.device)
        result["stats_tree_on_gpu"] = gpu_model.stats
        result["gpu_trained_vs_cpu_trained_on_cpu"] = agreement(on(cpu_model, "cpu").score_matrix(texts, top_k=TOP_K),
                                                                on(gpu_model, "cpu").score_matrix(texts, top_k=TOP_K))
        del gpu_model
    return {**result, **part_throughput(args, ontology, cpu_model)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--synthetic-concepts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20_000, help="distinct queries of a throughput batch")
    parser.add_argument("--device", default="cuda", help="the GPU (cuda or cuda:N)")
    parser.add_argument("--no-gpu-training", dest="train_on_gpu", action="store_false",
                        help="train the label trees on the CPU only (the GPU's training is compared with the CPU's otherwise)")
    parser.add_argument("--parts", nargs="*", default=["kernels", "ncbi", "medic_throughput", "synthetic"])
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "xmr_gpu.json")
    args = parser.parse_args()
    results: dict = {"machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()},
                     "command": " ".join(sys.argv)}
    state: dict = {}
    parts = {"kernels": lambda: part_kernels(args), "ncbi": lambda: part_ncbi(args, state),
             "medic_throughput": lambda: part_throughput(args, state["medic"], state["medic_model"]),
             "synthetic": lambda: part_synthetic(args)}
    for name in args.parts:
        start = time.perf_counter()
        print(f"part {name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = parts[name]()
        except Exception:  # a failing part is recorded and the others run: the GPU path is checked as much as timed
            results[name] = {"error": traceback.format_exc()}
            print(results[name]["error"], file=sys.stderr, flush=True)
        results[name]["part_s"] = time.perf_counter() - start
        print(f"part {name}: {json.dumps(results[name], default=str)[:1500]}", file=sys.stderr, flush=True)
        with atomic_open(args.output, "w") as handle:  # after each part: a run cut short keeps what it measured
            json.dump(results, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
