"""The XMR stage's confidence: what its `Calibrator` (`..calibration`) reads about a mention's candidates, and how
it is fitted when the model is trained.

Evidence: the top candidate's fused score, its margin to the second, and the score of each channel that found the
top candidate (0 where it did not). On NCBI Disease dev these gave an expected calibration error of 0.029 where
0/1 flags of the channels that found it gave 0.042 (benchmarks/calibration.py). The calibrator is fitted on mentions that the model did not learn from: a
validation corpus when one is given, else the training mentions out-of-fold (`calibration.folds` models, each
trained without one fold of documents, rank that fold). A model trained on names alone has no such mentions and
no calibrator; its confidence is unavailable (None).
"""
from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..calibration import Calibrator
from ..corpus.gold_rank import rank_of
from ..corpus.repeats import document_identities, shared_documents_warning
from ..corpus.types import counts_by_type, type_name
from ..errors import SpacyXmrError
from .fusion import CandidateEvidence
from .normalize import normalize_text

if TYPE_CHECKING:
    from ..corpus.mention import Mention
    from ..ontology import Ontology
    from .config import XMRConfig
    from .model import XMRModel

logger = logging.getLogger(__name__)

EVIDENCE_CHANNELS = ("tree", "exact", "word_key", "nearest", "dense", "parent", "document")
FEATURE_NAMES = ("top_score", "margin", *(f"{channel}_score" for channel in EVIDENCE_CHANNELS))
CALIBRATION_TOP_K = 10  # candidates ranked per mention while fitting (the features read the first two)
CONFIDENCE_CANDIDATES = 2  # the features read the top candidate's margin to the second, whatever list a caller keeps
NAMES_FROM_MENTIONS = 0.95  # a share of exact names no curated ontology gives (MEDIC: 0.63 of NCBI Disease, 0.58 of BC5CDR)


def confidence_features(candidates: Sequence[CandidateEvidence]) -> list[float]:
    """One mention's evidence about its top candidate, in the order of FEATURE_NAMES (all 0 without candidates)."""
    if not candidates:
        return [0.0] * len(FEATURE_NAMES)
    top = candidates[0]
    second = candidates[1].score if len(candidates) > 1 else 0.0
    return [top.score, top.score - second, *(top.channels.get(channel, 0.0) for channel in EVIDENCE_CHANNELS)]


def confidences(calibrator: Calibrator, evidence: Sequence[Sequence[CandidateEvidence]]) -> list[float]:
    """The probability that each mention's top candidate is right (0 for a mention without candidates)."""
    if not evidence:
        return []
    probabilities = calibrator.predict(np.array([confidence_features(candidates) for candidates in evidence]))
    return [float(p) if candidates else 0.0 for p, candidates in zip(probabilities, evidence)]


