"""The `Span._.xmr_candidates` and `Span._.xmr_confidence` extensions: ranked (concept id, score) pairs kept as
plain tuples, and the calibrated probability that the top candidate is right (None where the stage gives none).

Values live in `doc.user_data` as tuples of `(id, score)` (str, float): `DocBin(store_user_data=True)` round-trips
them (as lists, which the getter reads too), and tuples of strings and floats are dropped from the garbage
collector's watch after its first pass, where lists would stay in every full collection of a long run.
"""
from __future__ import annotations

from spacy.tokens import Span

from ..corpus.mention import Candidates

CANDIDATES = "xmr_candidates"
CONFIDENCE = "xmr_confidence"


def _key(span: Span, name: str = CANDIDATES) -> tuple:
    # the same key spaCy uses for its own default-valued span extensions
    return ("._.", name, span.start_char, span.end_char)


def get_candidates(span: Span) -> Candidates:
    return [(str(cid), float(score)) for cid, score in span.doc.user_data.get(_key(span), [])]


def set_candidates(span: Span, candidates) -> None:
    span.doc.user_data[_key(span)] = tuple((str(cid), float(score)) for cid, score in candidates)


def get_confidence(span: Span) -> float | None:
    return span.doc.user_data.get(_key(span, CONFIDENCE))


def set_confidence(span: Span, confidence: float | None) -> None:
    span.doc.user_data[_key(span, CONFIDENCE)] = None if confidence is None else float(confidence)


def register_extensions() -> None:
    """Register once; never `force=True`, so another package's extension of that name is not clobbered."""
    if not Span.has_extension(CANDIDATES):
        Span.set_extension(CANDIDATES, getter=get_candidates, setter=set_candidates)
    if not Span.has_extension(CONFIDENCE):
        Span.set_extension(CONFIDENCE, getter=get_confidence, setter=set_confidence)
