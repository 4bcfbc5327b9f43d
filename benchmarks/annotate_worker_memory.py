"""One `annotate` worker's memory over many shards: does it grow with the documents it has linked?

Starts a local Ray with one `ShardWorker` actor (as `annotate` does, torch and pandas forbidden when the
pipeline allows it: the rows say which of them it imported) and feeds it the replicated abstracts of `annotate_scale.py`, shard after shard.
After the pipeline is loaded and after each shard it records the worker's USS and RSS, its peak USS
(sampled every 0.3 s), and the size of its vocab (strings, lexemes), which memory zones keep constant.
Writes benchmarks/results/annotate_worker_memory.json.

    python benchmarks/annotate_worker_memory.py --pipeline PIPELINE_DIR [--documents 3000] [--shards 6] [--format jsonl]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from annotate_scale import DEFAULT_DATA, HERE, write_shards


class VocabProbe:
    """Mixed into the actor class: how large the worker's vocab is now, and which optional libraries it imported."""

    def vocab_size(self) -> dict:
        import sys

        vocab = self.annotator.nlp.vocab
        return {"strings": len(vocab.strings), "lexemes": len(list(vocab)),  # len(vocab) also counts freed lexemes
                "optional_imports": sorted({name.split(".")[0] for name in sys.modules} & {"torch", "transformers", "pandas"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, required=True, help="saved pipeline folder (NER + xmr_linker)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--format", choices=["bioc", "jsonl", "pubtator"], default="jsonl", help="the shards' output format")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "annotate_worker_memory.json")
    args = parser.parse_args()

    import psutil
    import ray

    from spacy_xmr.distributed.pipelines import load_linker_models, needs_optional_imports, stage_components
    from spacy_xmr.distributed.shards import plan_shards
    from spacy_xmr.distributed.worker import ShardWorker, WorkerSettings

    models = load_linker_models(args.pipeline)
    settings = WorkerSettings(output_format=args.format, batch_size=args.batch_size, optional_imports=needs_optional_imports(
        args.pipeline, models, stage_components(args.pipeline, "all")))
    rows = []
    with tempfile.TemporaryDirectory(prefix="annotate-worker-memory-") as tmp:
        shards = plan_shards(write_shards(args.data, args.documents, args.shards, Path(tmp) / "in"), Path(tmp) / "out", args.format)
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        try:
            actor = ray.remote(type("ProbedShardWorker", (ShardWorker, VocabProbe), {})).remote(str(args.pipeline), models, settings)
            process = psutil.Process(ray.get(actor.pid.remote()))
            peak, stop = [0.0], threading.Event()

            def sample() -> None:
                while not stop.wait(0.3):
                    peak[0] = max(peak[0], process.memory_full_info().uss / 2**20)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            documents = 0
            for shard in [None, *shards]:
                if shard is not None:
                    record = ray.get(actor.annotate.remote(shard))
                    if record["status"] != "ok":
                        raise SystemExit(f"{shard.input}: {record['error']}")
                    documents += record["documents"]
                info = process.memory_full_info()
                rows.append({"documents": documents, "uss_mib": info.uss / 2**20, "rss_mib": info.rss / 2**20,
                             "peak_uss_mib": peak[0], **ray.get(actor.vocab_size.remote())})
                print(json.dumps(rows[-1]), flush=True)
            stop.set()
            sampler.join()
        finally:
            ray.shutdown()
    result = {"command": f"python benchmarks/annotate_worker_memory.py --pipeline {args.pipeline} --documents {args.documents} "
                         f"--shards {args.shards} --batch-size {args.batch_size} --format {args.format}",
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
