"""Training the learned ranker on out-of-fold candidate lists.

A mention's candidates from an XMR model that was trained on it are too easy (its own string is an alias), so the
ranker would learn to trust the first candidate. Instead the training corpus's documents are dealt into folds, and
each fold's mentions get their lists, and their concept priors, from an XMR model and counts made without that fold.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from ..calibration import Calibrator
from ..corpus.gold_rank import gold_concepts
from ..corpus.mention import Mention
from ..corpus.repeats import document_identities
from ..errors import ConfigError, SpacyXmrError
from ..ontology import Ontology, with_corpus_concepts
from ..xmr import CandidateEvidence, XMRConfig, XMRModel, channel_weights
from .config import RankerConfig
from .confidence import FEATURE_NAMES as CONFIDENCE_FEATURES
from .confidence import feature_matrix
from .features import ConceptFacts, concept_counts, feature_table, featurize
from .model import LearnedRanker, import_lightgbm

if TYPE_CHECKING:
    from ..rerank import Reranker

logger = logging.getLogger(__name__)


def ranked_channels(xmr_config: XMRConfig) -> list[str]:
    """The channels whose scores become features: every weighted channel, then the document channel."""
    return [*channel_weights(xmr_config.fusion), "document"]


@dataclass
class RankingExamples:
    """Features and binary relevance of every non-empty out-of-fold list, with each list's size and document.

    The lists holding a gold concept train the ranker (a list without one teaches no order); all of them fit its
    confidence, since at test time such a list's first candidate is wrong too."""

    features: np.ndarray
    labels: np.ndarray
    group_sizes: list[int]
    documents: list[str]  # each list's document (a repeated document named as the one it repeats: `document_identities`)
    n_mentions: int
    with_cross_encoder: bool = False

    @property
    def has_gold(self) -> np.ndarray:
        """Per list: whether it holds a gold concept."""
        bounds = np.cumsum([0, *self.group_sizes])
        return np.maximum.reduceat(self.labels, bounds[:-1]) > 0 if self.group_sizes else np.zeros(0, dtype=bool)

    @property
    def n_without_gold_candidate(self) -> int:
        return self.n_mentions - int(self.has_gold.sum())

    def lists(self, keep: np.ndarray) -> "RankingExamples":
        """The examples of the lists where `keep` is true."""
        rows = np.repeat(keep, self.group_sizes)
        return RankingExamples(self.features[rows], self.labels[rows], [size for size, k in zip(self.group_sizes, keep) if k],
                               [document for document, k in zip(self.documents, keep) if k], int(keep.sum()), self.with_cross_encoder)

    @classmethod
    def concatenated(cls, parts: Sequence["RankingExamples"]) -> "RankingExamples":
        return cls(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                   [size for p in parts for size in p.group_sizes], [d for p in parts for d in p.documents],
                   sum(p.n_mentions for p in parts), any(p.with_cross_encoder for p in parts))


def ranking_examples(mentions: Sequence[Mention], evidence: Sequence[Sequence[CandidateEvidence]], facts: ConceptFacts,
                     channels: Sequence[str], cross_encoder: Sequence[Sequence[float]] | None = None) -> RankingExamples:
    """The examples of one batch of lists (a mention without candidates gives none, but counts in `n_mentions`);
    `cross_encoder`: a cross-encoder score per candidate, aligned with `evidence`, for its feature group."""
    kept = [i for i, candidates in enumerate(evidence) if candidates]
    kept_mentions, kept_lists = [mentions[i] for i in kept], [evidence[i] for i in kept]
    kept_scores = None if cross_encoder is None else [cross_encoder[i] for i in kept]
    labels = np.array([float(c.concept_id in gold_concepts(m.gold_ids, facts.ontology)) for m, cs in zip(kept_mentions, kept_lists)
                       for c in cs], dtype=np.float32)
    return RankingExamples(featurize(kept_mentions, kept_lists, facts, channels, kept_scores), labels, [len(cs) for cs in kept_lists],
                           document_identities(kept_mentions), len(mentions), cross_encoder is not None)


def fold_of_documents(documents: Sequence[str], folds: int) -> dict[str, int]:
    """Each document's fold: documents sorted by id and dealt round-robin."""
    return {document: index % folds for index, document in enumerate(sorted(set(documents)))}