def evidence_and_outcomes(model: "XMRModel", mentions: Sequence["Mention"]) -> tuple[np.ndarray, np.ndarray]:
    """The features of each mention's candidates and whether its top candidate is one of its gold ids."""
    evidence = model.channel_scores(list(mentions), top_k=CALIBRATION_TOP_K)
    features = np.array([confidence_features(candidates) for candidates in evidence], dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
    correct = np.array([rank_of([(c.concept_id, c.score) for c in candidates], mention.gold_ids, model.ontology) == 1
                        for candidates, mention in zip(evidence, mentions)], dtype=bool)
    return features, correct


def document_folds(mentions: Sequence["Mention"], folds: int, seed: int) -> list[list["Mention"]]:
    """The mentions in `folds` groups of whole documents (an abbreviation's definition and the document channel's
    evidence stay with their mentions; a repeated document with the one it repeats), documents shuffled by `seed`."""
    identities = document_identities(mentions)  # a repeated document goes with the one it repeats
    documents = sorted(set(identities))
    random.Random(seed).shuffle(documents)
    fold_of = {document: index % folds for index, document in enumerate(documents)}
    groups: list[list["Mention"]] = [[] for _ in range(folds)]
    for mention, identity in zip(mentions, identities):
        groups[fold_of[identity]].append(mention)
    return groups


def exact_name_share(ontology: "Ontology", mentions: Sequence["Mention"]) -> float:
    """The share of `mentions` linked to a concept of `ontology` whose text is, normalised, a name or synonym of it."""
    names: dict[str, set[str]] = {}  # a concept's normalised names, made once however many mentions it has

    def names_of(concept_id: str) -> set[str]:
        if concept_id not in names:
            concept = ontology[concept_id]
            names[concept_id] = {normalize_text(name) for name in (concept.name, *concept.synonyms)}
        return names[concept_id]

    n_linked = n_named = 0
    for mention in mentions:
        concept_ids = [concept_id for concept_id in map(ontology.resolve, mention.gold_ids) if concept_id is not None]
        if concept_ids:
            n_linked += 1
            text = normalize_text(mention.text)
            n_named += any(text in names_of(concept_id) for concept_id in concept_ids)
    return n_named / n_linked if n_linked else 0.0


def _warn_if_names_from_mentions(ontology: "Ontology", mentions: Sequence["Mention"]) -> None:
    """Out-of-fold folds hold mentions out, not their strings: an ontology whose names were taken from the training
    mentions makes every held-out mention an exact match, and the confidence too high on new text."""
    share = exact_name_share(ontology, mentions)
    if share >= NAMES_FROM_MENTIONS:
        logger.warning("%.1f%% of the training mentions are spelled exactly as a name of their gold concept (MEDIC gives 63%% "
                       "of NCBI Disease's): were the ontology's names taken from this corpus? The out-of-fold calibration "
                       "then sees every held-out mention as an exact match, and the confidence is too high on new text. "
                       "Leave the corpus's mentions out of the ontology (training.corpus_concepts adds the ids they name, "
                       "fold by fold), or calibrate on a validation corpus (--val-corpus)", 100 * share)


def _untrained_types_warning(mentions: Sequence["Mention"], validation: Sequence["Mention"]) -> str | None:
    """Validation mentions of types no training mention has (a BC5CDR file with chemicals for a disease model) would
    calibrate the confidence on mentions unlike those it will be used on."""
    trained = {mention.type for mention in mentions}
    untrained = Counter(mention.type for mention in validation if mention.gold_ids and mention.type not in trained)
    if not mentions or not untrained:
        return None
    return (f"the validation corpus has {sum(untrained.values()):,} mentions of types no training mention has "
            f"({counts_by_type(untrained)}; trained on {', '.join(sorted(map(type_name, trained)))}): the confidence is "
            "calibrated on them too; give --entity-type to calibrate on the trained types alone")


def fit_out_of_fold(ontology: "Ontology", mentions: Sequence["Mention"], config: "XMRConfig", n_jobs: int | None,
                    work_dir: str | Path | None = None) -> Calibrator:
    """A calibrator fitted on the training mentions, each ranked by a model trained without its fold of documents
    (their feature matrices mapped under `work_dir`, as the model's own)."""
    from ..ontology import with_corpus_concepts
    from .model import XMRModel

    folds = document_folds(mentions, config.calibration.folds, config.seed)
    fold_config = replace(config, calibration=replace(config.calibration, folds=0))
    features, correct = [], []
    for index, held_out in enumerate(folds):
        logger.info("calibration: fold %d of %d (%d mentions held out)", index + 1, len(folds), len(held_out))
        rest = [mention for other, fold in enumerate(folds) if other != index for mention in fold]
        # the corpus's concepts of the other folds only (the model's own training reported them all once)
        fold_ontology = with_corpus_concepts(ontology, rest, report=False) if config.training.corpus_concepts else ontology
        fold_model = XMRModel.train(fold_ontology, rest, fold_config, progress=False, n_jobs=n_jobs, work_dir=work_dir)
        fold_features, fold_correct = evidence_and_outcomes(fold_model, held_out)
        features.append(fold_features)
        correct.append(fold_correct)
    return Calibrator.fit(np.vstack(features), np.concatenate(correct), FEATURE_NAMES, "out-of-fold")


def fit_calibrator(model: "XMRModel", ontology: "Ontology", mentions: Sequence["Mention"], config: "XMRConfig",
                   validation: Sequence["Mention"] | None, n_jobs: int | None, work_dir: str | Path | None = None) -> Calibrator | None:
    """The trained model's calibrator: fitted on `validation` when given, else out-of-fold on the training `mentions`
    (None, with the reason logged, when there are too few of either or `calibration.folds` is 0)."""
    try:
        if validation:
            for warning in (shared_documents_warning(mentions, validation), _untrained_types_warning(mentions, validation)):
                if warning:
                    logger.warning(warning)
            features, correct = evidence_and_outcomes(model, [mention for mention in validation if mention.gold_ids])
            return Calibrator.fit(features, correct, FEATURE_NAMES, "validation")
        if not config.calibration.folds:  # asked for none (the fold models themselves are trained so)
            return None
        linked = [mention for mention in mentions if mention.gold_ids]
        if len({mention.document_id for mention in linked}) >= config.calibration.folds:
            _warn_if_names_from_mentions(ontology, linked)
            return fit_out_of_fold(ontology, linked, config, n_jobs, work_dir)
        logger.warning("no calibration: %d gold-linked training mentions and calibration.folds = %d; the model's confidence "
                       "is unavailable (give a validation corpus, or training mentions from at least that many documents)",
                       len(linked), config.calibration.folds)
    except SpacyXmrError as err:
        logger.warning("no calibration: %s; the model's confidence is unavailable", err)
    return None
