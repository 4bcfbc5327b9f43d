"""`xmr_ranker`: reorders the linker's candidates with a learned ranker (LightGBM over the XMR channels' evidence).

It ranks the per-channel evidence that the linker computed for the same batch, on the linker's mentions
(`SharedEvidence`: the XMR stage scores each batch once, and each span becomes a mention once), or asks the
linker's XMR model for it (`XMRModel.channel_scores`, with the linker's beam and abbreviation settings) when the
linker did not link these spans in this pass. It writes `_.xmr_candidates`,
`_.xmr_confidence` (the ranker's own calibrated confidence) and `kb_id_`. lightgbm is imported only when the
component loads its model.
"""
from __future__ import annotations

import logging
from pathlib import Path

from spacy.tokens import Span

from ..corpus.mention import Candidates
from ..errors import ConfigError
from .base import CandidatePipe, RankedCandidates
from .extensions import get_candidates
from .linker import XMRLinker
from .mentions import mentions_of_spans

logger = logging.getLogger(__name__)
EVIDENCE_BATCHES = 4  # the linker keeps the evidence of up to this many batches of docs for the ranker


class XMRRanker(CandidatePipe):
    """Re-sorts each span's candidates by a `LearnedRanker` trained with `spacy-xmr train-ranker`; put it after the linker."""

    def __init__(self, vocab, name: str = "xmr_ranker", *, linker, linker_name: str = "xmr_linker", batch_size: int = 256, **shared):
        """`linker`: the pipeline's `xmr_linker` component (named `linker_name` in the config), whose XMR model and
        settings give the evidence; `shared`: the settings of `CandidatePipe`."""
        super().__init__(vocab, name, batch_size=batch_size, **shared)
        self.linker = linker
        self.linker_name = linker_name
        self.evidence = linker.share_evidence(EVIDENCE_BATCHES * max(batch_size, linker.batch_size))
        self._warned_before_linker = False  # placed before the linker, its lists would be overwritten: said once

    @property
    def cfg(self) -> dict:
        return {**super().cfg, "linker": self.linker_name}

    def _no_model_message(self) -> str:
        return f"{super()._no_model_message()} (a ranker directory as written by `spacy-xmr train-ranker`)"

    def _load_model(self, directory: Path):
        from ..ranking import LearnedRanker

        ranker = LearnedRanker.load(directory)
        if ranker.config.top_k != self.linker.top_k:
            logger.warning("'%s' reranks the top %d candidates but '%s' has top_k = %d, so the XMR stage scores each batch twice; "
                           "set [components.%s] top_k = %d", self.name, ranker.config.top_k, self.linker_name, self.linker.top_k,
                           self.linker_name, ranker.config.top_k)
        if ranker.calibrator is None and self.threshold is not None and self.threshold_on == "confidence":
            logger.warning("'%s': the ranker in %s has no calibration (trained with calibration_folds = 0), so its entities get no "
                           "confidence and the threshold %s makes none NIL; retrain it, or set [components.%s] threshold_on = "
                           "\"score\"", self.name, directory, self.threshold, self.name)
        return ranker

    def _rank(self, spans: list[Span]) -> list[Candidates]:
        ranker, xmr = self.get_model(), self.linker.get_model()
        kept = self.evidence.take(spans, ranker.config.top_k)
        if kept is not None:
            mentions, evidence = kept
        else:
            self._warn_if_before_linker(spans)
            mentions = mentions_of_spans(spans)
            evidence = xmr.channel_scores(mentions, top_k=ranker.config.top_k, beam_size=self.linker.beam_size,
                                          resolve_abbreviations=self.linker.resolve_abbreviations)
        ranked, confidences = ranker.rank_with_confidence(mentions, evidence, xmr.ontology)
        return [RankedCandidates(candidates, confidence) for candidates, confidence in zip(ranked, confidences or [None] * len(ranked))]

    def _warn_if_before_linker(self, spans: list[Span]) -> None:
        """Said once when the linker has not linked these spans, in this pass or before: the ranker then runs first, and
        a linker after it in the pipeline replaces its lists."""
        if spans and not self._warned_before_linker and not any(get_candidates(span) for span in spans):
            logger.warning("'%s': '%s' has not linked the %d entities of this batch, so the ranker asked its model itself; "
                           "if '%s' comes after the ranker in the pipeline it replaces the ranker's lists: put the ranker "
                           "after it (nlp.pipe_names)", self.name, self.linker_name, len(spans), self.linker_name)
            self._warned_before_linker = True

    def concept_name(self, concept_id: str) -> str | None:
        """Display name from the linker's ontology (the ranker keeps none)."""
        return self.linker.concept_name(concept_id)

    def score(self, examples, **kwargs) -> dict:
        """`Pipe.score` with the linker's ontology (CandidatePipe.score would ask this component's model for one)."""
        return super(CandidatePipe, self).score(examples, ontology=self.linker.get_model().ontology, **kwargs)


def linker_of(nlp, component: str, linker_name: str):
    """The `xmr_linker` component named `linker_name`, which must come before `component`."""
    if linker_name not in nlp.pipe_names:
        raise ConfigError(f"[components.{component}] linker = {linker_name!r}: the pipeline has no such component "
                          f"(it has {nlp.pipe_names}); add the xmr_linker before the ranker, or name it here")
    linker = nlp.get_pipe(linker_name)
    if not isinstance(linker, XMRLinker):
        raise ConfigError(f"[components.{component}] linker = {linker_name!r}: {type(linker).__name__} is not an xmr_linker")
    return linker
