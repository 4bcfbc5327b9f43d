"""The XMR evidence that `xmr_linker` computed for a batch, with the spans' mentions, kept for the `xmr_ranker`
that follows it.

Why: the ranker's features are the XMR stage's per-channel scores of each candidate (`XMRModel.channel_scores`),
which the linker has just computed; asking the model again scored every batch twice. Only a linker that a ranker
follows keeps any: each doc's evidence, by the doc (weakly: it goes with the doc), until the ranker takes it, and
at most `capacity` docs (the oldest go first, so a ranker that never runs costs bounded memory). The ranker
computes the evidence itself for a doc whose evidence is not here, or not for exactly its spans and top-k: the
linker disabled or run in an earlier call, a doc saved and loaded, other labels or another `top_k`.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Sequence

from spacy.tokens import Doc, Span

from ..corpus.mention import Mention

if TYPE_CHECKING:
    from ..xmr import CandidateEvidence

Offsets = tuple[int, int]
Kept = tuple[Mention, list["CandidateEvidence"]]


class SharedEvidence:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._docs: weakref.WeakKeyDictionary[Doc, tuple[int, dict[Offsets, Kept]]] = weakref.WeakKeyDictionary()

    def __getstate__(self) -> dict:
        """Pickled (a pipeline sent to worker processes) empty: the evidence belongs to this process's docs."""
        return {"capacity": self.capacity}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["capacity"])

    def keep(self, spans: Sequence[Span], mentions: Sequence[Mention], evidence: Sequence[list[CandidateEvidence]], top_k: int) -> None:
        """Keep each span's mention and candidates (asked for with `top_k`), by its doc."""
        by_doc: dict[Doc, dict[Offsets, Kept]] = {}
        for span, mention, candidates in zip(spans, mentions, evidence):
            by_doc.setdefault(span.doc, {})[(span.start_char, span.end_char)] = (mention, candidates)
        for doc, candidates in by_doc.items():
            self._docs[doc] = (top_k, candidates)
        while len(self._docs) > self.capacity:
            del self._docs[next(iter(self._docs))]

    def take(self, spans: Sequence[Span], top_k: int) -> tuple[list[Mention], list[list[CandidateEvidence]]] | None:
        """The spans' mentions and candidates, when the linker kept them for exactly these spans of their docs with
        `top_k` (else None); their docs' entries are dropped either way."""
        docs = list(dict.fromkeys(span.doc for span in spans))
        kept = [self._docs.pop(doc, None) for doc in docs]
        if any(entry is None or entry[0] != top_k for entry in kept):
            return None
        by_offsets = {id(doc): entry[1] for doc, entry in zip(docs, kept)}
        if sum(map(len, by_offsets.values())) != len(spans):
            return None
        found = [by_offsets[id(span.doc)].get((span.start_char, span.end_char)) for span in spans]
        if any(entry is None for entry in found):
            return None
        return [mention for mention, _ in found], [candidates for _, candidates in found]
