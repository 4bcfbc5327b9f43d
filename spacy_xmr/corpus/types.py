"""Entity types: the filtering shared by the corpus readers and the mention iterator, and their names in messages."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence


def type_matches(annotation_type: str, entity_types: Iterable[str] | None) -> bool:
    """True when `entity_types` is None or holds the type (or, for MedMentions' `T047,T191`, one of its parts)."""
    if entity_types is None:
        return True
    wanted = set(entity_types)
    return annotation_type in wanted or any(part.strip() in wanted for part in annotation_type.split(","))


def type_name(entity_type: str) -> str:
    return entity_type or "(no type)"


def of_types(entity_types: Sequence[str] | None) -> str:
    """" of the entity type 'A' or 'B'" for a message about a selection by type ("" without one)."""
    return f" of the entity type {' or '.join(map(repr, entity_types))}" if entity_types else ""


def counts_by_type(counts: Counter, most: int = 5) -> str:
    """"Chemical 5,304, Disease 12": the `most` largest counts of a Counter keyed by entity type, for a message."""
    return ", ".join(f"{type_name(entity_type)} {count:,}" for entity_type, count in counts.most_common(most))
