"""What each part of an `annotate` worker costs in memory that only it holds, with another worker beside it.

Starts a process that takes a worker's steps (torch and pandas forbidden, spaCy imported, the pipeline loaded, numba
and the compiled loops imported, a first linker call, the NER and linker over NCBI Disease's training abstracts) and
then waits; then a second process takes the same steps and records its USS (the pages no other process maps) after
each. The first process's pages of the same libraries and model files are then shared, as between the workers of a
node, so the second's deltas are what each added worker costs. Writes benchmarks/results/worker_memory_parts.json.

    python benchmarks/worker_memory_parts.py --pipeline PIPELINE_DIR
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from result_files import write_result

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
SOURCE = "ncbi_disease/NCBItrainset_corpus.txt"

STEPS = """
import json, sys, time
import psutil

def uss_mib():
    return psutil.Process().memory_full_info().uss / 2**20

pipeline, source, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
steps = [("python, numpy", (__import__("numpy"), uss_mib())[1])]
from spacy_xmr.distributed.worker import OPTIONAL_MODULES, forbid_imports
forbid_imports(OPTIONAL_MODULES)
import spacy
steps.append(("spaCy and thinc imported", uss_mib()))
nlp = spacy.load(pipeline)
steps.append(("pipeline loaded", uss_mib()))
import numba
steps.append(("numba imported", uss_mib()))
from spacy_xmr.xmr import compiled_loops  # noqa: F401
steps.append(("the compiled loops' module imported", uss_mib()))
from spacy_xmr.corpus import read_corpus
from spacy_xmr.corpus.bioc_documents import document_text
texts = [document_text(document) for document in read_corpus(source).documents]
list(nlp.pipe(texts[:1]))
steps.append(("first call (one abstract)", uss_mib()))
from spacy_xmr.distributed.annotator import OTHER_COMPONENTS_BATCH_SIZE
from spacy_xmr.pipeline.base import CandidatePipe
others = {name: {"batch_size": OTHER_COMPONENTS_BATCH_SIZE} for name, pipe in nlp.components if not isinstance(pipe, CandidatePipe)}
list(nlp.pipe(texts, batch_size=256, component_cfg=others))
steps.append((f"{len(texts)} abstracts, as a worker batches them", uss_mib()))
print(json.dumps(steps), flush=True)
time.sleep(hold)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, required=True, help="saved pipeline folder (NER + xmr_linker)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "worker_memory_parts.json")
    args = parser.parse_args()

    command = [sys.executable, "-c", STEPS, str(args.pipeline), str(args.data / SOURCE)]
    first = subprocess.Popen([*command, "600"], stdout=subprocess.PIPE, text=True)
    try:
        alone = json.loads(first.stdout.readline())  # the first process has taken every step and holds its pages
        beside = subprocess.run([*command, "0"], capture_output=True, text=True, check=True)
    finally:
        first.kill()
    steps = json.loads(beside.stdout.splitlines()[-1])
    rows = [{"step": name, "uss_mib": uss, "added_mib": uss - (steps[number - 1][1] if number else 0.0),
             "uss_mib_first_process": alone[number][1]} for number, (name, uss) in enumerate(steps)]
    for row in rows:
        print(f"{row['step']:<50} USS {row['uss_mib']:7.1f} MiB  (+{row['added_mib']:.1f})")
    result = {"command": f"python benchmarks/worker_memory_parts.py --pipeline {args.pipeline}",
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    write_result(result, args.out)


if __name__ == "__main__":
    main()
