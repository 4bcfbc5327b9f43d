"""Open an ontology from whichever file a user has at hand: our own format or a MEDIC release file."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputFormatError
from .medic import read_medic
from .model import Ontology


def read_ontology_file(path: str | Path) -> Ontology:
    """A spacy-xmr ontology (`.jsonl[.gz]`) or a MEDIC release file (`CTD_diseases.tsv[.gz]`)."""
    path = Path(path)
    if path.name.endswith((".tsv", ".tsv.gz")):
        return read_medic(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return Ontology.from_disk(path)
    raise InputFormatError(path, "expected a spacy-xmr ontology (.jsonl.gz) or a MEDIC CTD_diseases.tsv(.gz) file")
