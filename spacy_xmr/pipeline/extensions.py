"""The `Span._.xmr_candidates` extension: ranked (concept id, score) pairs kept as plain lists.

Values live in `doc.user_data` as lists of `[id, score]` (str, float), so
`DocBin(store_user_data=True)` round-trips them; the getter hands back tuples either way.
"""
from __future__ import annotations

from spacy.tokens import Span

CANDIDATES = "xmr_candidates"


def _key(span: Span) -> tuple:
    # the same key spaCy uses for its own default-valued span extensions
    return ("._.", CANDIDATES, span.start_char, span.end_char)


def get_candidates(span: Span) -> list[tuple[str, float]]:
    return [(str(cid), float(score)) for cid, score in span.doc.user_data.get(_key(span), [])]


def set_candidates(span: Span, candidates) -> None:
    span.doc.user_data[_key(span)] = [[str(cid), float(score)] for cid, score in candidates]


def register_extensions() -> None:
    """Register once; never `force=True`, so another package's extension of that name is not clobbered."""
    if not Span.has_extension(CANDIDATES):
        Span.set_extension(CANDIDATES, getter=get_candidates, setter=set_candidates)
