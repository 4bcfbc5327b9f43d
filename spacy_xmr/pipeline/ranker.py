"""`xmr_ranker`: reorders the linker's candidates with a learned ranker (LightGBM over the XMR channels' evidence).

It asks the linker's XMR model for each mention's top candidates with their channel scores
(`XMRModel.channel_scores`, with the linker's beam and abbreviation settings), ranks them, and writes
`_.xmr_candidates` and `kb_id_`. lightgbm is imported only when the component loads its model.
"""
from __future__ import annotations

from pathlib import Path

from spacy.tokens import Span

from ..corpus.mention import Candidates, Mention
from ..errors import ConfigError
from .base import CandidatePipe
from .linker import XMRLinker


class XMRRanker(CandidatePipe):
    """Re-sorts each span's candidates by a `LearnedRanker` trained with `spacy-xmr train-ranker`; put it after the linker."""

    def __init__(self, vocab, name: str = "xmr_ranker", *, linker, linker_name: str = "xmr_linker", batch_size: int = 256, **shared):
        """`linker`: the pipeline's `xmr_linker` component (named `linker_name` in the config), whose XMR model and
        settings give the evidence; `shared`: the settings of `CandidatePipe`."""
        super().__init__(vocab, name, batch_size=batch_size, **shared)
        self.linker = linker
        self.linker_name = linker_name

    @property
    def cfg(self) -> dict:
        return {**super().cfg, "linker": self.linker_name}

    def _no_model_message(self) -> str:
        return f"{super()._no_model_message()} (a ranker directory as written by `spacy-xmr train-ranker`)"

    def _load_model(self, directory: Path):
        from ..ranking import LearnedRanker

        return LearnedRanker.load(directory)

    def _rank(self, mentions: list[Mention], spans: list[Span]) -> list[Candidates]:
        return self.get_model().rank_with(self.linker.get_model(), mentions, beam_size=self.linker.beam_size,
                                          resolve_abbreviations=self.linker.resolve_abbreviations)

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