def document_folds(mentions: Sequence[Mention], folds: int) -> list[int]:
    """Each mention's fold, a document's mentions sharing one (`fold_of_documents`), and a repeated document's
    mentions the fold of the document it repeats."""
    documents = document_identities(mentions)
    if len(set(documents)) < folds:
        raise ConfigError(f"ranker config: folds = {folds}, but the training mentions come from {len(set(documents))} document(s); "
                          "lower folds or add documents")
    fold_of = fold_of_documents(documents, folds)
    return [fold_of[document] for document in documents]


def fold_splits(mentions: Sequence[Mention], folds: Sequence[int]) -> Iterator[tuple[int, list[int], list[Mention]]]:
    """For each fold in order: the fold, the indices of its mentions, and the other folds' mentions."""
    for fold in sorted(set(folds)):
        yield fold, [i for i, f in enumerate(folds) if f == fold], [m for m, f in zip(mentions, folds) if f != fold]


def fold_ontology(ontology: Ontology, rest: Sequence[Mention], corpus_concepts: bool) -> Ontology:
    """The ontology a fold's XMR model had: with the other folds' corpus concepts when `training.corpus_concepts`."""
    return with_corpus_concepts(ontology, rest) if corpus_concepts else ontology


@dataclass
class OutOfFoldLists:
    """The training mentions with their document fold and their candidate lists from an XMR model trained on the
    other folds: what the ranker's examples are featurised from (kept apart so that features can change without
    training the fold models again)."""

    mentions: list[Mention]
    folds: list[int]
    evidence: list[list[CandidateEvidence]]


def out_of_fold_lists(ontology: Ontology, mentions: Sequence[Mention], config: RankerConfig, xmr_config: XMRConfig,
                      progress: Callable[[str], None] = logger.info, n_jobs: int | None = None) -> OutOfFoldLists:
    """Each gold-linked mention's top `config.top_k` list from an XMR model trained on the other folds' mentions."""
    mentions = [mention for mention in mentions if mention.gold_ids]
    fold_of = document_folds(mentions, config.folds)
    fold_config = replace(xmr_config, calibration=replace(xmr_config.calibration, folds=0))  # the lists do not read its confidence
    evidence: list[list[CandidateEvidence]] = [[] for _ in mentions]
    for fold, held_out, rest in fold_splits(mentions, fold_of):
        model = XMRModel.train(ontology, rest, fold_config, progress=False, n_jobs=n_jobs)
        for i, candidates in zip(held_out, model.channel_scores([mentions[i] for i in held_out], top_k=config.top_k)):
            evidence[i] = candidates
        progress(f"out-of-fold lists: fold {fold + 1}/{config.folds} ({len(held_out)} mentions)")
    return OutOfFoldLists(mentions, fold_of, evidence)


def examples_of_lists(ontology: Ontology, lists: OutOfFoldLists, xmr_config: XMRConfig,
                      cross_encoder: Sequence[Sequence[float]] | None = None) -> RankingExamples:
    """The examples of out-of-fold lists, each fold's concept facts (priors) counted without that fold, on the
    ontology its XMR model had (with the other folds' corpus concepts when `training.corpus_concepts`).
    `cross_encoder`: a score per candidate of `lists`, from cross-encoders that never saw the mention's document."""
    channels = ranked_channels(xmr_config)
    parts = []
    for _, held_out, rest in fold_splits(lists.mentions, lists.folds):
        concepts = fold_ontology(ontology, rest, xmr_config.training.corpus_concepts)
        facts = ConceptFacts(concepts, concept_counts(rest, concepts))
        parts.append(ranking_examples([lists.mentions[i] for i in held_out], [lists.evidence[i] for i in held_out], facts, channels,
                                      None if cross_encoder is None else [cross_encoder[i] for i in held_out]))
    return RankingExamples.concatenated(parts)


def fit_booster(examples: RankingExamples, config: RankerConfig, channels: Sequence[str]):
    """LightGBM with `config.objective` on the lists that hold a gold concept, one query group per mention (the
    ranking objectives use them)."""
    training = examples.lists(examples.has_gold)
    if not training.group_sizes:
        raise ConfigError("no training mention has a gold concept among its candidates: nothing to learn a ranking from")
    lightgbm = import_lightgbm()
    dataset = lightgbm.Dataset(training.features, training.labels, group=training.group_sizes,
                               feature_name=[f.name for f in feature_table(channels, training.with_cross_encoder)], free_raw_data=False)
    return lightgbm.train(config.lightgbm_params(), dataset, num_boost_round=config.n_estimators)


