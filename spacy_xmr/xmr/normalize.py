"""Text normalisation, in one place, shared by training, the alias index and prediction.

Training aliases and predicted mentions must go through exactly the same function, or exact
matches are silently lost. `normalize_text` is the exact key (and what the features see);
`word_key` is a looser key on top of it that ignores word order, plurals, spelling variants and
function words, so "Cancer of the Prostate", "prostate cancers" and "Cancer, Prostate" meet.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_NON_ALNUM = re.compile(r"[^\w]+|_+")

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta", "θ": "theta",
          "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho",
          "σ": "sigma", "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega"}
_GREEK_LETTER = re.compile("|".join(_GREEK))
# multi-letter numerals are numerals wherever they stand; "i", "v" and "x" only after a word that
# numbers something, so that "x linked" and "vitamin a" keep their letters
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12",
          "xiii": "13", "xiv": "14", "xv": "15"}
_ROMAN_AFTER_COUNTER = {"i": "1", "v": "5", "x": "10"}
_COUNTERS = frozenset({"type", "types", "class", "grade", "stage", "group", "factor", "phase", "form", "subtype", "and"})
_FUNCTION_WORDS = frozenset({"of", "the", "an", "in", "with", "to", "for", "by", "on", "and", "or"})  # not "a": "hemophilia a"
_BRITISH = [
    (re.compile(r"(?<=[a-z]{2})our$"), "or"),  # tumour, behaviour
    (re.compile(r"(?<=[a-z])ae(?=[a-z])"), "e"),  # anaemia, haemophilia, leukaemia
    (re.compile(r"^oe(?=[a-z]{3})|(?<=[a-z])oe(?=a|[a-z]{2})"), "e"),  # oedema, diarrhoea, foetal; not toes
    (re.compile(r"(?<=[bt])re$"), "er"),  # fibre, centre
    (re.compile(r"(?<=[a-z]{3})is(?=(e|ed|es|ing|ation|ations)$)"), "iz"),  # immunisation
    (re.compile(r"yse(?=[sd]?$)"), "yze"),  # paralysed, analyse
]


def normalize_text(text: str) -> str:
    """NFKC, lower-case, drop possessive `'s`, punctuation and hyphens to spaces, collapse spaces.

    `"Alzheimer's  Disease"` → `"alzheimer disease"`; `"A-T"` → `"a t"`.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _POSSESSIVE.sub("", text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


def american_spelling(word: str) -> str:
    """`tumour` → `tumor`, `anaemia` → `anemia`, `oedema` → `edema`, `fibre` → `fiber` (lower-case words)."""
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return word


def singular(word: str) -> str:
    """Harman's S-stemmer, which leaves `-us`, `-ss` and `-is` words (`sclerosis`) alone: `tumors` → `tumor`."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1 << 16)
def _canonical_word(word: str) -> str:
    """Cached: a corpus repeats its words (MEDIC's 74K strings hold 225K words, 23K distinct)."""
    return american_spelling(singular(word))


def key_words(normalized: str) -> list[str]:
    """The words of a `normalize_text` string, Greek letters spelt out, Roman numerals as digits,
    singular, American spelling, in order (function words kept)."""
    normalized = _GREEK_LETTER.sub(lambda m: f" {_GREEK[m.group(0)]} ", normalized)
    words = normalized.split()
    out = []
    for i, word in enumerate(words):
        if word in _ROMAN:
            word = _ROMAN[word]
        elif word in _ROMAN_AFTER_COUNTER and i > 0 and words[i - 1] in _COUNTERS:
            word = _ROMAN_AFTER_COUNTER[word]
        out.append(_canonical_word(word))
    return out


def word_key(normalized: str) -> str:
    """The sorted distinct content words of a `normalize_text` string (see `key_words`).

    `"cancer of the prostate"` and `"prostate cancers"` → `"cancer prostate"`; `"type ii diabetes"` →
    `"2 diabete type"`. A string of function words only keeps them, so it is not lost.
    """
    words = set(key_words(normalized))
    content = words - _FUNCTION_WORDS
    return spelled_word_key(content or words)


def spelled_word_key(words: Iterable[str]) -> str:
    """The word key of a set of distinct words, spelled as `word_key` spells its own: sorted, joined by spaces."""
    return " ".join(sorted(words))
