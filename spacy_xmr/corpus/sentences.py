"""A fast rule-based sentence splitter for abstracts: context windows without loading a model.

A boundary is placed after `.`, `!` or `?` (optionally followed by closing quotes or brackets)
when whitespace and then an upper-case letter, a digit or an opening bracket follow, unless the
period ends a known abbreviation (`e.g.`, `et al.`, `Fig.`, a single initial) or the boundary would
fall inside a protected span (an annotated mention never straddles two sentences).
"""
from __future__ import annotations

import bisect
import re
from itertools import accumulate
from typing import Iterable

_CANDIDATE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    "e.g i.e et al fig figs vs approx ca cf no nos dr mr mrs ms prof st resp ref refs eq eqs inc ltd co jr sr".split()
)
_LONGEST_TOKEN_CHECKED = 16  # longer than any abbreviation: looking further back would make long texts quadratic


def _ends_with_abbreviation(text: str, period: int) -> bool:
    """True when the period at `period` closes a known abbreviation or a one-letter initial (`J.`)."""
    window_start = max(0, period - _LONGEST_TOKEN_CHECKED)
    token_start = max(text.rfind(" ", window_start, period), text.rfind("\n", window_start, period), window_start - 1) + 1
    token = text[token_start:period].lstrip("([\"'")
    return token.lower() in _ABBREVIATIONS or (len(token) == 1 and token.isupper())


def split_sentences(
    text: str, start: int = 0, end: int | None = None, protected: Iterable[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences, returned as (start, end) offsets into `text`.

    Sentences are trimmed of surrounding whitespace and cover every non-space character of the
    range. No boundary is placed strictly inside a `protected` (start, end) span.
    """
    end = len(text) if end is None else end
    blocked = sorted(protected)
    blocked_starts = [span_start for span_start, _ in blocked]
    furthest_ends = list(accumulate((span_end for _, span_end in blocked), max))  # of the spans starting so far
    boundaries: list[int] = []
    for match in _CANDIDATE_END.finditer(text, start, end):
        cut = match.end()
        if text[match.start()] == "." and _ends_with_abbreviation(text, match.start()):
            continue
        n_starting_before = bisect.bisect_left(blocked_starts, cut)
        if n_starting_before and furthest_ends[n_starting_before - 1] > cut:  # inside a protected span
            continue
        boundaries.append(cut)
    sentences = []
    for left, right in zip([start, *boundaries], [*boundaries, end]):
        while left < right and text[left].isspace():
            left += 1
        while right > left and text[right - 1].isspace():
            right -= 1
        if left < right:
            sentences.append((left, right))
    return sentences
