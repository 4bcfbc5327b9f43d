"""One `annotate` worker's memory over many shards: does it grow with the documents it has linked?

Starts a local Ray with one `ShardWorker` actor (as `annotate` does, torch and pandas forbidden when the
pipeline allows it: the rows say which of them it imported) and feeds it the replicated abstracts of `annotate_scale.py`, shard after shard.
After the pipeline is loaded and after each shard it records the worker's USS and RSS, its peak USS
(sampled every 0.3 s), the size of its vocab (strings, lexemes), which memory zones keep constant, and the
seconds the shard took. With `--rerank-stage` (a pipeline with an `xmr_reranker`) the shards go through the two stages of a GPU run, on
CPU: a `cpu` worker streams each shard to a `rerank` worker, and the rows give both workers' memory and the
seconds until the shard's first reranked batch was written.
Writes benchmarks/results/annotate_worker_memory.json.

    python benchmarks/annotate_worker_memory.py --pipeline PIPELINE_DIR [--documents 3000] [--shards 6] [--format jsonl]
        [--rerank-stage]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from annotate_scale import DEFAULT_DATA, HERE, write_shards
from result_files import write_result


class VocabProbe:
    """Mixed into the actor class: how large the worker's vocab is now, and which optional libraries it imported."""

    def vocab_size(self) -> dict:
        import sys

        vocab = self.annotator.nlp.vocab
        return {"strings": len(vocab.strings), "lexemes": len(list(vocab)),  # len(vocab) also counts freed lexemes
                "optional_imports": sorted({name.split(".")[0] for name in sys.modules} & {"torch", "transformers", "pandas"})}


class UssSampler:
    """Each worker's USS now and its peak (MiB), sampled every 0.3 s in a thread; the first worker's keys have no
    prefix, as in the rows of one-stage runs."""

    def __init__(self, processes: dict):
        self.processes = processes
        self.peaks = dict.fromkeys(processes, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.3):
            for stage, process in self.processes.items():
                self.peaks[stage] = max(self.peaks[stage], process.memory_full_info().uss / 2**20)

    def now(self) -> dict:
        row = {}
        for number, (stage, process) in enumerate(self.processes.items()):
            prefix = f"{stage}_" if number else ""
            info = process.memory_full_info()
            row.update({f"{prefix}uss_mib": info.uss / 2**20, f"{prefix}rss_mib": info.rss / 2**20,
                        f"{prefix}peak_uss_mib": self.peaks[stage]})
        return row

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def seconds_until_written(output: str, result, started: float) -> float | None:
    """Seconds from `started` until the shard's hidden temporary output first holds bytes, i.e. its first reranked
    batch was written (None if the shard finished first)."""
    import ray

    from spacy_xmr.atomic import temporary_paths

    while not ray.wait([result], timeout=0.05)[0]:
        if any(path.stat().st_size > 0 for path in temporary_paths(output)):
            return time.perf_counter() - started
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, required=True, help="saved pipeline folder (NER + xmr_linker)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--format", choices=["bioc", "jsonl", "pubtator"], default="jsonl", help="the shards' output format")
    parser.add_argument("--rerank-stage", action="store_true",
                        help="the two stages of a GPU run, on CPU (the pipeline needs an xmr_reranker)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "annotate_worker_memory.json")
    args = parser.parse_args()

    import psutil
    import ray

    from spacy_xmr.distributed.pipelines import load_linker_models, needs_optional_imports, stage_components
    from spacy_xmr.distributed.shards import plan_shards
    from spacy_xmr.distributed.worker import ShardWorker, WorkerSettings

    models = load_linker_models(args.pipeline)
    stages = ("cpu", "rerank") if args.rerank_stage else ("all",)
    settings = {stage: WorkerSettings(stage=stage, output_format=args.format, batch_size=args.batch_size,
                                      optional_imports=needs_optional_imports(args.pipeline, models, stage_components(args.pipeline, stage)))
                for stage in stages}
    rows = []
    with tempfile.TemporaryDirectory(prefix="annotate-worker-memory-") as tmp:
        shards = plan_shards(write_shards(args.data, args.documents, args.shards, Path(tmp) / "in"), Path(tmp) / "out", args.format)
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        try:
            worker_class = ray.remote(type("ProbedShardWorker", (ShardWorker, VocabProbe), {}))
            actors = {stage: worker_class.options(**({"num_cpus": 0, "max_concurrency": 2} if stage == "rerank" else {}))
                      .remote(str(args.pipeline), models, settings[stage]) for stage in stages}
            sampler = UssSampler({stage: psutil.Process(ray.get(actor.pid.remote())) for stage, actor in actors.items()})
            documents = 0
            for shard in [None, *shards]:
                first_write = shard_seconds = None
                if shard is not None:
                    started = time.perf_counter()
                    if args.rerank_stage:
                        result = actors["rerank"].finish.remote(shard, actors["cpu"])
                        first_write = seconds_until_written(shard.output, result, started)
                    else:
                        result = actors["all"].annotate.remote(shard)
                    record = ray.get(result)
                    if record["status"] != "ok":
                        raise SystemExit(f"{shard.input}: {record['error']}")
                    documents, shard_seconds = documents + record["documents"], time.perf_counter() - started
                rows.append({"documents": documents, **sampler.now(), "shard_seconds": shard_seconds, "first_write_seconds": first_write,
                             **ray.get(actors[stages[0]].vocab_size.remote())})
                print(json.dumps(rows[-1]), flush=True)
            sampler.stop()
        finally:
            ray.shutdown()
    result = {"command": f"python benchmarks/annotate_worker_memory.py --pipeline {args.pipeline} --documents {args.documents} "
                         f"--shards {args.shards} --batch-size {args.batch_size} --format {args.format}"
                         + (" --rerank-stage" if args.rerank_stage else ""),
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    write_result(result, args.out)


if __name__ == "__main__":
    main()
