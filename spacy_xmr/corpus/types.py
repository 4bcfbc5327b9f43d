"""Entity-type filtering shared by the corpus readers and the mention iterator."""
from __future__ import annotations

from typing import Iterable


def type_matches(annotation_type: str, entity_types: Iterable[str] | None) -> bool:
    """True when `entity_types` is None or holds the type (or, for MedMentions' `T047,T191`, one of its parts)."""
    if entity_types is None:
        return True
    wanted = set(entity_types)
    return annotation_type in wanted or any(part.strip() in wanted for part in annotation_type.split(","))
