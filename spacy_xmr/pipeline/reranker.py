"""`xmr_reranker`: rescores the linker's `_.xmr_candidates` with a trained cross-encoder.

It recalibrates too: `_.xmr_confidence` and a `threshold` on the confidence refer to the reranker's own top
candidate (`spacy_xmr.rerank.confidence`), not the linker's. torch and transformers are imported only when the
component loads its model.
"""
from __future__ import annotations

import logging
from pathlib import Path

from spacy.tokens import Span

from ..corpus.mention import Candidates
from .base import CandidatePipe, RankedCandidates
from .extensions import get_candidates
from .mentions import mentions_of_spans

logger = logging.getLogger(__name__)
DOCS_PER_BATCH = 64  # docs gathered per rerank call; their mentions go `mentions_per_batch` at a time to the transformer


class XMRReranker(CandidatePipe):
    """Re-sorts each span's candidates by cross-encoder score and updates `kb_id_`."""

    def __init__(self, vocab, name: str = "xmr_reranker", *, device: str = "auto", mentions_per_batch: int = 32, **shared):
        """`shared`: the settings of `CandidatePipe`; `mentions_per_batch`: a transformer batch holds about the
        tokens of that many mentions with their candidates."""
        super().__init__(vocab, name, batch_size=DOCS_PER_BATCH, **shared)
        self.device = device
        self.mentions_per_batch = mentions_per_batch
        self._warned_without_candidates = False  # placed before the linker, it would do nothing: said once
        self._warned_list_length = False  # the linker's top_k is not the reranker's training K: said once

    @property
    def cfg(self) -> dict:
        return {**super().cfg, "device": self.device, "mentions_per_batch": self.mentions_per_batch}

    def _no_model_message(self) -> str:
        return f"{super()._no_model_message()} (a reranker directory as written by `spacy-xmr train-reranker`)"

    def _load_model(self, directory: Path):
        from ..rerank import Reranker

        reranker = Reranker.load(directory, device=self.device)
        if reranker.calibrator is None and self.threshold is not None and self.threshold_on == "confidence":
            logger.warning("'%s': the reranker %s has no calibration (trained without enough validation mentions, or by an "
                           "earlier spacy-xmr): its entities get no confidence, so the threshold %s makes none NIL; train it "
                           "again, or set threshold_on = \"score\"", self.name, directory, self.threshold)
        return reranker

    def _rank(self, spans: list[Span]) -> list[Candidates]:
        """The reranked lists, each with the reranker's confidence in its top candidate when it is calibrated."""
        candidates = [get_candidates(span) for span in spans]
        if not any(candidates):  # nothing to rescore: do not load or run the transformer
            if spans and not self._warned_without_candidates:
                logger.warning("'%s': none of the %d entities of this batch has candidates to rerank; does it come after "
                               "xmr_linker in the pipeline? (nlp.pipe_names)", self.name, len(spans))
                self._warned_without_candidates = True
            return candidates
        reranker = self.get_model()
        problem = None if self._warned_list_length else reranker.list_length_problem(candidates)
        if problem:
            logger.warning("'%s': %s; set the xmr_linker's top_k = %d", self.name, problem, reranker.config.top_k)
            self._warned_list_length = True
        reranked = reranker.rerank(mentions_of_spans(spans), candidates, batch_size=self.mentions_per_batch)
        confidence = reranker.confidence(candidates, reranked)
        if confidence is None:
            return reranked
        return [RankedCandidates(ranking, value) for ranking, value in zip(reranked, confidence)]
