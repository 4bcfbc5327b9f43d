"""How much memory reading a large corpus file takes, per input format `annotate` reads, and how long.

Writes BC5CDR's training abstracts with their annotations, repeated to `--documents` documents (ids made unique), as
BioC XML, BioC JSON, PubTator and JSONL, then reads each file in a fresh process, a document at a time as an
`annotate` worker does (`stream_corpus(path).documents`), and records that process's peak RSS above its RSS before reading, and the
seconds. With `--baseline-code DIR` (e.g. a `git worktree` of an older commit) every file is read by that code too,
in the same run, and the JSON gives the ratios. Writes benchmarks/results/corpus_stream_memory.json.

    python benchmarks/corpus_stream_memory.py [--documents 30000] [--baseline-code DIR]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from result_files import write_result

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
SOURCE = "bc5cdr/CDR_TrainingSet.PubTator.txt"
FORMATS = {"BioC XML": "corpus.xml", "BioC JSON": "corpus.json", "PubTator": "corpus.pubtator", "JSONL": "corpus.jsonl"}
BATCH = 500

READER = """
import json, resource, sys, time
from spacy_xmr.corpus.formats import stream_corpus

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

before, start = rss_mib(), time.perf_counter()
documents = sum(1 for _ in stream_corpus(sys.argv[1]).documents)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"documents": documents, "seconds": seconds, "peak_above_start_mib": peak - before}))
"""


def _batches(source, n_documents: int):
    """The source's documents repeated to `n_documents` (ids made unique), as collections of BATCH."""
    from spacy_xmr.corpus.streams import collection_fields

    for first in range(0, n_documents, BATCH):
        batch = collection_fields(source)
        for number in range(first, min(first + BATCH, n_documents)):
            document = copy.deepcopy(source.documents[number % len(source.documents)])
            document.id = f"{document.id}{number // len(source.documents):04d}"  # PubTator ids are digits
            batch.add_document(document)
        yield batch


def _write_bioc_json(source, n_documents: int, path: Path) -> None:
    """One BioC JSON collection, its documents a line each (as `bioc`'s encoder builds them), written as they come."""
    from bioc import biocjson

    with open(path, "w", encoding="utf8") as out:
        out.write('{"source": "BC5CDR", "date": "", "key": "", "infons": {}, "documents": [\n')
        separator = ""
        for batch in _batches(source, n_documents):
            for document in batch.documents:
                out.write(separator + json.dumps(biocjson.toJSON(document)))
                separator = ",\n"
        out.write("\n]}\n")


def write_files(data: Path, n_documents: int, directory: Path) -> dict[str, Path]:
    """The corpus repeated to `n_documents`, written a batch at a time in every format."""
    from spacy_xmr.corpus import read_pubtator
    from spacy_xmr.corpus.bioc_io import BIOC_XML_OUTPUT
    from spacy_xmr.corpus.jsonl import JSONL_OUTPUT
    from spacy_xmr.corpus.pubtator_writer import PUBTATOR_OUTPUT
    from spacy_xmr.corpus.writers import corpus_writer

    source = read_pubtator(data / SOURCE)
    outputs = {"BioC XML": BIOC_XML_OUTPUT, "PubTator": PUBTATOR_OUTPUT, "JSONL": JSONL_OUTPUT}
    paths = {name: directory / file_name for name, file_name in FORMATS.items()}
    for name, path in paths.items():
        if name == "BioC JSON":
            _write_bioc_json(source, n_documents, path)
            continue
        with corpus_writer(path, outputs[name]) as writer:
            for batch in _batches(source, n_documents):
                writer.write(batch)
    return paths


def read_in_fresh_process(path: Path, code: Path | None) -> dict:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", READER, str(path)], capture_output=True, text=True, env=env,
                            cwd=code or Path.cwd())
    if result.returncode:
        raise SystemExit(f"reading {path} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--documents", type=int, default=30000)
    parser.add_argument("--baseline-code", type=Path, help="a checkout of other code to read the same files with")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "corpus_stream_memory.json")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="corpus-stream-memory-") as tmp:
        for name, path in write_files(args.data, args.documents, Path(tmp)).items():
            row = {"format": name, "file_mib": path.stat().st_size / 2**20, "this code": read_in_fresh_process(path, None)}
            if args.baseline_code:
                row["baseline"] = read_in_fresh_process(path, args.baseline_code.resolve())
                row["memory_ratio"] = row["baseline"]["peak_above_start_mib"] / max(row["this code"]["peak_above_start_mib"], 1.0)
                row["time_ratio"] = row["this code"]["seconds"] / row["baseline"]["seconds"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    command = f"python benchmarks/corpus_stream_memory.py --documents {args.documents}"
    if args.baseline_code:
        command += f" --baseline-code {args.baseline_code}"
    if args.out != parser.get_default("out"):
        command += f" --out {args.out}"
    result = {"command": command, "date": time.strftime("%Y-%m-%d"), "rows": rows}
    write_result(result, args.out)


if __name__ == "__main__":
    main()
