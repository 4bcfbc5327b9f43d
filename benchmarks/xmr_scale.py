"""Training time, peak memory and prediction throughput of the XMR model on synthetic ontologies up to UMLS size.

    python benchmarks/xmr_scale.py --concepts 1000000 [--concepts 4000000] [--mentions-per-concept 0.5] \\
        [--max-rss-gib 17] [--max-postings 20000 5000] [--output benchmarks/results/xmr_scale_umls.json]

Each size runs in its own process group, watched from this process: every `SAMPLE_S` seconds, or `WATCH_PAUSE_RATIO`
times as long as a reading took where that is longer (the watcher stays under 5 % of a core), it sums the memory of
the worker's whole process tree (the n-gram and matcher workers included) from /proc, RSS and PSS (PSS counts a page
that forked workers share once, RSS once per process). Where the tree's PSS passes `--max-rss-gib` (its
anonymous PSS `--max-anon-gib`), or the size runs past `--max-minutes`, the group is killed and the size reported as
aborted with the phases it reached and their memory, so a run too large for the machine never takes it down. Each
step of the training (`TRAINING_STEPS`) is a phase of its own. Linux only (it reads /proc).

The worker trains on every alias plus `--mentions-per-concept` × concepts perturbed training mentions into a model
folder, as `spacy-xmr train-xmr` does (the trained arrays are written and mapped back, then the prediction indexes
built and, where there are training mentions, the confidence calibrated on `VALIDATION_MENTIONS` others, as
`--val-corpus` does; with names alone, the default, there is no calibration), and the model saved.
The model it returns (mapped from that folder) answers a first call of 100 queries, timed apart, then `--queries`
more (the ontology's objects are dropped once the queries are made). The model is then loaded again as a process
that only links would, and called the same way, then once more for each `--max-postings` (the prediction setting
that bounds the nearest channel's posting lists, `docs/scale.md`), each with its recall. Writes
benchmarks/results/xmr_scale.json (or `--output`).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_open

REPO = Path(__file__).resolve().parent.parent
WARM_UP_QUERIES = 100  # the first call, timed apart: it builds what prediction derives from the model once
VALIDATION_MENTIONS = 2000  # calibrate on these (out-of-fold calibration would train the model three times more)
SAMPLE_S = 1.0  # how often the process tree's memory is read, at most ...
# ... and at least this many times as long as a reading takes: the kernel walks every mapping to sum a process's
# smaps_rollup, and at 4x10^6 concepts (matcher workers mapping 38 GB each) a reading each second took a third of a core
WATCH_PAUSE_RATIO = 20
TIMELINE_S = 10.0  # the resolution of the memory timeline kept in the results: (s, PSS GiB, anonymous PSS GiB)
GIB = 2**30


# the steps of `XMRModel.train` whose memory peaks are told apart: (module, function or Class.method), each wrapped to
# announce itself
TRAINING_STEPS = [("spacy_xmr.xmr.model", "build_training_data"), ("spacy_xmr.xmr.model", "fit_calibrator"),
                  ("spacy_xmr.xmr.channels.tree", "label_embeddings"), ("spacy_xmr.xmr.channels.tree", "build_cluster_chain"),
                  ("spacy_xmr.xmr.channels.tree", "train_matchers"), ("spacy_xmr.xmr.matcher", "rows_in_leaf_order"),
                  ("spacy_xmr.xmr.model", "XMRModel._write"), ("spacy_xmr.xmr.model", "XMRModel._prepare")]


ENTERED = ["start"]  # the worker's phase, then the steps entered inside it


def phase(name: str) -> None:
    """Enter the phase `name` ("train", "predict", ...) and tell the watching process (its memory peaks are kept per
    phase)."""
    ENTERED[:] = [name]
    _tell(name)


def _tell(name: str) -> None:
    print(f"phase {name}", flush=True)


def announce_training_steps() -> None:
    """Make each of `TRAINING_STEPS` (and the featurizer's fit) a phase of its own inside the phase that calls it
    ("train:prepare", or "predict:prepare" where a prediction builds its indexes), back to the caller's when it returns."""
    import importlib

    from spacy_xmr.xmr.features import Featurizer

    def announced(name: str, function):
        def run(*args, **kwargs):
            ENTERED.append(f"{ENTERED[0]}:{name}")
            _tell(ENTERED[-1])
            try:
                return function(*args, **kwargs)
            finally:
                ENTERED.pop()
                _tell(ENTERED[-1])
        return run

    for module_name, path in TRAINING_STEPS:
        owner = importlib.import_module(module_name)
        *owners, name = path.split(".")  # a function of the module, or a method of one of its classes
        for attribute in owners:
            owner = getattr(owner, attribute)
        setattr(owner, name, announced(name.lstrip("_"), getattr(owner, name)))
    Featurizer.fit_transform = classmethod(announced("features", Featurizer.fit_transform.__func__))


def run_one(n_concepts: int, n_queries: int, mentions_per_concept: float, directory: Path, max_postings: list[int]) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from synthetic_ontology import perturbed_queries, recall_at, synthetic_ontology, training_mentions

    from spacy_xmr.xmr import XMRModel

    announce_training_steps()
    phase("generate")
    start = time.perf_counter()
    ontology = synthetic_ontology(n_concepts)
    mentions = training_mentions(ontology, round(mentions_per_concept * n_concepts))
    validation = training_mentions(ontology, VALIDATION_MENTIONS if mentions else 0, seed=3) or None
    generate_s = time.perf_counter() - start
    phase("train")
    start = time.perf_counter()
    model = XMRModel.train(ontology, mentions, progress=False, validation=validation, work_dir=directory, output=directory / "model")
    train_s = time.perf_counter() - start
    train_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del mentions, validation
    gc.collect()
    queries = perturbed_queries(ontology, n_queries + WARM_UP_QUERIES)
    texts, concepts = [text for text, _ in queries], [concept for _, concept in queries[WARM_UP_QUERIES:]]
    n_aliases = ontology.n_aliases()
    del ontology  # a process that links holds no ontology of its own (the model reads its file when asked)
    gc.collect()
    phase("first_call")
    start = time.perf_counter()
    model.predict(texts[:WARM_UP_QUERIES], top_k=10)  # the saved indexes are mapped; what is left lazy is built
    first_call_s = time.perf_counter() - start
    phase("predict")
    start = time.perf_counter()
    ranked = model.predict(texts[WARM_UP_QUERIES:], top_k=10)
    predict_s = time.perf_counter() - start
    stats = model.stats
    size = sum(p.stat().st_size for p in (directory / "model").rglob("*") if p.is_file())
    del model  # loaded again below, as a process that only links would
    gc.collect()
    phase("load")
    start = time.perf_counter()
    loaded = XMRModel.load(directory / "model")
    load_s = time.perf_counter() - start
    phase("first_call_after_load")
    start = time.perf_counter()
    loaded.predict(texts[:WARM_UP_QUERIES], top_k=10)
    first_call_after_load_s = time.perf_counter() - start
    phase("predict_after_load")
    start = time.perf_counter()
    ranked_after_load = loaded.predict(texts[WARM_UP_QUERIES:], top_k=10)
    predict_after_load_s = time.perf_counter() - start
    bounded = []
    for cap in max_postings:
        loaded.configure(max_postings=cap)
        phase(f"first_call_max_postings_{cap}")
        start = time.perf_counter()
        loaded.predict(texts[:WARM_UP_QUERIES], top_k=10)  # cuts the term index's lists
        first_s = time.perf_counter() - start
        phase(f"predict_max_postings_{cap}")
        start = time.perf_counter()
        ranked_bounded = loaded.predict(texts[WARM_UP_QUERIES:], top_k=10)
        bounded.append({"max_postings": cap, "first_call_s": first_s,
                        "predict_mentions_per_s": n_queries / (time.perf_counter() - start),
                        "recall_at_1_perturbed": recall_at(ranked_bounded, concepts, 1),
                        "recall_at_10_perturbed": recall_at(ranked_bounded, concepts, 10)})
    return {
        "n_concepts": n_concepts, "n_aliases": n_aliases, "n_training_mentions": stats.get("n_mentions_used", 0),
        "generate_s": generate_s, "train_s": train_s, "peak_rss_mb_main_after_training": train_rss,
        "peak_rss_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_call_s": first_call_s, "predict_mentions_per_s": n_queries / predict_s,
        "recall_at_1_perturbed": recall_at(ranked, concepts, 1), "recall_at_10_perturbed": recall_at(ranked, concepts, 10),
        "load_s": load_s, "first_call_after_load_s": first_call_after_load_s,
        "predict_after_load_mentions_per_s": n_queries / predict_after_load_s,
        "recall_at_1_perturbed_after_load": recall_at(ranked_after_load, concepts, 1),
        "recall_at_10_perturbed_after_load": recall_at(ranked_after_load, concepts, 10),
        "after_load_with_max_postings": bounded, "model_bytes": size, "stats": stats,
    }


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended meanwhile
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


MEMORY_FIELDS = ("Rss:", "Pss:", "Pss_Anon:")  # Pss_Anon: PSS less the mapped files' pages (Linux 5.12+; else 0)


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, anonymous PSS) in bytes summed over the process tree of `pid`. The pages of mapped files (the
    training features, a loaded model) count in RSS and PSS while resident, but the kernel can drop them again:
    the anonymous part is what the tree cannot give back."""
    totals = dict.fromkeys(MEMORY_FIELDS, 0)
    for member in _descendants(pid):
        try:
            with open(f"/proc/{member}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith(MEMORY_FIELDS):
                        totals[line.split()[0]] += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return totals["Rss:"], totals["Pss:"], totals["Pss_Anon:"]


class TreeWatch:
    """Samples the memory of a worker's process tree in a thread: peaks overall and per phase, a timeline, and the
    worker's whole process group killed the first time its PSS passes `pss_limit` or its anonymous PSS passes
    `anon_limit` (bytes), or once it has run `time_limit` seconds (0: no such limit)."""

    def __init__(self, process: subprocess.Popen, pss_limit: float, anon_limit: float, time_limit: float = 0.0):
        self.process, self.pss_limit, self.anon_limit, self.time_limit = process, pss_limit, anon_limit, time_limit
        self.start = time.perf_counter()
        self.phase, self.phases = "start", [("start", 0.0)]  # (phase, when it was entered) in order
        self.peak_rss = self.peak_pss = self.peak_anon = 0
        self.phase_peak_pss: dict[str, int] = {}
        self.phase_peak_anon: dict[str, int] = {}
        self.timeline: list[tuple[float, float]] = []
        self.aborted: str | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def enter(self, name: str) -> None:
        self.phase = name
        self.phases.append((name, round(time.perf_counter() - self.start, 1)))

    def _watch(self) -> None:
        while self.process.poll() is None:
            reading = time.perf_counter()
            rss, pss, anon = tree_memory(self.process.pid)
            reading = time.perf_counter() - reading
            elapsed = time.perf_counter() - self.start
            self.peak_rss, self.peak_pss, self.peak_anon = max(self.peak_rss, rss), max(self.peak_pss, pss), max(self.peak_anon, anon)
            self.phase_peak_pss[self.phase] = max(self.phase_peak_pss.get(self.phase, 0), pss)
            self.phase_peak_anon[self.phase] = max(self.phase_peak_anon.get(self.phase, 0), anon)
            if not self.timeline or elapsed - self.timeline[-1][0] >= TIMELINE_S:
                self.timeline.append((round(elapsed, 1), round(pss / GIB, 2), round(anon / GIB, 2)))
            for kind, value, limit, option in (("PSS", pss, self.pss_limit, "--max-rss-gib"),
                                               ("anonymous PSS", anon, self.anon_limit, "--max-anon-gib")):
                if limit and value > limit:
                    self._abort(f"process tree {kind} {value / GIB:.1f} GiB passed {option} in phase {self.phase}")
            if self.time_limit and elapsed > self.time_limit:
                self._abort(f"stopped after {elapsed / 60:.1f} minutes (--max-minutes) in phase {self.phase}")
            time.sleep(max(SAMPLE_S, WATCH_PAUSE_RATIO * reading))

    def _abort(self, reason: str) -> None:
        if self.aborted is None:
            self.aborted = reason
            os.killpg(self.process.pid, signal.SIGKILL)

    def figures(self) -> dict:
        self._thread.join()
        return {"peak_tree_pss_gib": self.peak_pss / GIB, "peak_tree_anon_pss_gib": self.peak_anon / GIB,
                "peak_tree_rss_sum_gib": self.peak_rss / GIB,
                "phase_peak_tree_pss_gib": {k: round(v / GIB, 2) for k, v in self.phase_peak_pss.items()},
                "phase_peak_tree_anon_pss_gib": {k: round(v / GIB, 2) for k, v in self.phase_peak_anon.items()},
                "phases_entered_s": self.phases, "pss_timeline_gib": self.timeline}


def watched_run(n_concepts: int, args: argparse.Namespace) -> dict:
    """Run one size in a worker process group under a `TreeWatch`; its result with the tree's memory figures."""
    directory = Path(tempfile.mkdtemp(prefix="xmr-scale-"))  # made and removed here, even when the worker is killed
    command = [sys.executable, __file__, "--worker", str(n_concepts), "--queries", str(args.queries),
               "--mentions-per-concept", str(args.mentions_per_concept), "--directory", str(directory),
               "--max-postings", *map(str, args.max_postings)]
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True) as process:
            watch = TreeWatch(process, args.max_rss_gib * GIB, args.max_anon_gib * GIB, args.max_minutes * 60)
            lines = []
            for line in process.stdout:
                if line.startswith("phase "):
                    watch.enter(line.split()[1])
                    print(f"[{n_concepts}] {line.strip()} at {time.perf_counter() - watch.start:.0f} s", file=sys.stderr, flush=True)
                else:
                    lines.append(line)
        figures = watch.figures()
        saved = any(name == "first_call" for name, _ in watch.phases)  # training wrote the whole model before it
        if args.keep_model and saved:
            kept = args.keep_model / str(n_concepts)
            shutil.rmtree(kept, ignore_errors=True)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(directory / "model", kept)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if watch.aborted:
        return {"n_concepts": n_concepts, "aborted": watch.aborted, **figures}
    if process.returncode != 0:
        return {"n_concepts": n_concepts, "failed": f"exit status {process.returncode} (its stderr is above)", **figures}
    return {**json.loads(lines[-1]), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, action="append", help="ontology size (repeatable); default 100000")
    parser.add_argument("--queries", type=int, default=5000, help="queries timed after the first call")
    parser.add_argument("--mentions-per-concept", type=float, default=0.0, help="training mentions per concept (0.5: UMLS-like)")
    parser.add_argument("--max-rss-gib", type=float, default=20.0, help="abort a size whose process tree's PSS passes this (0: no limit)")
    parser.add_argument("--max-anon-gib", type=float, default=0.0,
                        help="abort a size whose process tree's anonymous PSS passes this (0: no limit): unlike PSS it leaves out "
                             "the resident pages of mapped files (the training features), which the kernel drops when memory runs short")
    parser.add_argument("--max-minutes", type=float, default=0.0,
                        help="stop a size after this many minutes (0: no limit) and report the phases it reached and their memory")
    parser.add_argument("--max-postings", type=int, nargs="*", default=[],
                        help="after the loaded model's own figures, its queries/s and recall with the nearest channel's "
                             "posting lists cut to each of these (the prediction setting max_postings)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "xmr_scale.json")
    parser.add_argument("--keep-model", type=Path,
                        help="move each size's trained model folder to DIR/<concepts> (for benchmarks/nearest_postings.py) "
                             "instead of removing it, also when a later phase is stopped")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--directory", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_one(args.worker, args.queries, args.mentions_per_concept, args.directory, args.max_postings)))
        return
    results = []
    for n in args.concepts or [100_000]:
        results.append(watched_run(n, args))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "pss_timeline_gib"}, indent=2), flush=True)
        with atomic_open(args.output) as handle:  # after every size: a later size that is aborted keeps the earlier
            json.dump({"machine_cpus": os.cpu_count(), "mentions_per_concept": args.mentions_per_concept, "results": results},
                      handle, indent=2)


if __name__ == "__main__":
    main()
