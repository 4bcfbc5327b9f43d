"""Text normalisation, in one place, shared by training, the alias index and prediction.

Training aliases and predicted mentions must go through exactly the same function, or exact
matches are silently lost.
"""
from __future__ import annotations

import re
import unicodedata

_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_NON_ALNUM = re.compile(r"[^\w]+|_+")


def normalize_text(text: str) -> str:
    """NFKC, lower-case, drop possessive `'s`, punctuation and hyphens to spaces, collapse spaces.

    `"Alzheimer's  Disease"` → `"alzheimer disease"`; `"A-T"` → `"a t"`.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _POSSESSIVE.sub("", text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())
