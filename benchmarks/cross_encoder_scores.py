"""Out-of-fold cross-encoder scores of the learned ranker's candidate lists: its `cross_encoder` feature group.

    python benchmarks/cross_encoder_scores.py --dataset ncbi_disease --split dev --encoder benchmarks/work/minilm \\
        --device cuda        # → benchmarks/work/cross_encoder_scores_ncbi_disease_dev.json

Reads the lists that `benchmarks/rank_ncbi_disease.py` caches under benchmarks/work/ (the training mentions'
out-of-fold lists, and the evaluation mentions' lists) and MEDIC; needs torch and transformers, not spaCy, so that it
runs on a GPU machine. A cross-encoder scoring the lists of mentions it was trained on would score them as no
unseen mention is scored, and the ranker would learn to trust it too much. So the training mentions' documents are
dealt into `--folds` folds; for each, a cross-encoder trained on the other folds' lists scores that fold's lists,
and the evaluation lists are scored by every fold's cross-encoder, their scores averaged (no cross-encoder sees an
evaluation document). Each fold's cross-encoder names the candidates with the corpus concepts of the mentions it
may see (as `examples_of_lists` does for the ranker's priors). The cross-encoder is the base crosstype with the
settings of docs/reranking.md (MiniLM-L6, 3 epochs, lr 1e-4, 2 synonyms per candidate).
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work"
sys.path.insert(0, str(REPO))

from spacy_xmr.atomic import atomic_open  # noqa: E402
from spacy_xmr.corpus.mention import Mention  # noqa: E402
from spacy_xmr.ontology import read_medic, with_corpus_concepts  # noqa: E402
from spacy_xmr.ranking.cross_encoder import fold_cross_encoders  # noqa: E402
from spacy_xmr.ranking.training import fold_of_documents  # noqa: E402
from spacy_xmr.rerank import RerankerConfig  # noqa: E402


def read_lists(path: Path) -> tuple[list[Mention], list[list[str]]]:
    """The mentions of a cached list file and their candidates' concept ids."""
    with gzip.open(path, "rt", encoding="utf8") as handle:
        data = json.load(handle)
    return [Mention(**fields) for fields in data["mentions"]], [[candidate[0] for candidate in ranked] for ranked in data["evidence"]]


def with_ontology(reranker, ontology):
    """The same cross-encoder naming candidates from `ontology`."""
    from spacy_xmr.rerank import Reranker

    return Reranker(reranker.config, reranker.tokenizer, reranker.model, ontology, reranker.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--dataset", choices=("ncbi_disease", "bc5cdr_disease"), default="ncbi_disease")
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="the rank benchmark's run whose lists to score")
    parser.add_argument("--top-k", type=int, default=10, help="the lists' K (their cached file names carry it)")
    parser.add_argument("--lists-folds", type=int, default=5, help="folds of the cached out-of-fold lists (their file names carry it)")
    parser.add_argument("--folds", type=int, default=3, help="folds of the cross-encoders, by document")
    parser.add_argument("--encoder", type=Path, required=True, help="encoder directory or Hugging Face name")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=WORK, help="where the cached lists are")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    name = f"{args.dataset}_{args.split}"
    train, train_ids = read_lists(args.work / f"rank_lists_{name}_k{args.top_k}_f{args.lists_folds}.json.gz")
    evaluation, evaluation_ids = read_lists(args.work / f"rank_lists_{name}_evaluation_k{args.top_k}.json.gz")
    medic = read_medic(args.data_dir / "medic" / "CTD_diseases.tsv.gz")
    fold_of = fold_of_documents([m.document_id for m in train], args.folds)
    config = RerankerConfig(crosstype="base", model_name=str(args.encoder), top_k=args.top_k, epochs=args.epochs, batch_size=16,
                            lr=args.lr, n_synonyms=2, seed=args.seed)
    train_scores: list[list[float]] = [[] for _ in train]
    evaluation_sums = [[0.0] * len(ids) for ids in evaluation_ids]
    evaluation_ontology = with_corpus_concepts(medic, train)
    seconds, start = [], time.perf_counter()
    for held_out, reranker in fold_cross_encoders(medic, train, train_ids, [fold_of[m.document_id] for m in train], config,
                                                  corpus_concepts=True, device=args.device, progress=print):
        for i, scores in zip(held_out, reranker.score([train[i] for i in held_out], [train_ids[i] for i in held_out], batch_size=64)):
            train_scores[i] = scores
        for sums, scores in zip(evaluation_sums, with_ontology(reranker, evaluation_ontology).score(evaluation, evaluation_ids,
                                                                                                      batch_size=64)):
            sums[:] = [total + score for total, score in zip(sums, scores)]
        seconds.append(round(time.perf_counter() - start, 1))
        start = time.perf_counter()
    import torch

    result = {"command": "python benchmarks/cross_encoder_scores.py " + " ".join(sys.argv[1:]), "dataset": args.dataset,
              "split": args.split, "folds": args.folds, "fold_seconds": seconds, "epochs": args.epochs, "lr": args.lr,
              "device": torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else "cpu",
              "train_keys": [list(m.key) for m in train], "evaluation_keys": [list(m.key) for m in evaluation],
              "train": train_scores, "evaluation": [[total / args.folds for total in sums] for sums in evaluation_sums]}
    output = args.output or args.work / f"cross_encoder_scores_{name}.json"
    with atomic_open(output) as handle:
        json.dump(result, handle)
    print(f"written to {output}")


if __name__ == "__main__":
    main()
