"""Reranking BioC corpora: mentions with their XMR candidates in, reranked candidates out.

Reads and writes through `spacy_xmr.corpus` (and so `bioc`); kept out of `spacy_xmr.rerank.__init__`
so that training and scoring from plain Python objects need neither.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..atomic import refuse_to_overwrite_input
from ..corpus import Mention, get_candidates, iter_mentions, read_corpus, write_bioc, write_candidates
from ..corpus.documents import iter_annotations
from ..errors import SpacyXmrError
from ..ontology import read_ontology_file, with_corpus_concepts
from .config import RerankerConfig
from .reranker import Candidates, Reranker
from .train import train_reranker

logger = logging.getLogger(__name__)


def stored_candidates(collection) -> dict[tuple[str, str], Candidates]:
    """(document id, annotation id) -> the candidates stored in the annotation's infons."""
    return {(document.id, annotation.id): get_candidates(annotation)
            for document in collection.documents for _, annotation in iter_annotations(document)}


def candidates_for(mentions: list[Mention], source: str | Path, top_k: int) -> list[Candidates]:
    """Top-k candidates of each mention, from an XMR model directory (predicted now) or from a BioC
    corpus written by `apply-xmr` (matched by (document id, annotation id))."""
    source = Path(source)
    if source.is_dir():
        from ..xmr import XMRModel

        return XMRModel.load(source).predict_mentions(mentions, top_k=top_k)
    by_key = stored_candidates(read_corpus(source))
    found = [by_key.get((m.document_id, m.annotation_id)) for m in mentions]
    n_missing = sum(candidates is None for candidates in found)
    if mentions and n_missing == len(mentions):
        raise SpacyXmrError(f"{source}: none of the {len(mentions)} mentions has a (document id, annotation id) in this "
                            "candidate corpus; pass the output of `spacy-xmr apply-xmr` on the same corpus")
    if n_missing:
        logger.warning("%s: %d of %d mentions have no candidates there", source, n_missing, len(mentions))
    return [list(candidates or [])[:top_k] for candidates in found]


def train_reranker_from_files(config: RerankerConfig, train_corpus: Path, val_corpus: Path, candidates_from: Path,
                              ontology_path: Path, output_dir: Path, val_candidates_from: Path | None = None,
                              resume: bool = True, device: str = "auto", progress: bool = True) -> dict:
    """`train_reranker` on corpus files, with candidates from an XMR model directory or `apply-xmr` corpora.

    `val_candidates_from` defaults to `candidates_from` (an XMR model, or one corpus holding both splits).
    """
    train_mentions = list(iter_mentions(read_corpus(train_corpus)))
    ontology = with_corpus_concepts(read_ontology_file(ontology_path), train_mentions)  # as the XMR model learned them
    val_mentions = list(iter_mentions(read_corpus(val_corpus)))
    train_candidates = candidates_for(train_mentions, candidates_from, config.top_k)
    val_candidates = candidates_for(val_mentions, val_candidates_from or candidates_from, config.top_k)
    return train_reranker(config, train_mentions, train_candidates, val_mentions, val_candidates, ontology, output_dir,
                          resume=resume, progress=progress, device=device)


def apply_reranker(model_dir: Path, in_corpus: Path, out_corpus: Path, device: str = "auto", batch_size: int = 32,
                   progress: bool = True) -> dict:
    """Rerank the candidates stored in `in_corpus` and write the corpus with reranked candidates (atomically)."""
    refuse_to_overwrite_input(out_corpus, [in_corpus])
    reranker = Reranker.load(model_dir, device=device)
    collection = read_corpus(in_corpus)
    by_key = stored_candidates(collection)
    mentions = [m for m in iter_mentions(collection) if by_key.get((m.document_id, m.annotation_id))]
    candidates = [by_key[(m.document_id, m.annotation_id)] for m in mentions]
    reranked = reranker.rerank(mentions, candidates, batch_size=batch_size, progress=progress)
    write_bioc(write_candidates(collection, {(m.document_id, m.annotation_id): r for m, r in zip(mentions, reranked)}), out_corpus)
    return {"n_mentions": len(mentions), "n_without_candidates": len(by_key) - len(mentions), "device": str(reranker.device)}
