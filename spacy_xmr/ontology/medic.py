"""Reader for CTD's MEDIC disease vocabulary (`CTD_diseases.tsv[.gz]`)."""
from __future__ import annotations

from array import array
from pathlib import Path

from ..errors import InputFormatError, SpacyXmrError
from ..gzip_files import text_lines
from .ids import concept_id
from .model import Concept, Ontology, ontology_of_file

MEDIC_COLUMNS = [
    "DiseaseName", "DiseaseID", "AltDiseaseIDs", "Definition", "ParentIDs",
    "TreeNumbers", "ParentTreeNumbers", "Synonyms", "SlimMappings",
]


def _split(value: str) -> list[str]:
    return [part for part in value.split("|") if part]


def read_medic(path: str | Path) -> Ontology:
    """Parse MEDIC: one concept per row, alt ids (`DO:DOID:…` kept as they are) and synonyms."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "MEDIC file not found")
    concepts: list[Concept] = []
    line_numbers = array("L")
    for line_no, line in text_lines(path):
        if line.startswith("#") or not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) < 8:
            raise InputFormatError(
                path, f"expected at least 8 tab-separated columns ({', '.join(MEDIC_COLUMNS[:8])}), found {len(cells)}", line_no
            )
        name, raw_id, alt_ids, definition, parents, trees, _, synonyms = cells[:8]
        try:
            medic_id = concept_id(raw_id)
            parent_ids = [concept_id(p) for p in _split(parents)]
        except SpacyXmrError as err:
            raise InputFormatError(path, str(err), line_no) from err
        if not name.strip():
            raise InputFormatError(path, f"concept {medic_id!r} has an empty {MEDIC_COLUMNS[0]}", line_no)
        concepts.append(
            Concept(
                id=medic_id, name=name, synonyms=_split(synonyms), alt_ids=_split(alt_ids),
                definition=definition, types=_split(trees), parents=parent_ids,
            )
        )
        line_numbers.append(line_no)
    if not concepts:
        raise InputFormatError(path, "no concepts found (empty file, or every line is a comment)")
    return ontology_of_file(path, concepts, line_numbers, f"MEDIC ({path.name})")
