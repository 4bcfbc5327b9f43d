"""Training the learned ranker on out-of-fold candidate lists.

A mention's candidates from an XMR model that was trained on it are too easy (its own string is an alias), so the
ranker would learn to trust the first candidate. Instead the training corpus's documents are dealt into folds, and
each fold's mentions get their lists, and their concept priors, from an XMR model and counts made without that fold.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..corpus.mention import Mention
from ..corpus.gold_rank import gold_concepts
from ..errors import ConfigError
from ..ontology import Ontology
from ..xmr import CandidateEvidence, XMRConfig, XMRModel, channel_weights
from .config import RankerConfig
from .features import ConceptFacts, concept_counts, feature_table, featurize
from .model import LearnedRanker, import_lightgbm

logger = logging.getLogger(__name__)


def ranked_channels(xmr_config: XMRConfig) -> list[str]:
    """The channels whose scores become features: every weighted channel, then the document channel."""
    return [*channel_weights(xmr_config.fusion), "document"]


@dataclass
class RankingExamples:
    """Features, binary relevance and list sizes of the mentions whose list holds a gold concept."""

    features: np.ndarray
    labels: np.ndarray
    group_sizes: list[int]
    n_mentions: int
    n_without_gold_candidate: int


def ranking_examples(mentions: Sequence[Mention], evidence: Sequence[Sequence[CandidateEvidence]], facts: ConceptFacts,
                     channels: Sequence[str]) -> RankingExamples:
    """The examples of one batch of lists; a list without any gold concept teaches no order and is left out."""
    useful = [i for i, candidates in enumerate(evidence)
              if gold_concepts(mentions[i].gold_ids, facts.ontology) & {c.concept_id for c in candidates}]
    kept_mentions, kept_lists = [mentions[i] for i in useful], [evidence[i] for i in useful]
    features = featurize(kept_mentions, kept_lists, facts, channels)
    labels = np.array([float(c.concept_id in gold_concepts(m.gold_ids, facts.ontology)) for m, cs in zip(kept_mentions, kept_lists)
                       for c in cs], dtype=np.float32)
    return RankingExamples(features, labels, [len(cs) for cs in kept_lists], len(mentions), len(mentions) - len(useful))


def document_folds(mentions: Sequence[Mention], folds: int) -> list[int]:
    """Each mention's fold: documents sorted by id and dealt round-robin, so a document's mentions share a fold."""
    documents = sorted({mention.document_id for mention in mentions})
    if len(documents) < folds:
        raise ConfigError(f"ranker config: folds = {folds}, but the training mentions come from {len(documents)} document(s); "
                          "lower folds or add documents")
    fold_of = {document: index % folds for index, document in enumerate(documents)}
    return [fold_of[mention.document_id] for mention in mentions]


def out_of_fold_examples(ontology: Ontology, mentions: Sequence[Mention], config: RankerConfig, xmr_config: XMRConfig,
                         progress: Callable[[str], None] = logger.info, n_jobs: int | None = None) -> RankingExamples:
    """The training examples: each fold's lists from an XMR model trained on the other folds' mentions."""
    mentions = [mention for mention in mentions if mention.gold_ids]
    fold_of = document_folds(mentions, config.folds)
    channels = ranked_channels(xmr_config)
    parts = []
    for fold in range(config.folds):
        held_out = [m for m, f in zip(mentions, fold_of) if f == fold]
        rest = [m for m, f in zip(mentions, fold_of) if f != fold]
        model = XMRModel.train(ontology, rest, xmr_config, progress=False, n_jobs=n_jobs)
        evidence = model.channel_scores(held_out, top_k=config.top_k)
        parts.append(ranking_examples(held_out, evidence, ConceptFacts(model.ontology, concept_counts(rest, model.ontology)), channels))
        progress(f"out-of-fold lists: fold {fold + 1}/{config.folds} ({len(held_out)} mentions)")
    return RankingExamples(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                           [size for p in parts for size in p.group_sizes], sum(p.n_mentions for p in parts),
                           sum(p.n_without_gold_candidate for p in parts))


def fit_ranker(examples: RankingExamples, config: RankerConfig, channels: Sequence[str], counts: dict[str, int]) -> LearnedRanker:
    """LightGBM with `config.objective` on the examples, one query group per mention (the ranking objectives use them)."""
    if not examples.group_sizes:
        raise ConfigError("no training mention has a gold concept among its candidates: nothing to learn a ranking from")
    lightgbm = import_lightgbm()
    dataset = lightgbm.Dataset(examples.features, examples.labels, group=examples.group_sizes,
                               feature_name=[f.name for f in feature_table(channels)], free_raw_data=False)
    booster = lightgbm.train(config.lightgbm_params(), dataset, num_boost_round=config.n_estimators)
    stats = {"n_training_mentions": examples.n_mentions, "n_lists_used": len(examples.group_sizes),
             "n_lists_without_gold_candidate": examples.n_without_gold_candidate, "n_pairs": int(len(examples.labels))}
    return LearnedRanker(config, booster, channels, counts, stats=stats)


def train_ranker(ontology: Ontology, mentions: Sequence[Mention], config: RankerConfig | None = None,
                 xmr_config: XMRConfig | None = None, progress: Callable[[str], None] | None = None,
                 n_jobs: int | None = None) -> LearnedRanker:
    """A ranker for XMR models trained with `xmr_config` on `ontology` and `mentions` (the gold-linked ones count);
    `progress` receives a line per fold (default: the log)."""
    config, xmr_config = config or RankerConfig(), xmr_config or XMRConfig()
    examples = out_of_fold_examples(ontology, mentions, config, xmr_config, progress or logger.info, n_jobs)
    gold = [mention for mention in mentions if mention.gold_ids]
    return fit_ranker(examples, config, ranked_channels(xmr_config), concept_counts(gold, ontology))
