"""Throughput and memory of a spaCy pipeline with `xmr_linker` on a MEDIC-sized model.

Links the gold mentions of the NCBI Disease test abstracts (so NER speed is not measured; the
100 abstracts are streamed --copies times so that starting worker processes is amortised),
with one process and with `n_process=2`, and records the resident memory of the loaded
pipeline. Trains the XMR model on MEDIC + the NCBI training set first (in a separate process,
so its memory does not count) unless --model names a saved one.
Writes benchmarks/results/pipeline_throughput.json.

    python benchmarks/pipeline_throughput.py [--model DIR] [--repeats 3] [--copies 5]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def rss_mib() -> float:
    """Current resident set size of this process (Linux /proc; peak RSS elsewhere)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def train_medic_model(data: Path, directory: Path) -> float:
    """Fit and save the XMR model on all of MEDIC and the NCBI training mentions; returns seconds."""
    from spacy_xmr.corpus import iter_mentions, read_corpus
    from spacy_xmr.ontology import read_medic
    from spacy_xmr.xmr import XMRModel

    start = time.perf_counter()
    ontology = read_medic(data / "medic" / "CTD_diseases.tsv.gz")
    mentions = [m for m in iter_mentions(read_corpus(data / "ncbi_disease" / "NCBItrainset_corpus.txt")) if m.gold_ids]
    XMRModel.train(ontology, mentions, progress=True).save(directory)
    return time.perf_counter() - start


def time_pipe(nlp, docs_factory, n_process: int, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        docs = docs_factory()
        start = time.perf_counter()
        for _doc in nlp.pipe(docs, n_process=n_process, batch_size=64):
            pass
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder laid out like ../shared/data")
    parser.add_argument("--model", type=Path, default=HERE / "work" / "medic-xmr", help="saved XMR model (trained here when absent)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="times the test abstracts are streamed per timed run")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "pipeline_throughput.json")
    args = parser.parse_args()

    import spacy

    from spacy_xmr.atomic import atomic_open
    from spacy_xmr.corpus import collection_to_docs, read_corpus

    training_seconds = None
    if not args.model.exists():
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            training_seconds = pool.submit(train_medic_model, args.data, args.model).result()
    rss_before = rss_mib()
    nlp = spacy.blank("en")
    linker = nlp.add_pipe("xmr_linker", config={"model": str(args.model)})
    load_start = time.perf_counter()
    linker.get_model()
    load_seconds = time.perf_counter() - load_start
    rss_loaded = rss_mib()

    test = read_corpus(args.data / "ncbi_disease" / "NCBItestset_corpus.txt")
    gold_docs = collection_to_docs(test, nlp)
    n_docs = len(gold_docs) * args.copies
    n_mentions = sum(len(doc.ents) for doc in gold_docs) * args.copies

    def fresh_docs():  # copies carrying the gold entities, so every run links from scratch
        return [doc.copy() for _ in range(args.copies) for doc in gold_docs]

    time_pipe(nlp, fresh_docs, 1, 1)  # warm-up
    results = {}
    for n_process in (1, 2):
        timings = time_pipe(nlp, fresh_docs, n_process, args.repeats)
        best = min(timings)
        results[f"n_process_{n_process}"] = {
            "seconds_best": round(best, 4),
            "seconds_median": round(statistics.median(timings), 4),
            "docs_per_second": round(n_docs / best, 1),
            "mentions_per_second": round(n_mentions / best, 1),
        }
    report = {
        "what": "xmr_linker on gold mentions of the NCBI Disease test abstracts, MEDIC-sized XMR model",
        "command": "python benchmarks/pipeline_throughput.py",
        "n_test_abstracts": len(gold_docs),
        "n_docs": n_docs,
        "n_mentions": n_mentions,
        "n_concepts": len(linker.get_model().ontology),
        "model_load_seconds": round(load_seconds, 2),
        "model_training_seconds": None if training_seconds is None else round(training_seconds, 1),
        "rss_mib_before_load": round(rss_before, 1),
        "rss_mib_loaded_pipeline": round(rss_loaded, 1),
        "rss_mib_after_linking": round(rss_mib(), 1),
        "rss_mib_peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "throughput": results,
        "machine": {"cpus": os.cpu_count(), "load_average_1min_at_end": round(os.getloadavg()[0], 2), "platform": platform.platform(),
                    "python": platform.python_version(), "spacy": spacy.__version__},
    }
    with atomic_open(args.output) as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
