"""Ontologies: concepts, aliases and alt ids, one on-disk format, and readers of release files."""
from .ids import normalize_id, split_gold_ids
from .medic import read_medic
from .model import Concept, Ontology

__all__ = ["Concept", "Ontology", "normalize_id", "split_gold_ids", "read_medic"]
