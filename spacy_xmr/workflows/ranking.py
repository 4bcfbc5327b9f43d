"""File-level workflows behind `spacy-xmr train-ranker` and `apply-ranker`, usable from Python too."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import bioc

from ..atomic import refuse_to_overwrite_input
from ..corpus import gold_linked_mentions, read_corpus, write_bioc, write_candidates
from ..corpus.mentions import mentions_to_link
from ..evaluation import evaluate_candidates
from ..evaluation_checks import mark_what_the_model_learned
from ..ontology import read_ontology_file
from ..ranking import LearnedRanker, RankerConfig, train_ranker
from ..xmr import XMRConfig, XMRModel


def train_ranker_from_files(ontology_path: str | Path, train_paths: Sequence[str | Path], xmr_config: XMRConfig,
                            config: RankerConfig | None = None, entity_types: list[str] | None = None,
                            progress: Callable[[str], None] | None = None, reranker: str | Path | None = None,
                            device: str = "auto") -> LearnedRanker:
    """A ranker for XMR models trained with `xmr_config` on the ontology and the gold-linked training corpora (with the
    cross-encoder feature group when `reranker` names a reranker directory)."""
    mentions = gold_linked_mentions(train_paths, entity_types)
    return train_ranker(read_ontology_file(ontology_path), mentions, config, xmr_config, progress, reranker=reranker, device=device)


def evaluate_ranker(xmr: XMRModel, ranker: LearnedRanker, corpus_path: str | Path, beam_size: int | None = None,
                    entity_types: list[str] | None = None) -> dict[str, dict]:
    """{"xmr": ..., "ranker": ...}: acc@1, R@k and MRR (lenient) of the same top-k lists, in the XMR stage's order and
    in the ranker's."""
    mentions = gold_linked_mentions([corpus_path], entity_types)
    evidence = xmr.channel_scores(mentions, top_k=ranker.config.top_k, beam_size=beam_size)
    orders = {"xmr": [[(c.concept_id, c.score) for c in candidates] for candidates in evidence],
              "ranker": ranker.rank(mentions, evidence, xmr.ontology)}
    ks = [k for k in (1, 5, 10) if k <= ranker.config.top_k]
    return {name: evaluate_candidates(mentions, {m.key: r for m, r in zip(mentions, ranked)}, xmr.ontology, ks)
            for name, ranked in orders.items()}


def apply_ranker_to_corpus(xmr: XMRModel, ranker: LearnedRanker, in_path: str | Path, out_path: str | Path,
                           beam_size: int | None = None, entity_types: list[str] | None = None) -> bioc.BioCCollection:
    """Write the corpus as BioC XML with every annotation (of `entity_types`; the others as they are) given its candidates
    in the ranker's order (and the ranker's confidence when it is calibrated), and what the XMR model learned from (as
    `apply-xmr` does); returns what it wrote."""
    refuse_to_overwrite_input(Path(out_path), [Path(in_path)])
    collection = read_corpus(Path(in_path))
    mentions = mentions_to_link(collection, entity_types, Path(in_path))
    ranked, confidences = ranker.rank_with(xmr, mentions, beam_size=beam_size)
    confidences = confidences or []  # none when the ranker is not calibrated
    result = write_candidates(collection, {m.key: r for m, r in zip(mentions, ranked)}, {m.key: c for m, c in zip(mentions, confidences)})
    mark_what_the_model_learned(result, mentions, xmr, confidence_is_the_models=False)  # the confidence is the ranker's
    write_bioc(result, out_path)
    return result
