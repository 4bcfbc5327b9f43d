"""The packed n-gram counter (`spacy_xmr/xmr/ngram_counts.py`) against scikit-learn's `CountVectorizer` on the same
model, side by side in one run: the features of the same queries (checked equal), the time to featurise them, and the
XMR model's queries/s with each counter, and the memory of a process that loads the model and links with each.

    python benchmarks/ngram_counting.py [--data-dir ../shared/data] [--queries 20000] [--repeats 3] \\
        [--output benchmarks/results/ngram_counting.json]

The model is NCBI Disease's (MEDIC + the train mentions, no calibration). The queries are the NCBI Disease test
mentions (one batch, as `xmr_ncbi_disease.py` times it) and `--queries` distinct perturbed MEDIC names. The two
counters take turns `--repeats` times and the best time of each is kept, so that the machine's load falls on both.
The memory: for each counter a fresh process loads the saved model, links the 960 test mentions and reports its
load time, RSS, USS and anonymous PSS (Linux /proc/self/smaps_rollup) and whether it imported scikit-learn; the
third, `saved_tables`, counts with the packed counter's tables as the model folder holds them (memory-mapped, the
vocabulary's strings never read), the other two build their counter from the vocabulary.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_ontology import distinct_perturbed_texts  # noqa: E402
from xmr_ncbi_disease import gold_mentions, train_and_evaluation_mentions  # noqa: E402

from spacy_xmr.atomic import atomic_open  # noqa: E402
from spacy_xmr.ontology import read_medic  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel  # noqa: E402
from spacy_xmr.xmr.ngram_counts import ngram_counter, sklearn_counter  # noqa: E402
from spacy_xmr.xmr.normalize import normalize_text  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COUNTERS = ("scikit_learn", "packed")
PROCESS_KINDS = (*COUNTERS, "saved_tables")


def use_counter(model: XMRModel, kind: str) -> None:
    """Make the model's two feature blocks count with `kind` (built from the vocabulary; "saved_tables": as loaded)."""
    if kind == "saved_tables":
        return
    for block in (model.featurizer.char_block, model.featurizer.word_block):
        vocabulary = {term: column for column, term in enumerate(block.vocabulary)}
        block.__dict__["_counter"] = (sklearn_counter(block.analyzer, block.ngram_range, vocabulary) if kind == "scikit_learn"
                                      else ngram_counter(block.analyzer, block.ngram_range, block.vocabulary))


def best_times(model: XMRModel, texts: list[str], repeats: int) -> dict:
    """Per counter: the best featurising and scoring times of `texts` over `repeats` turns, and the features' equality."""
    keys = [normalize_text(text) for text in texts]
    features, best = {}, {kind: {"featurise_s": float("inf"), "score_s": float("inf")} for kind in COUNTERS}
    for _ in range(repeats):
        for kind in COUNTERS:
            use_counter(model, kind)
            start = time.perf_counter()
            features[kind] = model.featurizer.transform(keys)
            best[kind]["featurise_s"] = min(best[kind]["featurise_s"], time.perf_counter() - start)
            start = time.perf_counter()
            model.score_matrix(texts, top_k=10)
            best[kind]["score_s"] = min(best[kind]["score_s"], time.perf_counter() - start)
    reference, packed = features["scikit_learn"], features["packed"]
    reference.sort_indices()
    same = (np.array_equal(reference.indptr, packed.indptr) and np.array_equal(reference.indices, packed.indices)
            and np.array_equal(reference.data, packed.data))
    for kind in COUNTERS:
        best[kind]["queries_per_s"] = len(texts) / best[kind]["score_s"]
    return {"n_queries": len(texts), "same_features": bool(same), **best,
            "featurise_speedup": best["scikit_learn"]["featurise_s"] / best["packed"]["featurise_s"],
            "queries_per_s_ratio": best["packed"]["queries_per_s"] / best["scikit_learn"]["queries_per_s"]}


def linking_process_memory(directory: Path, texts: list[str], kind: str) -> dict:
    """Memory of a fresh process that loads the model in `directory` and links `texts` counting with `kind`."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            "import time; from ngram_counting import use_counter; from spacy_xmr.xmr import XMRModel; start = time.perf_counter(); "
            f"model = XMRModel.load({str(directory)!r}, device='cpu'); use_counter(model, {kind!r}); "
            "model.score_matrix(json.loads(sys.stdin.read()), top_k=10); seconds = time.perf_counter() - start; "
            "fields = dict(line.split(':') for line in open('/proc/self/smaps_rollup') if ':' in line); "
            "print(json.dumps({name: int(fields[key].split()[0]) / 1024 for key, name in "
            "(('Rss', 'rss_mib'), ('Private_Clean', 'private_clean_mib'), ('Private_Dirty', 'private_dirty_mib'), ('Pss_Anon', 'pss_anon_mib'))} "
            "| {'imported_sklearn': 'sklearn' in sys.modules, 'load_and_link_s': seconds}))")
    result = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    figures["uss_mib"] = figures.pop("private_clean_mib") + figures.pop("private_dirty_mib")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "ngram_counting.json")
    args = parser.parse_args()
    ontology = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    train, _ = train_and_evaluation_mentions(args.data_dir, "ncbi_disease", "test")
    model = XMRModel.train(ontology, train, XMRConfig.from_dict({"calibration": {"folds": 0}}), progress=False)
    test = [mention.text for mention in gold_mentions(args.data_dir / "ncbi_disease" / "NCBItestset_corpus.txt")]
    perturbed = distinct_perturbed_texts(ontology, args.queries)
    model.score_matrix(test, top_k=10)  # the first call builds the lazy prediction structures
    results = {"machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()},
               "command": " ".join(sys.argv), "canonical_words": model.config.features.canonical_words,
               "vocabulary": {"char_wb": len(model.featurizer.char_block), "word": len(model.featurizer.word_block)},
               "ncbi_test_mentions": best_times(model, test, args.repeats),
               "perturbed_medic_names": best_times(model, perturbed, args.repeats)}
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory) / "model")
        results["linking_process_memory"] = {kind: linking_process_memory(Path(directory) / "model", test, kind) for kind in PROCESS_KINDS}
    with atomic_open(args.output, "w") as handle:
        json.dump(results, handle, indent=2)
    for name in ("ncbi_test_mentions", "perturbed_medic_names"):
        part = results[name]
        print(f"{name}: {part['n_queries']} queries, same features: {part['same_features']}; featurise "
              f"{part['scikit_learn']['featurise_s']:.3f} s -> {part['packed']['featurise_s']:.3f} s ({part['featurise_speedup']:.1f}x); "
              f"queries/s {part['scikit_learn']['queries_per_s']:.0f} -> {part['packed']['queries_per_s']:.0f} ({part['queries_per_s_ratio']:.2f}x)")
    for kind, figures in results["linking_process_memory"].items():
        print(f"a linking process counting with {kind}: RSS {figures['rss_mib']:.0f} MiB, USS {figures['uss_mib']:.0f} MiB, "
              f"anonymous PSS {figures['pss_anon_mib']:.0f} MiB, load and link {figures['load_and_link_s']:.2f} s, "
              f"scikit-learn imported: {figures['imported_sklearn']}")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
