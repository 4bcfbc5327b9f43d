"""Schwartz–Hearst abbreviation detection ("coronary artery disease (CAD)"), a pure function of text.

A quarter of NCBI Disease test mentions are ≤ 3 characters ("DM", "A-T"); linking the long form
defined in the same document instead of the short form is where many points are. No spaCy
dependency, so the spaCy component and the CLI reuse it.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass
from typing import Iterable

from ..corpus.mention import Mention

# "(SF)", or "(SF; other names)" / "(SF, other names)": as in Schwartz & Hearst, the text before a
# ";" or "," is the candidate ("Schwartz-Jampel syndrome (SJS; chondrodystrophic myotonia)")
_PARENTHESIS = re.compile(r"\(([^()]{1,12}?)(?:[;,]\s[^()]*)?\)")
_SENTENCE_BREAK = re.compile(r"[.;:!?]\s|\)\s|\]\s")


@dataclass(frozen=True)
class Abbreviation:
    short_form: str
    long_form: str
    short_start: int  # offsets into the text given to find_abbreviations
    short_end: int
    long_start: int
    long_end: int


def _is_short_form(candidate: str) -> bool:
    words = candidate.split()
    return (
        2 <= len(candidate) <= 10
        and 1 <= len(words) <= 2
        and any(c.isalpha() for c in candidate)
        and candidate[0].isalnum()
    )


def _best_long_form(short_form: str, window: str) -> int | None:
    """Schwartz–Hearst matching: the start in `window` of the shortest long form, or None.

    Characters of the short form are matched right to left in the window; its first character
    must start a word.
    """
    s_index = len(short_form) - 1
    l_index = len(window) - 1
    while s_index >= 0:
        char = short_form[s_index].lower()
        if not char.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            window[l_index].lower() != char
            or (s_index == 0 and l_index > 0 and window[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = l_index + 1
    while start > 0 and window[start - 1].isalnum():
        start -= 1
    return start


def _plural_stem(short_form: str) -> str | None:
    """`EDDs` → `EDD`: a short form ending in a lower-case plural `s` after a capital or digit."""
    if len(short_form) >= 3 and short_form.endswith("s") and (short_form[-2].isupper() or short_form[-2].isdigit()):
        return short_form[:-1]
    return None


def find_abbreviations(text: str) -> list[Abbreviation]:
    """Every `long form (SF)` definition in `text`, in order of appearance.

    A plural short form whose `s` the long form does not spell ("excited delirium (EDDs)") is matched by its stem.
    """
    found: list[Abbreviation] = []
    for match in _PARENTHESIS.finditer(text):
        short_form = match.group(1).strip()
        if not _is_short_form(short_form):
            continue
        before = text[: match.start()].rstrip()
        breaks = list(_SENTENCE_BREAK.finditer(before))
        clause_start = breaks[-1].end() if breaks else 0
        words = list(re.finditer(r"\S+", before[clause_start:]))
        max_words = min(len(short_form) + 5, 2 * len(short_form))
        if not words:
            continue
        window_start = clause_start + words[max(0, len(words) - max_words)].start()
        window = before[window_start:]
        start = _best_long_form(short_form, window)
        stem = _plural_stem(short_form)
        if start is None and stem:
            start = _best_long_form(stem, window)
        if start is None:
            continue
        long_form = window[start:].strip()
        if len(long_form) <= len(short_form) or len(long_form.split()) > max_words or "(" in long_form or ")" in long_form:
            continue
        short_start = match.start(1) + match.group(1).index(short_form)
        found.append(
            Abbreviation(
                short_form, long_form, short_start, short_start + len(short_form),
                window_start + start, window_start + start + len(long_form),
            )
        )
    return found


def abbreviation_map(text: str) -> dict[str, str]:
    """Short form → long form of its first definition in `text`, plus the singular or plural of each short
    form (`PAs` defined, `PA` used, or the reverse) where that is not defined itself."""
    mapping: dict[str, str] = {}
    for abbreviation in find_abbreviations(text):
        mapping.setdefault(abbreviation.short_form, abbreviation.long_form)
    for short_form, long_form in list(mapping.items()):
        mapping.setdefault(_plural_stem(short_form) or f"{short_form}s", long_form)
    return mapping


def expand_abbreviations(text: str, mapping: dict[str, str]) -> str:
    """`text` with every whole-word short form of `mapping` replaced by its long form. Only the short forms found in
    `text` go into the pattern: most mentions hold none, and compiling their document's whole pattern for each took
    half of `texts_to_link`'s time on the NCBI Disease and BC5CDR mentions."""
    present = [short_form for short_form in mapping if short_form in text]
    if not present:
        return text
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(s) for s in sorted(present, key=len, reverse=True)) + r")(?!\w)")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


@functools.lru_cache(maxsize=512)
def _document_abbreviations(document_id: str, text: str) -> dict[str, str]:
    """`abbreviation_map` of a document, kept for the next caller: the linker and the ranker after it read the same
    batch (the pipeline gives each doc its own id, so equal texts of two docs are read twice). Callers share the
    dict: they must not change it."""
    return abbreviation_map(text)


def texts_to_link(mentions: Iterable[Mention]) -> list[str]:
    """For each mention, its text with short forms defined in its document replaced by their long forms.

    A mention that is itself the long form (or contains the definition) is left as it is.
    """
    texts = []
    for mention in mentions:
        defined = _document_abbreviations(mention.document_id, mention.document_text)
        mapping = {short: long for short, long in defined.items() if long.lower() not in mention.text.lower()}
        texts.append(expand_abbreviations(mention.text, mapping))
    return texts
