"""Load time and memory of a saved XMR model in one and two processes: format 3 (arrays read into memory) against
format 4 (arrays memory-mapped, one copy in the page cache for every process).

    python benchmarks/xmr_memory.py [--concepts 100000] [--queries 2000] [--without ENTRY ...] [--no-format-3]

Trains a model on the synthetic ontology of synthetic_ontology.py (kept in benchmarks/work/xmr_memory/N/format_4 for
later runs: a model of `xmr_scale.py` hard-linked there is used as it is), saves it in format 4 and copies it in
format 3 (tests/model_formats.py), then for each format measures (Linux: RSS and PSS
from /proc/PID/smaps_rollup; PSS splits a shared page between the processes that map it, so the PSS of all processes
adds up to what they cost the machine together):
- `processes`: 1, then 2 independent processes (services, spawned workers, a distributed run's workers) that load
  the model and predict the same queries; each process's load time, first call, throughput, and RSS/PSS after
  loading and after predicting (all processes alive);
- `nlp_pipe`: a pipeline of `xmr_linker` on the model, loaded in the parent, runs `nlp.pipe(docs, n_process=2)`
  (fork on Linux: the workers inherit the parent's pages either way); the peak RSS/PSS of each worker, the
  parent's RSS/PSS after, their sum (`total_pss_mb`: the workers' peaks may fall at different moments, which then
  counts the pages they share twice) and the largest PSS of all of them at one moment (`peak_pss_mb_together`);
- `throughput_same_process`: queries/s of both formats loaded in one process, called in turn (the best of three):
  on a shared machine the figures of runs minutes apart differ more than the formats do.
The page cache is warm in both formats (the files were just written). Writes benchmarks/results/xmr_memory.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from spacy_xmr.atomic import atomic_directory, atomic_open

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
WORK = REPO / "benchmarks" / "work" / "xmr_memory"
WARM_UP_QUERIES = 100
SMAPS_FIELDS = {"Rss": "rss_mb", "Pss": "pss_mb", "Pss_Anon": "pss_anon_mb", "Pss_File": "pss_file_mb"}


def memory(pid: int) -> dict[str, float]:
    """The process's RSS and PSS (all, anonymous, file-backed) in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        field, _, value = line.partition(":")
        if field in SMAPS_FIELDS:
            figures[SMAPS_FIELDS[field]] = round(int(value.split()[0]) / 1024, 1)
    return figures


def model_folders(n_concepts: int, without: list[str], format_3: bool = True) -> dict[str, Path]:
    """The model in format 4 and (unless not `format_3`) in format 3, trained on first use; with `without`, also format
    4 lacking those entries of its folder (optional parts an older folder lacks, e.g. `hierarchy` or `char_ngram_keys`)."""
    from model_formats import to_format_3

    from spacy_xmr.xmr import XMRModel
    from spacy_xmr.xmr.format_versions import FORMAT_VERSION

    folders = {"format_4": WORK / f"{n_concepts}" / "format_4"}
    header = folders["format_4"] / "xmr.json"
    if not header.exists() or json.loads(header.read_text())["format_version"] != FORMAT_VERSION:
        from synthetic_ontology import synthetic_ontology

        start = time.perf_counter()
        XMRModel.train(synthetic_ontology(n_concepts), [], progress=False).save(folders["format_4"])
        print(f"trained and saved {n_concepts} concepts in {time.perf_counter() - start:.0f} s", flush=True)
    if format_3:
        folders["format_3"] = WORK / f"{n_concepts}" / "format_3"
        with atomic_directory(folders["format_3"]) as tmp:
            shutil.copytree(folders["format_4"], tmp, dirs_exist_ok=True)
            to_format_3(tmp)
    if without:
        folders["format_4_without_" + "+".join(without)] = folder = WORK / f"{n_concepts}" / "format_4_without"
        with atomic_directory(folder) as tmp:
            shutil.copytree(folders["format_4"], tmp, dirs_exist_ok=True, ignore=lambda _, names: [n for n in names if n in without])
    return folders


def worker(directory: Path, queries_file: Path) -> None:
    """One process of `processes`: load, report, wait for a line on stdin, predict, report, wait for stdin's end."""
    from spacy_xmr.xmr import XMRModel

    texts = json.loads(queries_file.read_text())
    start = time.perf_counter()
    model = XMRModel.load(directory, n_jobs=1)
    print(json.dumps({"load_s": round(time.perf_counter() - start, 3)}), flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    model.predict(texts[:WARM_UP_QUERIES], top_k=10)
    first_call_s = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(texts, top_k=10)
    print(json.dumps({"first_call_s": round(first_call_s, 3), "queries_per_s": round(len(texts) / (time.perf_counter() - start), 1)}),
          flush=True)
    sys.stdin.read()


def run_processes(directory: Path, queries_file: Path, n_processes: int) -> dict:
    command = [sys.executable, __file__, "--worker", str(directory), "--queries-file", str(queries_file)]
    procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(n_processes)]
    try:
        loaded = [json.loads(proc.stdout.readline()) for proc in procs]
        after_load = [memory(proc.pid) for proc in procs]
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        predicted = [json.loads(proc.stdout.readline()) for proc in procs]
        after_predict = [memory(proc.pid) for proc in procs]
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()
    return {
        "per_process": [{**load, **done, "after_load": mem_load, "after_predict": mem_done}
                        for load, done, mem_load, mem_done in zip(loaded, predicted, after_load, after_predict)],
        "total_pss_mb_after_predict": round(sum(m["pss_mb"] for m in after_predict), 1),
    }