def fit_calibrator(examples: RankingExamples, config: RankerConfig, channels: Sequence[str]) -> Calibrator | None:
    """The ranker's confidence, fitted on every list as scored by a ranker trained without its fold of documents
    (`config.calibration_folds` of them); None when asked for none, or too few lists (logged)."""
    if not config.calibration_folds:
        return None
    fold_of = fold_of_documents(examples.documents, config.calibration_folds)
    folds = np.array([fold_of[document] for document in examples.documents])
    fused_column = [f.name for f in feature_table(channels)].index("fused_score")
    features, correct = [], []
    for fold in range(config.calibration_folds):
        held_out = examples.lists(folds == fold)
        try:
            booster = fit_booster(examples.lists(folds != fold), config, channels)
        except ConfigError as err:
            logger.warning("ranker without calibration: %s", err)
            return None
        raw = booster.predict(held_out.features, raw_score=True, num_threads=1)
        features.append(feature_matrix(raw, held_out.features[:, fused_column].astype(np.float64), held_out.group_sizes))
        bounds = np.cumsum([0, *held_out.group_sizes])
        correct += [held_out.labels[start + int(np.argmax(raw[start:end]))] > 0 for start, end in zip(bounds[:-1], bounds[1:])]
    try:
        return Calibrator.fit(np.vstack(features), np.array(correct), CONFIDENCE_FEATURES, "out-of-fold")
    except SpacyXmrError as err:
        logger.warning("ranker without calibration: %s; its confidence is unavailable", err)
        return None


def fit_ranker(examples: RankingExamples, config: RankerConfig, channels: Sequence[str], counts: dict[str, int],
               cross_encoder: "Reranker | None" = None) -> LearnedRanker:
    """The ranker on all the examples, with its confidence's calibrator (`fit_calibrator`); `cross_encoder`, the
    reranker whose scores the examples hold, scores the lists the ranker ranks."""
    booster = fit_booster(examples, config, channels)
    has_gold = examples.has_gold
    stats = {"n_training_mentions": examples.n_mentions, "n_lists_used": int(has_gold.sum()),
             "n_lists_without_gold_candidate": examples.n_without_gold_candidate,
             "n_pairs": int(np.repeat(has_gold, examples.group_sizes).sum())}
    return LearnedRanker(config, booster, channels, counts, examples.with_cross_encoder, stats,
                         fit_calibrator(examples, config, channels), cross_encoder)


def train_ranker(ontology: Ontology, mentions: Sequence[Mention], config: RankerConfig | None = None,
                 xmr_config: XMRConfig | None = None, progress: Callable[[str], None] | None = None,
                 n_jobs: int | None = None, reranker: str | Path | None = None, device: str = "auto") -> LearnedRanker:
    """A ranker for XMR models trained with `xmr_config` on `ontology` and `mentions` (the gold-linked ones count);
    `progress` receives a line per fold (default: the log). With `reranker` (a directory of `spacy-xmr
    train-reranker`), its cross-encoder's scores become features: the training lists are scored by cross-encoders of
    its settings trained without their fold (`cross_encoder.py`, on `device`), and the ranker keeps the reranker to
    score the lists it ranks."""
    config, xmr_config, progress = config or RankerConfig(), xmr_config or XMRConfig(), progress or logger.info
    lists = out_of_fold_lists(ontology, mentions, config, xmr_config, progress, n_jobs)
    cross_encoder, scores = None, None
    if reranker is not None:
        from ..rerank import Reranker
        from .cross_encoder import out_of_fold_scores

        cross_encoder = Reranker.load(reranker, device=device)
        scores = out_of_fold_scores(ontology, lists.mentions, lists.evidence, lists.folds, cross_encoder.config,
                                    xmr_config.training.corpus_concepts, device, progress)
    gold = [mention for mention in mentions if mention.gold_ids]
    return fit_ranker(examples_of_lists(ontology, lists, xmr_config, scores), config, ranked_channels(xmr_config),
                      concept_counts(gold, ontology), cross_encoder)
