"""How far the XMR model's confidence can be trusted, on NCBI Disease and BC5CDR (Disease) dev.

For each corpus: a model trained on the train split with the default config, its confidence calibrated out-of-fold
on the train mentions (so dev is held out from both the model and its calibrator), then on dev:

- expected calibration error (10 equal-width bins), the reliability diagram and the precision-coverage curve (PNG),
  the coverage at precision 0.9 / 0.95, precision and coverage at the linker's default threshold and at 0.9
  (spacy_xmr/calibration_metrics.py, which `spacy-xmr evaluate` and the project's `report` step use too);
- phrases that name no concept: chunks of the dev abstracts that overlap no annotation of any type, found by a
  rule-based chunker (maximal runs of 1-4 alphabetic tokens between stop words, punctuation and numbers: the
  content-word phrases of a sentence, a superset of its base noun phrases; no tagger or parser is installed), and
  the share of them that the default threshold links, against the share of gold mentions it keeps;
- NIL: a random 10 % of the concepts that dev mentions link to are removed from the ontology and the training
  mentions, a model is trained without them, and the confidence must tell the dev mentions whose concept is absent
  from the rest: AUROC, and NIL precision / recall at the default threshold.

    python benchmarks/calibration.py [--corpus ncbi_disease|bc5cdr] [--data ../shared/data] [--seeds N]

writes benchmarks/results/calibration_<corpus>.json, calibration_<corpus>_reliability.png and
calibration_<corpus>_precision_coverage.png, and prints the NIL figures. With `--seeds N` the whole run is repeated
with the seeds 0 … N-1 (the model's `seed`: its out-of-fold split and clustering; and the concepts the NIL experiment
removes), and `over_seeds` gives each headline figure's values, mean, min and max: the NIL figures rest on about 16
removed concepts, and one seed's split moves them by tenths. The figures and plots at the top level are seed 0's.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from spacy_xmr.atomic import atomic_open
from spacy_xmr.calibration_metrics import at_threshold, calibration_summary
from spacy_xmr.calibration_plots import precision_coverage_plot, reliability_diagram
from spacy_xmr.corpus import gold_linked_mentions, iter_mentions, read_corpus
from spacy_xmr.corpus.mention import Mention
from spacy_xmr.ontology import Ontology, read_medic
from spacy_xmr.pipeline.linker import DEFAULT_THRESHOLD
from spacy_xmr.xmr import XMRConfig, XMRModel
from spacy_xmr.xmr.confidence import evidence_and_outcomes

ROOT = Path(__file__).resolve().parent
CORPORA = {  # name: (train file, dev file, entity types)
    "ncbi_disease": ("ncbi_disease/NCBItrainset_corpus.txt", "ncbi_disease/NCBIdevelopset_corpus.txt", None),
    "bc5cdr": ("bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_DevelopmentSet.PubTator.txt", ["Disease"]),
}
MAX_CHUNK_TOKENS = 4
REMOVED_SHARE = 0.1


def chunks_of(text: str, annotated: list[tuple[int, int]], tokenizer) -> list[tuple[int, int]]:
    """Content-word runs of `text` (see the module docstring) that overlap no annotated span."""
    from spacy.lang.en.stop_words import STOP_WORDS

    runs, current = [], []
    for token in tokenizer(text):
        if token.is_alpha and token.lower_ not in STOP_WORDS:
            current.append(token)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    spans = [(run[0].idx, run[-1].idx + len(run[-1])) for run in runs if len(run) <= MAX_CHUNK_TOKENS]
    return [(s, e) for s, e in spans if not any(s < ae and as_ < e for as_, ae in annotated)]


def chunk_mentions(dev_path: Path) -> list[Mention]:
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    by_document: dict[str, list[Mention]] = {}
    for mention in iter_mentions(read_corpus(dev_path)):
        by_document.setdefault(mention.document_id, []).append(mention)
    out = []
    for document_id, mentions in by_document.items():
        text = mentions[0].document_text
        for index, (start, end) in enumerate(chunks_of(text, [(m.start, m.end) for m in mentions], tokenizer)):
            out.append(Mention(document_id, f"chunk{index}", start, end, text[start:end], document_text=text, passage_end=len(text)))
    return out


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def nil_experiment(ontology: Ontology, train: list[Mention], dev: list[Mention], seed: int) -> dict:
    linked = sorted({ontology.resolve(i) or i for m in dev for i in m.gold_ids})
    removed = set(random.Random(seed).sample(linked, int(round(REMOVED_SHARE * len(linked)))))

    def touches_removed(mention: Mention) -> bool:
        return any((ontology.resolve(i) or i) in removed for i in mention.gold_ids)

    kept_concepts = [c for c in ontology if c.id not in removed]
    smaller = Ontology([replace(c, parents=[p for p in c.parents if p not in removed]) for c in kept_concepts], name=ontology.name)
    model = XMRModel.train(smaller, [m for m in train if not touches_removed(m)], XMRConfig(seed=seed), progress=False)
    evidence = model.channel_scores(dev, top_k=10)
    confidence = np.array(model.confidence(evidence))
    absent = np.array([all((ontology.resolve(i) or i) in removed for i in m.gold_ids) for m in dev])
    predicted_nil = confidence < DEFAULT_THRESHOLD
    return {
        "n_concepts_removed": len(removed), "n_dev_concepts": len(linked), "n_mentions_absent": int(absent.sum()),
        "n_mentions_present": int((~absent).sum()), "auroc_present_vs_absent": auroc(confidence, ~absent),
        "nil_precision": float(absent[predicted_nil].mean()) if predicted_nil.any() else None,
        "nil_recall": float(predicted_nil[absent].mean()), "threshold": DEFAULT_THRESHOLD,
        "mean_confidence_absent": float(confidence[absent].mean()), "mean_confidence_present": float(confidence[~absent].mean()),
    }


def run(corpus: str, data: Path, seed: int, plots: bool) -> dict:
    train_file, dev_file, types = CORPORA[corpus]
    ontology = read_medic(data / "medic" / "CTD_diseases.tsv.gz")
    train, dev = gold_linked_mentions([data / train_file], types), gold_linked_mentions([data / dev_file], types)
    start = time.perf_counter()
    model = XMRModel.train(ontology, train, XMRConfig(seed=seed), progress=False)
    train_s = time.perf_counter() - start
    features, correct = evidence_and_outcomes(model, dev)
    confidence = model.calibrator.predict(features)
    chunks = chunk_mentions(data / dev_file)
    chunk_evidence = model.channel_scores(chunks, top_k=10)
    chunk_confidence = np.array(model.confidence(chunk_evidence))
    summary = calibration_summary(confidence, correct)
    if plots:
        title = f"{corpus} dev ({len(dev)} mentions)"
        reliability_diagram({"XMR confidence": summary}, ROOT / "results" / f"calibration_{corpus}_reliability.png", title)
        precision_coverage_plot({"XMR confidence": summary}, ROOT / "results" / f"calibration_{corpus}_precision_coverage.png", title)
    return {
        "corpus": corpus, "split": "dev", "seed": seed, "n_train_mentions": len(train), "n_dev_mentions": len(dev),
        "calibration": model.calibrator.fitted_on, "train_s_with_calibration": round(train_s, 1),
        "calibration_s": model.stats.get("calibration_s"), "acc_at_1": float(correct.mean()),
        "expected_calibration_error": summary["expected_calibration_error"], "dev_confidence": summary,
        "at_default_threshold": at_threshold(confidence, correct, DEFAULT_THRESHOLD), "at_0_9": at_threshold(confidence, correct, 0.9),
        "non_mention_chunks": {
            "chunker": f"maximal runs of 1-{MAX_CHUNK_TOKENS} alphabetic non-stop-word tokens (spaCy's English tokenizer and "
                       "STOP_WORDS), overlapping no annotation of any type",
            "n_chunks": len(chunks), "share_linked_at_default": float((chunk_confidence >= DEFAULT_THRESHOLD).mean()),
            "share_linked_without_threshold": float(np.mean([bool(c) for c in chunk_evidence])),
            "gold_mentions_kept_at_default": float((confidence >= DEFAULT_THRESHOLD).mean()),
            "examples_linked": [c.text for c, p in zip(chunks, chunk_confidence) if p >= DEFAULT_THRESHOLD][:15],
        },
        "nil": nil_experiment(ontology, train, dev, seed),
        "default_threshold": DEFAULT_THRESHOLD,
        "command": f"python benchmarks/calibration.py --corpus {corpus}",
    }


def summary_line(result: dict) -> str:
    """The figures issue 21 asks for, in one line: calibration, then what the default threshold does to phrases
    that name no concept and to mentions whose concept the ontology lacks."""
    chunks, nil = result["non_mention_chunks"], result["nil"]
    return (f"{result['corpus']} dev: ECE {result['expected_calibration_error']:.3f}; at threshold {result['default_threshold']}: "
            f"gold mentions kept {chunks['gold_mentions_kept_at_default']:.3f}, non-mention chunks linked "
            f"{chunks['share_linked_at_default']:.3f} (without a threshold {chunks['share_linked_without_threshold']:.3f}); "
            f"NIL AUROC {nil['auroc_present_vs_absent']:.3f}, NIL precision "
            f"{'none' if nil['nil_precision'] is None else format(nil['nil_precision'], '.3f')}, recall {nil['nil_recall']:.3f}")


SPREAD_FIGURES = {  # name: where it lies in one seed's result
    "expected_calibration_error": ("expected_calibration_error",),
    "coverage_at_0_9": ("at_0_9", "coverage"), "precision_at_0_9": ("at_0_9", "precision"),
    "non_mention_chunks_linked": ("non_mention_chunks", "share_linked_at_default"),
    "nil_auroc": ("nil", "auroc_present_vs_absent"), "nil_precision": ("nil", "nil_precision"), "nil_recall": ("nil", "nil_recall"),
}


def over_seeds(results: list[dict]) -> dict:
    """Each headline figure across the seeds' runs: the values in seed order, their mean, min and max."""
    spread = {"seeds": [result["seed"] for result in results]}
    for name, path in SPREAD_FIGURES.items():
        values = []
        for result in results:
            for key in path:
                result = result[key]
            values.append(result)
        known = [value for value in values if value is not None]  # NIL precision: None when nothing was called NIL
        spread[name] = {"values": values, "mean": float(np.mean(known)) if known else None,
                        "min": min(known, default=None), "max": max(known, default=None)}
    return spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append")
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, default=1, help="repeat the run with the seeds 0 ... N-1 (see the docstring)")
    args = parser.parse_args()
    for corpus in args.corpus or sorted(CORPORA):
        results = [run(corpus, args.data, seed, plots=seed == 0) for seed in range(args.seeds)]
        result = results[0]
        if args.seeds > 1:
            result = {**result, "over_seeds": over_seeds(results), "command": f"{result['command']} --seeds {args.seeds}"}
        with atomic_open(ROOT / "results" / f"calibration_{corpus}.json") as handle:
            json.dump(result, handle, indent=2)
        print(json.dumps({k: v for k, v in result.items() if k != "dev_confidence"}, indent=1))
        print(summary_line(result))


if __name__ == "__main__":
    main()
