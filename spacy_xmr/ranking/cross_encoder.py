"""The ranker's `cross_encoder` feature group: a reranker's score of each (mention, candidate) pair.

At prediction the user's reranker (`spacy-xmr train-reranker`, trained on all their data) scores the lists. Its
scores of the training mentions' own lists would be better than any it gives an unseen mention, and the ranker
would learn to trust them too much. So the training lists are scored like the lists themselves are made: each
fold's by a cross-encoder with the reranker's settings trained on the other folds' lists only.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ..corpus.mention import Mention
from ..ontology import Ontology
from .training import fold_ontology, fold_splits

if TYPE_CHECKING:
    from ..rerank import Reranker, RerankerConfig
    from ..xmr import CandidateEvidence

SCORING_BATCH_SIZE = 64  # sequences per forward pass when scoring lists


def scores_of(reranker: "Reranker", mentions: Sequence[Mention], evidence: Sequence[Sequence["CandidateEvidence"]]) -> list[list[float]]:
    """The reranker's score of every candidate of every list, aligned with `evidence`."""
    return reranker.score(list(mentions), [[candidate.concept_id for candidate in candidates] for candidates in evidence],
                          batch_size=SCORING_BATCH_SIZE)


def fold_cross_encoders(ontology: Ontology, mentions: Sequence[Mention], candidate_ids: Sequence[Sequence[str]], folds: Sequence[int],
                        config: "RerankerConfig", corpus_concepts: bool, device: str = "auto",
                        progress: Callable[[str], None] | None = None) -> Iterator[tuple[list[int], "Reranker"]]:
    """For each fold: its mentions' indices and a cross-encoder trained on the other folds' lists (no validation: it
    trains `config.epochs` epochs), naming candidates from `ontology` with the other folds' corpus concepts when
    `corpus_concepts` (as their lists' XMR model did)."""
    from ..rerank import Reranker, train_reranker

    for fold, held_out, rest_mentions in fold_splits(mentions, folds):
        rest_lists = [[(c, 0.0) for c in ids] for ids, f in zip(candidate_ids, folds) if f != fold]
        with tempfile.TemporaryDirectory() as tmp:
            summary = train_reranker(config, rest_mentions, rest_lists, [], [], fold_ontology(ontology, rest_mentions, corpus_concepts),
                                     Path(tmp), resume=False, progress=False, device=device)
            reranker = Reranker.load(summary["model_dir"], device=device)
        if progress:
            progress(f"cross-encoder of fold {fold + 1}: trained on {len(rest_lists)} lists in {summary['train_seconds']:.0f} s")
        yield held_out, reranker


def out_of_fold_scores(ontology: Ontology, mentions: Sequence[Mention], evidence: Sequence[Sequence["CandidateEvidence"]],
                       folds: Sequence[int], config: "RerankerConfig", corpus_concepts: bool, device: str = "auto",
                       progress: Callable[[str], None] | None = None) -> list[list[float]]:
    """Every list's scores, aligned with `evidence`, from the cross-encoder of its fold (`fold_cross_encoders`)."""
    scores: list[list[float]] = [[] for _ in mentions]
    candidate_ids = [[candidate.concept_id for candidate in candidates] for candidates in evidence]
    for held_out, reranker in fold_cross_encoders(ontology, mentions, candidate_ids, folds, config, corpus_concepts, device, progress):
        for i, row in zip(held_out, scores_of(reranker, [mentions[i] for i in held_out], [evidence[i] for i in held_out])):
            scores[i] = row
    return scores
