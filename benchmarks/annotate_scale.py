"""Throughput and memory of `spacy-xmr annotate` against plain `nlp.pipe`, on replicated real abstracts.

Builds >= --documents raw-text documents (JSONL, `{"id", "title", "abstract"}`) by repeating the NCBI
Disease and BC5CDR abstracts (ids made unique), split into --shards files; then times
- plain: one process, `spacy.load` + for each shard read, `nlp.pipe`, write JSONL (load time excluded);
- annotate with each --workers count on a fresh local Ray (`address="local"`), JSONL output,
sampling every 0.5 s the proportional set size (PSS) of this process and all its descendants
(Ray's GCS, raylet, object store and workers): shared pages count once per node, so the node total
shows whether workers share the model arrays; each worker's USS is what it holds alone. Each run
also records CPU seconds per document (the plain process, or the workers' own per shard from the
manifest), which other jobs on a shared machine disturb far less than wall time.
The node's memory is fitted as `base + workers × per worker` (least squares over the --workers counts):
`base` is what is there once (Ray, the driver, the shared model pages), `per worker` what each worker
adds; the result states the 16-vs-1-worker ratio this projects, next to the measured ratios.
Writes benchmarks/results/annotate_scale*.json.

    python benchmarks/annotate_scale.py --pipeline PIPELINE_DIR [--documents 20000] [--shards 16] [--workers 1 2] [--parallel]
        [--rerank-stage auto|on|off]

On a 16-core node with a GPU and a pipeline with an `xmr_reranker` (the default `--rerank-stage auto` puts the
reranker on GPU actors when Ray sees a GPU): `--workers 1 2 4 8 16` gives every figure of the issue at once.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

from result_files import write_result

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
WORKER_PROCESS_TITLE = "ShardWorker"  # Ray titles an actor's process "ray::<class name>"
SOURCES = ["ncbi_disease/NCBItrainset_corpus.txt", "ncbi_disease/NCBIdevelopset_corpus.txt",
           "ncbi_disease/NCBItestset_corpus.txt", "bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_DevelopmentSet.PubTator.txt"]


def write_shards(data: Path, n_documents: int, n_shards: int, directory: Path) -> list[Path]:
    """The abstracts of SOURCES repeated to `n_documents`, round-robin over `n_shards` JSONL files."""
    from spacy_xmr.corpus import read_pubtator

    abstracts = []
    for source in SOURCES:
        for document in read_pubtator(data / source).documents:
            title, abstract = (passage.text for passage in document.passages)
            abstracts.append((document.id, title, abstract))
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"abstracts{index:03d}.jsonl" for index in range(n_shards)]
    handles = [open(path, "w", encoding="utf8") for path in paths]
    for number, (pmid, title, abstract) in zip(range(n_documents), itertools.cycle(abstracts)):
        record = {"id": f"{pmid}-{number // len(abstracts)}", "title": title, "abstract": abstract}
        handles[number % n_shards].write(json.dumps(record) + "\n")
    for handle in handles:
        handle.close()
    return paths


class PssSampler:
    """Peak memory (MiB) of this process tree, sampled in a thread: the PSS of the whole tree (the node's
    memory, shared pages counted once), and per annotate worker its PSS and its USS (the pages no other
    process shares: what each added worker costs)."""

    def __init__(self, interval: float = 0.5):
        import psutil

        self.psutil, self.interval = psutil, interval
        self.peak_total = self.peak_worker = self.peak_worker_uss = 0.0
        self.cpu_seconds = 0.0  # this thread's own CPU time, to take out of the plain process's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        root = self.psutil.Process()
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                info = process.memory_full_info()
                name = " ".join(process.cmdline()[:1])
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                continue
            total += info.pss / 2**20
            if WORKER_PROCESS_TITLE in name:
                self.peak_worker = max(self.peak_worker, info.pss / 2**20)
                self.peak_worker_uss = max(self.peak_worker_uss, info.uss / 2**20)
        self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()
            self.cpu_seconds = time.thread_time()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_plain(pipeline: Path, shards: list[Path], out_dir: Path, batch_size: int) -> dict:
    import spacy

    from spacy_xmr.corpus import collection_to_docs
    from spacy_xmr.corpus.formats import read_corpus
    from spacy_xmr.corpus.jsonl import write_jsonl
    from spacy_xmr.distributed.outputs import count_mentions, linked_collection, without_annotations

    with PssSampler() as memory:
        nlp = spacy.load(pipeline)
        documents = mentions = 0
        pipe_seconds = 0.0
        start, cpu_start = time.perf_counter(), time.process_time() - memory.cpu_seconds
        for shard in shards:
            docs = collection_to_docs(without_annotations(read_corpus(shard)), nlp)
            pipe_start = time.perf_counter()
            docs = list(nlp.pipe(docs, batch_size=batch_size))
            pipe_seconds += time.perf_counter() - pipe_start
            collection = linked_collection(docs, "ner", None)
            write_jsonl(collection, out_dir / shard.name)
            documents += len(docs)
            mentions += count_mentions(collection)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - memory.cpu_seconds - cpu_start
    return {"documents": documents, "mentions": mentions, "seconds": seconds, "nlp_pipe_seconds": pipe_seconds,
            "cpu_seconds": cpu_seconds, "cpu_ms_per_document": 1000 * cpu_seconds / documents,
            "documents_per_second": documents / seconds, "mentions_per_second": mentions / seconds,
            "peak_pss_mib_process": memory.peak_total}


RERANK_STAGE = {"auto": None, "on": True, "off": False}  # auto: on GPU actors when the pipeline has a reranker and Ray a GPU


def run_annotate(pipeline: Path, shards: list[Path], out_dir: Path, workers: int, batch_size: int, rerank_stage: str) -> dict:
    from spacy_xmr.distributed import annotate

    with PssSampler() as memory:
        start = time.perf_counter()
        summary = annotate(pipeline, [str(s) for s in shards], out_dir, output_format="jsonl", workers=workers,
                           batch_size=batch_size, overwrite=True, progress=False, rerank_stage=RERANK_STAGE[rerank_stage])
        wall = time.perf_counter() - start
    manifest = [json.loads(line) for line in (out_dir / "_manifest.jsonl").read_text().splitlines()]
    busy = sum(record["seconds"] for record in manifest)
    cpu_seconds = sum(record["cpu_seconds"] for record in manifest)
    return {
        "workers": workers, "rerank_stage": summary.rerank_stage, "documents": summary.documents, "mentions": summary.mentions, "failed_shards": len(summary.failed),
        "wall_seconds_with_ray_start": wall, "startup_seconds": summary.startup_seconds, "seconds": summary.seconds,
        "documents_per_second": summary.documents_per_second, "mentions_per_second": summary.mentions_per_second,
        "documents_per_second_per_busy_worker": summary.documents / busy,
        "cpu_seconds_workers": cpu_seconds, "cpu_ms_per_document": 1000 * cpu_seconds / summary.documents,
        "peak_pss_mib_node": memory.peak_total, "peak_pss_mib_per_worker": memory.peak_worker,
        "peak_uss_mib_per_worker": memory.peak_worker_uss,
    }


def memory_fit(runs: list[dict]) -> dict | None:
    """Node PSS = base + workers × per_worker, least squares over the runs; None with fewer than two worker counts."""
    points = {r["workers"]: r["peak_pss_mib_node"] for r in runs}
    if len(points) < 2:
        return None
    n = len(points)
    mean_w, mean_m = sum(points) / n, sum(points.values()) / n
    per_worker = sum((w - mean_w) * (m - mean_m) for w, m in points.items()) / sum((w - mean_w) ** 2 for w in points)
    base = mean_m - per_worker * mean_w
    return {"base_mib": base, "per_worker_mib": per_worker,
            "projected_16_vs_1_worker": (base + 16 * per_worker) / (base + per_worker)}


def _option(name: str, value) -> str:
    flag = f"--{name.replace('_', '-')}"
    if value is True:
        return flag
    return f"{flag} {' '.join(map(str, value)) if isinstance(value, list) else value}"


def _printed(function, arguments):
    result = function(*arguments)
    print(json.dumps(result, indent=1), flush=True)
    return result


def run_all(configurations: list, parallel: bool) -> list[dict]:
    """Each (function, arguments) run one after the other, or at once in spawned processes (Ray needs its own)."""
    if not parallel:
        return [_printed(function, arguments) for function, arguments in configurations]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(len(configurations), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_printed, function, arguments) for function, arguments in configurations]
        return [future.result() for future in futures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, required=True, help="saved pipeline folder (NER + xmr_linker)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "annotate_scale.json")
    parser.add_argument("--rerank-stage", choices=sorted(RERANK_STAGE), default="auto",
                        help="the reranker on its own actors: auto (on GPU actors when Ray sees a GPU), on (also on CPU), off")
    parser.add_argument("--note", default="", help="what to record about the pipeline (e.g. smoke-size NER)")
    parser.add_argument("--parallel", action="store_true",
                        help="run the configurations at the same time, each in its own process: on a machine shared "
                             "with other jobs this gets the CPU-time and memory figures sooner, but wall rates then "
                             "measure the sharing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="annotate-scale-") as tmp:
        shards = write_shards(args.data, args.documents, args.shards, Path(tmp) / "in")
        load_before = os.getloadavg()
        configurations = [(run_plain, (args.pipeline, shards, Path(tmp) / "plain", args.batch_size))] + [
            (run_annotate, (args.pipeline, shards, Path(tmp) / f"ray{w}", w, args.batch_size, args.rerank_stage)) for w in args.workers]
        plain, *runs = run_all(configurations, args.parallel)
    one = next((r for r in runs if r["workers"] == 1), None)
    result = {
        "command": "python benchmarks/annotate_scale.py " + " ".join(_option(k, v) for k, v in vars(args).items() if v not in ("", False)),
        "note": args.note,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "documents": args.documents, "shards": args.shards,
        "plain_nlp_pipe": plain,
        "annotate": runs,
        "annotate_1_worker_vs_plain": one["documents_per_second"] / plain["documents_per_second"] if one else None,
        "annotate_cpu_per_document_vs_plain": {r["workers"]: r["cpu_ms_per_document"] / plain["cpu_ms_per_document"] for r in runs},
        "parallel_efficiency": {r["workers"]: r["documents_per_second"] / (r["workers"] * one["documents_per_second"])
                                for r in runs} if one else None,
        "node_memory_ratio_vs_1_worker": {r["workers"]: r["peak_pss_mib_node"] / one["peak_pss_mib_node"] for r in runs} if one else None,
        "node_memory_fit": memory_fit(runs),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
