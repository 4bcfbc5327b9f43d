"""spaCy factories of `xmr_linker` and `xmr_reranker`.

Loaded by spaCy's entry points whenever any Language is built: imports here stay light (no
torch, transformers or scikit-learn). Settings are checked here, so a bad value fails at
`add_pipe` with a ConfigError naming the key; a model directory is only read at first use
(`spacy.load` calls the factory with the original `model` path, which may not exist on this
machine, before `from_disk` fills the model from the saved pipeline).
"""
from __future__ import annotations

from typing import Callable, List, Optional

from spacy.language import Language

from . import config_validation as check
from .linker import XMRLinker
from .reranker import XMRReranker

SCORER = {"@scorers": "spacy_xmr.candidate_scorer.v1"}
SCORE_WEIGHTS = {
    "nel_micro_f": 1.0,
    "nel_micro_p": None,
    "nel_micro_r": None,
    "xmr_recall_at_1": None,
    "xmr_recall_at_10": None,
    "xmr_mrr": None,
}
ASSIGNS = ["token.ent_kb_id", "span._.xmr_candidates"]


SHARED_DEFAULTS = {
    "model": None,
    "top_k": 10,
    "threshold": None,
    "labels": [],
    "overwrite": True,
    "spans_key": None,
    "scorer": SCORER,
}


def shared_settings(name: str, model, top_k, threshold, labels, overwrite, spans_key, scorer) -> dict:
    """The checked settings that both components take (see `CandidatePipe`)."""
    return {
        "model": check.optional_str(name, "model", model, "the path of a saved model directory, or null"),
        "top_k": check.positive_int(name, "top_k", top_k),
        "threshold": check.threshold(name, "threshold", threshold),
        "labels": check.labels(name, "labels", labels),
        "overwrite": check.flag(name, "overwrite", overwrite),
        "spans_key": check.optional_str(name, "spans_key", spans_key, "a doc.spans key, or null to link doc.ents"),
        "scorer": scorer,
    }


@Language.factory(
    "xmr_linker",
    default_config={**SHARED_DEFAULTS, "beam_size": 10, "resolve_abbreviations": True, "batch_size": 256},
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
    labels: List[str],
    overwrite: bool,
    resolve_abbreviations: bool,
    batch_size: int,
    spans_key: Optional[str],
    scorer: Optional[Callable],
) -> XMRLinker:
    """Candidate generation with a hierarchical XMR model; `model = null` means fit it in initialize()."""
    return XMRLinker(
        nlp.vocab,
        name,
        beam_size=check.positive_int(name, "beam_size", beam_size),
        resolve_abbreviations=check.flag(name, "resolve_abbreviations", resolve_abbreviations),
        batch_size=check.positive_int(name, "batch_size", batch_size),
        **shared_settings(name, model, top_k, threshold, labels, overwrite, spans_key, scorer),
    )


@Language.factory(
    "xmr_reranker",
    default_config={**SHARED_DEFAULTS, "device": "auto", "batch_size": 32},
    assigns=ASSIGNS,
    requires=["span._.xmr_candidates"],
    default_score_weights=SCORE_WEIGHTS,
)
def make_xmr_reranker(
    nlp: Language,
    name: str,
    model: Optional[str],
    device: str,
    batch_size: int,
    top_k: int,
    threshold: Optional[float],
    labels: List[str],
    overwrite: bool,
    spans_key: Optional[str],
    scorer: Optional[Callable],
) -> XMRReranker:
    """Cross-encoder reranking of the candidates that `xmr_linker` wrote; put it after the linker."""
    return XMRReranker(
        nlp.vocab,
        name,
        device=check.device(name, "device", device),
        batch_size=check.positive_int(name, "batch_size", batch_size),
        **shared_settings(name, model, top_k, threshold, labels, overwrite, spans_key, scorer),
    )
