"""Word rewrites learned from the ontology's own synonymy: which word may stand for which.

MEDIC names one concept "Breast Neoplasms", "Breast Cancer", "Breast Carcinoma" and "Breast Tumor":
across many concepts, two names that differ in one word show that those words are interchangeable
in disease names (cancer/neoplasm/carcinoma/tumor, disease/syndrome/disorder, familial/hereditary),
and a name that is another name plus one word shows that word may be dropped (familial,
congenital, syndrome). A mention no name spells out ("prostate carcinoma") then finds its concept
through a rewritten word key ("cancer prostate"). A rewrite is kept only when `min_concepts`
distinct concepts attest it, and digits and single letters are never rewritten: "type 1" is
not "type 2".
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator


def _rewritable(word: str) -> bool:
    return len(word) >= 2 and not any(c.isdigit() for c in word)


def rewritten(words: frozenset[str], less: str | None, plus: str | None) -> frozenset[str]:
    """`words` with `less` replaced by `plus`, or dropped where `plus` is None (an edit of `Rewrites.edits`); `words`
    itself where `less` is None too."""
    rest = words - {less} if less is not None else words
    return rest | {plus} if plus is not None else rest


@dataclass
class Rewrites:
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word → words that may replace it
    droppable: frozenset[str] = frozenset()

    def edits_of(self, word: str) -> Iterator[tuple[str, str | None]]:
        """The learned rewrites of `word`, as (word, its substitute), or (word, None) where it may be dropped; whether
        one applies to a key is `applies`."""
        for other in self.substitutes.get(word, ()):
            yield word, other
        if word in self.droppable:
            yield word, None

    @staticmethod
    def applies(words: frozenset[str], less: str, plus: str | None) -> bool:
        """Whether the edit (less, plus) of `edits_of` applies to `words`: a substitute not already among them, a
        drop never of the only word. The one rule that the word-key channel's lookups and `variants` follow."""
        return len(words) > 1 if plus is None else plus == less or plus not in words

    def edits(self, words: frozenset[str]) -> Iterator[tuple[str, str | None]]:
        """The learned rewrites that apply to `words`."""
        for word in words:
            yield from (edit for edit in self.edits_of(word) if self.applies(words, *edit))

    def variants(self, words: frozenset[str]) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
        """The word sets one substitution away and one dropped word away from `words`."""
        substituted, dropped = [], []
        for less, plus in self.edits(words):
            (dropped if plus is None else substituted).append(rewritten(words, less, plus))
        return substituted, dropped

    def to_dict(self) -> dict:
        return {"substitutes": {word: list(others) for word, others in self.substitutes.items()}, "droppable": sorted(self.droppable)}

    @classmethod
    def from_dict(cls, values: dict) -> "Rewrites":
        return cls({word: tuple(others) for word, others in values["substitutes"].items()}, frozenset(values["droppable"]))


def learn_rewrites(keys_by_concept: Iterable[Iterable[frozenset[str]]], min_concepts: int) -> Rewrites:
    """Rewrites attested by at least `min_concepts` concepts; each item is one concept's word keys (as sets)."""
    substitution_count: dict[tuple[str, str], int] = defaultdict(int)
    drop_count: dict[str, int] = defaultdict(int)
    for keys in keys_by_concept:
        keys = set(keys)
        fillers: dict[frozenset[str], set[str]] = defaultdict(set)  # the key less one word → the words that complete it
        for key in keys:
            if len(key) >= 2:
                for word in key:
                    if _rewritable(word):
                        fillers[key - {word}].add(word)
        pairs: set[tuple[str, str]] = set()
        dropped: set[str] = set()
        for rest, words in fillers.items():
            if len(words) > 1:
                pairs.update((a, b) for a in words for b in words if a != b)
            if rest in keys:
                dropped.update(words)
        for pair in pairs:
            substitution_count[pair] += 1
        for word in dropped:
            drop_count[word] += 1
    substitutes: dict[str, list[str]] = defaultdict(list)
    for (a, b), count in sorted(substitution_count.items()):
        if count >= min_concepts:
            substitutes[a].append(b)
    return Rewrites(
        {word: tuple(others) for word, others in substitutes.items()},
        frozenset(word for word, count in drop_count.items() if count >= min_concepts),
    )
