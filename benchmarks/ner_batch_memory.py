"""What the batch size of the components that are not spacy-xmr's (spaCy's NER) costs a worker in memory and time.

`annotate` runs spacy-xmr's components on `--batch-size` documents a call (256 by default: each XMR call has a fixed
cost) and the others on at most `annotator.OTHER_COMPONENTS_BATCH_SIZE`. This runs the pipeline as a worker does
(torch and pandas forbidden, the linker at `--batch-size`) on the NCBI Disease abstracts (train, dev and test, twice
over), each NER batch size in a fresh process and the sizes taken in turn for `--rounds` rounds, and records the
process's peak RSS above its RSS after a first short batch, and its CPU milliseconds per document for the whole
pipeline and for the NER alone. Writes benchmarks/results/ner_batch_memory.json.

    python benchmarks/ner_batch_memory.py --pipeline PIPELINE_DIR [--sizes 256 64 32 16] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from result_files import write_result

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
SOURCES = ["ncbi_disease/NCBItrainset_corpus.txt", "ncbi_disease/NCBIdevelopset_corpus.txt", "ncbi_disease/NCBItestset_corpus.txt"]

RUN = """
import json, resource, sys, time
from spacy_xmr.distributed.worker import OPTIONAL_MODULES, forbid_imports
forbid_imports(OPTIONAL_MODULES)
import spacy
from spacy_xmr.corpus import read_corpus
from spacy_xmr.corpus.bioc_documents import document_text
from spacy_xmr.pipeline.base import CandidatePipe

pipeline, ner_batch, batch, *sources = sys.argv[1:]
ner_batch, batch = int(ner_batch), int(batch)
nlp = spacy.load(pipeline)
texts = [document_text(document) for source in sources for document in read_corpus(source).documents] * 2
others = {name: {"batch_size": ner_batch} for name, pipe in nlp.components if not isinstance(pipe, CandidatePipe)}

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

list(nlp.pipe(texts[:8]))
before, start = rss_mib(), time.process_time()
mentions = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch, component_cfg=others))
pipeline_ms = 1000 * (time.process_time() - start) / len(texts)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
with nlp.select_pipes(enable=list(others)):
    start = time.process_time()
    sum(1 for _ in nlp.pipe(texts, batch_size=batch, component_cfg=others))
    ner_ms = 1000 * (time.process_time() - start) / len(texts)
print(json.dumps({"documents": len(texts), "mentions": mentions, "peak_above_start_mib": peak,
                  "pipeline_cpu_ms_per_document": pipeline_ms, "ner_cpu_ms_per_document": ner_ms}))
"""


def run(pipeline: Path, ner_batch: int, batch: int, sources: list[Path]) -> dict:
    result = subprocess.run([sys.executable, "-c", RUN, str(pipeline), str(ner_batch), str(batch), *map(str, sources)],
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"the run with NER batches of {ner_batch} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, required=True, help="saved pipeline folder (NER + xmr_linker)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 64, 32, 16], help="NER batch sizes to compare")
    parser.add_argument("--batch-size", type=int, default=256, help="the linker's batch (annotate's --batch-size)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ner_batch_memory.json")
    args = parser.parse_args()

    sources = [args.data / source for source in SOURCES]
    runs: dict[int, list[dict]] = {size: [] for size in args.sizes}
    for round_number in range(args.rounds):
        for size in args.sizes:
            runs[size].append(run(args.pipeline, size, args.batch_size, sources))
            print(json.dumps({"round": round_number, "ner_batch": size, **runs[size][-1]}), flush=True)
    rows = [{"ner_batch": size,
             **{key: statistics.median(r[key] for r in results)
                for key in ("peak_above_start_mib", "pipeline_cpu_ms_per_document", "ner_cpu_ms_per_document")},
             "runs": results} for size, results in runs.items()]
    result = {"command": f"python benchmarks/ner_batch_memory.py --pipeline {args.pipeline} --sizes {' '.join(map(str, args.sizes))} "
                         f"--batch-size {args.batch_size} --rounds {args.rounds}",
              "date": time.strftime("%Y-%m-%d"), "medians_over_rounds": rows}
    write_result(result, args.out)


if __name__ == "__main__":
    main()
