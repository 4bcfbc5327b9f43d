"""Reranking BioC corpora: mentions with their XMR candidates in, reranked candidates out.

Candidates come from an XMR model folder (predicted now) or from a BioC corpus written by `apply-xmr`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from ..atomic import refuse_to_overwrite_input, refuse_to_replace_other_folder
from ..corpus import Mention, get_candidates, iter_mentions, read_corpus, write_bioc, write_candidates
from ..corpus.bioc_documents import iter_annotations
from ..corpus.mention import Candidates
from ..device import resolve_device
from ..errors import ConfigError, SpacyXmrError
from ..evaluation_checks import require_candidate_infons
from ..ontology import Ontology, read_ontology_file, with_corpus_concepts
from ..rerank import Reranker, RerankerConfig, train_reranker
from ..rerank.train import TRAINING_MARKERS
from ..xmr import XMRModel

logger = logging.getLogger(__name__)


def stored_candidates(collection) -> dict[tuple[str, str], Candidates]:
    """(document id, annotation id) -> the candidates stored in the annotation's infons."""
    return {(document.id, annotation.id): get_candidates(annotation)
            for document in collection.documents for _, annotation in iter_annotations(document)}


def open_candidate_source(path: str | Path) -> XMRModel | Path:
    """An XMR model folder, loaded; a candidate corpus, as its path."""
    path = Path(path)
    return XMRModel.load(path) if path.is_dir() else path


def candidates_for(mentions: list[Mention], source: XMRModel | Path, top_k: int) -> list[Candidates]:
    """Top-k candidates of each mention: predicted by an XMR model, or read from a BioC corpus written by
    `apply-xmr` (matched by (document id, annotation id))."""
    if isinstance(source, XMRModel):
        return source.predict_mentions(mentions, top_k=top_k)
    by_key = stored_candidates(read_corpus(source))
    found = [by_key.get(m.key) for m in mentions]
    n_missing = sum(candidates is None for candidates in found)
    if mentions and n_missing == len(mentions):
        raise SpacyXmrError(f"{source}: none of the {len(mentions)} mentions has a (document id, annotation id) in this "
                            "candidate corpus; pass the output of `spacy-xmr apply-xmr` on the same corpus")
    if n_missing:
        logger.warning("%s: %d of %d mentions have no candidates there", source, n_missing, len(mentions))
    return [list(candidates or [])[:top_k] for candidates in found]


def candidate_ontology(sources: Sequence[XMRModel | Path], ontology_path: Path | None, train_mentions: list[Mention],
                       candidates: Sequence[Candidates]) -> Ontology:
    """The concepts the candidates were ranked from: an XMR model's own ontology (holding the corpus concepts it
    learned, and only those); without a model, the ontology file plus the training corpus's concepts that some
    stored candidate names."""
    model = next((source for source in sources if isinstance(source, XMRModel)), None)
    if model is not None:
        return model.ontology
    if ontology_path is None:
        raise ConfigError("the candidates come from corpora, not an XMR model folder: pass the ontology they were "
                          "ranked from (--ontology)")
    ontology = read_ontology_file(ontology_path)
    named = {concept_id for ranked in candidates for concept_id, _ in ranked if ontology.resolve(concept_id) is None}
    return with_corpus_concepts(ontology, [m for m in train_mentions if named.intersection(m.gold_ids)])


def train_reranker_from_files(config: RerankerConfig, train_corpus: Path, val_corpus: Path, candidates_from: Path,
                              ontology_path: Path | None, output_dir: Path, val_candidates_from: Path | None = None,
                              resume: bool = True, device: str = "auto", progress: bool = True) -> dict:
    """`train_reranker` on corpus files, with candidates from an XMR model folder or `apply-xmr` corpora.

    `val_candidates_from` defaults to `candidates_from` (an XMR model, or one corpus holding both splits);
    `ontology_path` is needed only when no XMR model folder is given. The validation corpus also calibrates the
    reranker's confidence (`spacy_xmr.rerank.confidence`).
    """
    local_encoder = Path(config.model_name) if Path(config.model_name).is_dir() else None
    refuse_to_overwrite_input(Path(output_dir), [train_corpus, val_corpus, candidates_from, val_candidates_from, ontology_path,
                                                 local_encoder], replaced_whole=False)  # it adds to the folder
    refuse_to_replace_other_folder(Path(output_dir), TRAINING_MARKERS)
    device = resolve_device(device)  # a wrong device fails before the corpora and the XMR model load
    train_mentions = list(iter_mentions(read_corpus(train_corpus)))
    val_mentions = list(iter_mentions(read_corpus(val_corpus)))
    train_source = open_candidate_source(candidates_from)
    val_source = train_source if val_candidates_from is None else open_candidate_source(val_candidates_from)
    train_candidates = candidates_for(train_mentions, train_source, config.top_k)
    val_candidates = candidates_for(val_mentions, val_source, config.top_k)
    ontology = candidate_ontology([train_source, val_source], ontology_path, train_mentions, train_candidates + val_candidates)
    return train_reranker(config, train_mentions, train_candidates, val_mentions, val_candidates, ontology, output_dir,
                          resume=resume, progress=progress, device=device)


def apply_reranker(model_dir: Path, in_corpus: Path, out_corpus: Path, device: str = "auto", batch_size: int = 32,
                   progress: bool = True) -> dict:
    """Rerank the candidates stored in `in_corpus` and write the corpus with reranked candidates (atomically), each
    with the reranker's confidence when it is calibrated (else without one: the XMR stage's was about its own top)."""
    refuse_to_overwrite_input(out_corpus, [in_corpus])
    collection = read_corpus(in_corpus)
    require_candidate_infons(collection, in_corpus)  # a gold file given by mistake fails before the model loads
    reranker = Reranker.load(model_dir, device=device)
    by_key = stored_candidates(collection)
    mentions = [m for m in iter_mentions(collection) if by_key.get(m.key)]
    candidates = [by_key[m.key] for m in mentions]
    problem = reranker.list_length_problem(candidates)
    if problem:
        logger.warning("%s: %s (apply-xmr --top-k %d)", in_corpus, problem, reranker.config.top_k)
    reranked = reranker.rerank(mentions, candidates, batch_size=batch_size, progress=progress)
    confidence = reranker.confidence(candidates, reranked)
    confidences = {} if confidence is None else {m.key: value for m, value in zip(mentions, confidence)}
    write_bioc(write_candidates(collection, {m.key: r for m, r in zip(mentions, reranked)}, confidences), out_corpus)
    return {"n_mentions": len(mentions), "n_without_candidates": len(by_key) - len(mentions), "device": str(reranker.device),
            "calibrated": confidence is not None}
