"""spaCy factories of `xmr_linker`, `xmr_reranker` and `xmr_ranker`.

Loaded by spaCy's entry points whenever any Language is built: imports here stay light (no
torch, transformers or scikit-learn). Settings are checked here, so a bad value fails at
`add_pipe` with a ConfigError naming the key, a missing `model` folder included; the model
itself is only read at first use.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

from spacy.language import Language

from ..model_kinds import RANKER_HEADER, RERANKER_HEADER, XMR_HEADER
from . import config_validation as check
from .linker import DEFAULT_THRESHOLD, XMRLinker, checked_prediction_settings
from .model_files import checked_model_setting
from .ranker import XMRRanker, linker_of
from .reranker import XMRReranker

SCORER = {"@scorers": "spacy_xmr.candidate_scorer.v1"}
# `spacy train` picks model-best by xmr_recall_at_1, which counts every gold mention: nel_micro_f counts only the
# entities whose span the NER got right, so an untrained NER that finds a few entities scored it about 1.0
SCORE_WEIGHTS = {
    "xmr_recall_at_1": 1.0,
    "nel_micro_f": None,
    "nel_micro_p": None,
    "nel_micro_r": None,
    "xmr_recall_at_5": None,
    "xmr_recall_at_10": None,
    "xmr_mrr": None,
}
ASSIGNS = ["token.ent_kb_id", "span._.xmr_candidates", "span._.xmr_confidence"]


SHARED_DEFAULTS = {
    "model": None,
    "top_k": 10,
    "threshold": DEFAULT_THRESHOLD,  # every stage calibrates its own output, so each thresholds its own confidence
    "threshold_on": "confidence",
    "labels": [],
    "overwrite": True,
    "spans_key": None,
    "scorer": SCORER,
}


def shared_settings(name: str, model, top_k, threshold, labels, overwrite, spans_key, scorer, *, model_header: str,
                    threshold_on: str) -> dict:
    """The checked settings that the components take (see `CandidatePipe`); `model_header`: the file that marks the
    component's kind of model folder (`model_kinds`). Every stage calibrates its own output, so its threshold may apply to that
    confidence or to its raw score."""
    threshold_on = check.threshold_on(name, "threshold_on", threshold_on, ("confidence", "score"))
    return {
        "model": checked_model_setting(name, model, model_header),
        "top_k": check.positive_int(name, "top_k", top_k),
        "threshold": check.threshold(name, "threshold", threshold, threshold_on),
        "threshold_on": threshold_on,
        "labels": check.labels(name, "labels", labels),
        "overwrite": check.flag(name, "overwrite", overwrite),
        "spans_key": check.optional_str(name, "spans_key", spans_key, "a doc.spans key, or null to link doc.ents"),
        "scorer": scorer,
    }


@Language.factory(
    "xmr_linker",
    default_config={**SHARED_DEFAULTS, "beam_size": 10,
                    "resolve_abbreviations": True, "batch_size": 256,
                    "document_candidates": None, "channel_weights": {}, "dense_device": None, "n_jobs": None,
                    "exclude_top_level": None, "max_postings": None, "tree_candidates": None,
                    "device": "auto"},
    assigns=ASSIGNS,
    default_score_weights=SCORE_WEIGHTS,
)
def make_xmr_linker(
    nlp: Language,
    name: str,
    model: Optional[str],
    top_k: int,
    beam_size: int,
    threshold: Optional[float],
    threshold_on: str,
    labels: List[str],
    overwrite: bool,
    resolve_abbreviations: bool,
    batch_size: int,
    spans_key: Optional[str],
    scorer: Optional[Callable],
    document_candidates: Optional[int],
    channel_weights: Dict[str, float],
    dense_device: Optional[str],
    n_jobs: Optional[int],
    exclude_top_level: Optional[bool],
    max_postings: Optional[int],
    tree_candidates: Optional[int],
    device: str,
) -> XMRLinker:
    """Candidate generation with a hierarchical XMR model; `model = null` means fit it in initialize().

    `threshold` applies to the calibrated confidence (`ent._.xmr_confidence`, the estimated probability that the
    link is right) by default, or to the top candidate's raw fused score with `threshold_on = "score"`.

    `document_candidates`, `channel_weights` ({channel: weight}), `dense_device`, `n_jobs`, `exclude_top_level`
    (true: the ontology's top-level categories are never candidates), `max_postings` (the strings the nearest
    channel's term index keeps per term, 0: all) and `tree_candidates` (the tree's best concepts per mention whose
    strings the nearest channel compares too, 0: none) replace the model's trained values at prediction (null or empty:
    the model's own); see `PredictionSettings`. `device` is where the model's sparse products run: "auto" (a GPU
    when cupy is installed and sees one, else the CPU), "cpu", "cuda" or "cuda:N"."""
    return XMRLinker(
        nlp.vocab,
        name,
        beam_size=check.positive_int(name, "beam_size", beam_size),
        resolve_abbreviations=check.flag(name, "resolve_abbreviations", resolve_abbreviations),
        batch_size=check.positive_int(name, "batch_size", batch_size),
        prediction_settings=checked_prediction_settings(name, document_candidates=document_candidates, channel_weights=channel_weights,
                                                        dense_device=dense_device, n_jobs=n_jobs, exclude_top_level=exclude_top_level,
                                                        max_postings=max_postings, tree_candidates=tree_candidates,
                                                        device=check.present_device(name, "device", device, _cupy_backend)),
        **shared_settings(name, model, top_k, threshold, labels, overwrite, spans_key, scorer,
                          model_header=XMR_HEADER, threshold_on=threshold_on),
    )


def _cupy_backend(device: str):
    from ..xmr.backend import array_backend

    return array_backend(device)


def _torch_device(device: str):
    from ..device import resolve_device

    return resolve_device(device)


@Language.factory(
    "xmr_reranker",
    default_config={**SHARED_DEFAULTS, "device": "auto",
                    "mentions_per_batch": 32},
    assigns=ASSIGNS,
    requires=["span._.xmr_candidates"],
    default_score_weights=SCORE_WEIGHTS,
)
def make_xmr_reranker(
    nlp: Language,
    name: str,
    model: Optional[str],
    device: str,
    mentions_per_batch: int,
    top_k: int,
    threshold: Optional[float],
    threshold_on: str,
    labels: List[str],
    overwrite: bool,
    spans_key: Optional[str],
    scorer: Optional[Callable],
) -> XMRReranker:
    """Cross-encoder reranking of the candidates that `xmr_linker` wrote; put it after the linker.

    `threshold` applies to the reranker's own calibrated confidence by default (its top candidate may not be the
    linker's), or to the top candidate's raw final score with `threshold_on = "score"`."""
    return XMRReranker(
        nlp.vocab,
        name,
        device=check.present_device(name, "device", device, _torch_device),
        mentions_per_batch=check.positive_int(name, "mentions_per_batch", mentions_per_batch),
        **shared_settings(name, model, top_k, threshold, labels, overwrite, spans_key, scorer,
                          model_header=RERANKER_HEADER, threshold_on=threshold_on),
    )


@Language.factory(
    "xmr_ranker",
    default_config={**SHARED_DEFAULTS, "linker": "xmr_linker",
                    "batch_size": 256},
    assigns=ASSIGNS,
    requires=["span._.xmr_candidates"],
    default_score_weights=SCORE_WEIGHTS,
)
def make_xmr_ranker(
    nlp: Language,
    name: str,
    model: Optional[str],
    linker: str,
    batch_size: int,
    top_k: int,
    threshold: Optional[float],
    threshold_on: str,
    labels: List[str],
    overwrite: bool,
    spans_key: Optional[str],
    scorer: Optional[Callable],
) -> XMRRanker:
    """Learned ranking (LightGBM over the XMR channels) of the candidates of the `linker` component; put it after it.

    `threshold` applies to the ranker's own calibrated confidence by default (the probability that its first
    candidate is right), or to the first candidate's share of the list with `threshold_on = "score"`."""
    linker_name = check.optional_str(name, "linker", linker, "the name of the pipeline's xmr_linker component")
    return XMRRanker(
        nlp.vocab,
        name,
        linker=linker_of(nlp, name, linker_name),
        linker_name=linker_name,
        batch_size=check.positive_int(name, "batch_size", batch_size),
        **shared_settings(name, model, top_k, threshold, labels, overwrite, spans_key, scorer,
                          model_header=RANKER_HEADER, threshold_on=threshold_on),
    )
