"""Concept ids as corpora write them: split an identifier field into ids, and a source format's bare-id rules.

Ids are opaque: `ZZ:0001`, `rs74805019`, `CVCL_0030` or a tmVar string are kept exactly as written. Only a
corpus format's reader may add a prefix to ids written without one (NCBI Disease's bare OMIM numbers,
BC5CDR's bare MeSH ids), through `BareIdRule`s of its own; nothing here knows any prefix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ..errors import SpacyXmrError

NO_ID_MARKERS = ("-1", "-")
_SEPARATORS = re.compile(r"[,;+]")
# tmVar's normalised variants (`p|SUB|V|600|E`, `c|DEL|1799|A`, PubTator 3's `tmVar:p|SUB|V|600|E`) hold `|`.
_TMVAR = re.compile(r"^(tmVar:)?[a-zA-Z]\|[A-Z]+\|")


def concept_id(raw: str) -> str:
    """An id as written, surrounding whitespace dropped; SpacyXmrError when nothing is left."""
    value = raw.strip()
    if not value:
        raise SpacyXmrError("empty concept id")
    return value


def split_gold_ids(field: str | None) -> list[str]:
    """The ids of an identifier field joined by `|`, `,`, `;` or `+`, without the no-id markers `-1` and `-`
    (an empty BioC infon, None, has none).

    A tmVar variant string is one id even though it contains `|`.
    """
    ids = []
    for part in _SEPARATORS.split(field or ""):
        part = part.strip()
        ids.extend([part] if _TMVAR.match(part) else (p.strip() for p in part.split("|")))
    return [i for i in ids if i and i not in NO_ID_MARKERS]


def join_gold_ids(ids: Iterable[str]) -> str:
    """The identifier field for `ids`: joined by `|`, or by `;` when an id itself holds `|` (tmVar)."""
    ids = list(ids)
    return (";" if any("|" in i for i in ids) else "|").join(ids)


@dataclass(frozen=True)
class BareIdRule:
    """A source format's convention: ids matching `pattern` without a prefix get `prefix`, for mentions of
    `entity_types` (any type when None)."""

    pattern: re.Pattern
    prefix: str
    entity_types: frozenset[str] | None = None

    def applies(self, raw_id: str, entity_type: str) -> bool:
        in_scope = self.entity_types is None or entity_type in self.entity_types
        return in_scope and ":" not in raw_id and bool(self.pattern.fullmatch(raw_id))


def apply_bare_id_rules(raw_id: str, entity_type: str, rules: Iterable[BareIdRule]) -> str:
    """`raw_id` with the prefix of the first rule that applies, or unchanged."""
    rule = next((r for r in rules if r.applies(raw_id, entity_type)), None)
    return raw_id if rule is None else f"{rule.prefix}:{raw_id}"
