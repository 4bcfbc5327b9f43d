"""Ontologies: concepts, aliases and alt ids, one on-disk format, and readers of release files."""
from .corpus_concepts import with_corpus_concepts
from .files import read_ontology_file
from .ids import BareIdRule, apply_bare_id_rules, concept_id, join_gold_ids, split_gold_ids
from .medic import read_medic
from .mesh import read_mesh
from .model import Concept, Ontology
from .umls import read_umls

__all__ = ["Concept", "Ontology", "BareIdRule", "apply_bare_id_rules", "concept_id", "join_gold_ids", "split_gold_ids",
           "read_medic", "read_mesh", "read_umls",
           "read_ontology_file", "with_corpus_concepts"]