def pipe_run(directory: Path, queries_file: Path) -> None:
    """The `nlp_pipe` measurement, in a process of its own: prints its JSON."""
    import psutil
    import spacy

    texts = json.loads(queries_file.read_text())
    nlp = spacy.blank("en")
    linker = nlp.add_pipe("xmr_linker", config={"model": str(directory), "n_jobs": 1})
    start = time.perf_counter()
    linker.get_model()  # loaded in the parent, as spacy.load does
    load_s = time.perf_counter() - start
    docs = []
    for text in texts:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(0, len(text), label="Disease", alignment_mode="expand")] if doc else []
        docs.append(doc)
    peaks: dict[int, dict] = {}
    peak_together = [0.0]  # the largest PSS of the parent and the workers at one sampling instant
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            together = memory(psutil.Process().pid)["pss_mb"]
            for child in psutil.Process().children(recursive=True):
                try:
                    figures = memory(child.pid)
                except OSError:  # the worker just ended
                    continue
                together += figures["pss_mb"]
                peak = peaks.setdefault(child.pid, figures)
                peaks[child.pid] = {key: max(value, peak[key]) for key, value in figures.items()}
            peak_together[0] = max(peak_together[0], together)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    n_linked = sum(len(doc.ents) for doc in nlp.pipe(docs, n_process=2, batch_size=100))
    pipe_s = time.perf_counter() - start
    done.set()
    sampler.join()
    parent = memory(psutil.Process().pid)
    workers = list(peaks.values())
    print(json.dumps({"parent_load_s": round(load_s, 3), "pipe_s": round(pipe_s, 2), "docs_linked": n_linked, "parent_after": parent,
                      "worker_peaks": workers,
                      "total_pss_mb": round(parent["pss_mb"] + sum(peak["pss_mb"] for peak in workers), 1),
                      "peak_pss_mb_together": round(peak_together[0], 1)}))


def run_pipe(directory: Path, queries_file: Path) -> dict:
    command = [sys.executable, __file__, "--pipe", str(directory), "--queries-file", str(queries_file)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def same_process_throughput(folders: dict[str, Path], queries_file: Path, repeats: int = 3) -> dict[str, float]:
    from spacy_xmr.xmr import XMRModel

    texts = json.loads(queries_file.read_text())
    models = {name: XMRModel.load(folder, n_jobs=1) for name, folder in folders.items()}
    best = dict.fromkeys(models, 0.0)
    for model in models.values():
        model.predict(texts[:WARM_UP_QUERIES], top_k=10)
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.predict(texts, top_k=10)
            best[name] = max(best[name], round(len(texts) / (time.perf_counter() - start), 1))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "xmr_memory.json")
    parser.add_argument("--without", nargs="*", default=[], metavar="ENTRY",
                        help="also measure the format-4 folder without these entries (e.g. char_ngram_keys word_ngram_keys)")
    parser.add_argument("--no-format-3", action="store_true",
                        help="measure format 4 only: every format-3 process reads the whole model into memory (at 10^6 "
                             "concepts two processes and two nlp.pipe workers need more than this machine's 24 GB)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pipe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.queries_file)
    if args.pipe:
        return pipe_run(args.pipe, args.queries_file)
    from synthetic_ontology import perturbed_queries, synthetic_ontology

    folders = model_folders(args.concepts, args.without, format_3=not args.no_format_3)
    queries_file = WORK / f"{args.concepts}" / "queries.json"
    queries_file.write_text(json.dumps([text for text, _ in perturbed_queries(synthetic_ontology(args.concepts), args.queries)]))
    results = {"n_concepts": args.concepts, "n_queries": args.queries,
               "model_mb": {name: round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)
                            for name, folder in folders.items()}}
    for name, folder in folders.items():
        results[name] = {"processes": {str(n): run_processes(folder, queries_file, n) for n in (1, 2)},
                         "nlp_pipe_n_process_2": run_pipe(folder, queries_file)}
        print(json.dumps({name: results[name]}, indent=1), flush=True)
    results["throughput_same_process"] = same_process_throughput(folders, queries_file)
    print(json.dumps({"throughput_same_process": results["throughput_same_process"]}))
    with atomic_open(args.output) as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
