"""Open an ontology from whichever file a user has at hand, recognised by content whatever its name:
our own format (gzipped or not) or a MEDIC release file."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputFormatError
from ..gzip_files import read_head
from .medic import MEDIC_COLUMNS, read_medic
from .model import FORMAT_NAME, Ontology


def _is_spacy_xmr_ontology(first_line: str) -> bool:
    try:
        header = json.loads(first_line)
    except json.JSONDecodeError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT_NAME


def _is_medic(head: str) -> bool:
    """MEDIC's `# DiseaseName ...` comment header, or a first row with its 9 tab-separated columns."""
    lines = [line for line in head.splitlines() if line.strip()]
    if any(line.startswith("#") and MEDIC_COLUMNS[0] in line for line in lines[:50]):
        return True
    rows = [line for line in lines if not line.startswith("#")]
    return bool(rows) and len(rows[0].split("\t")) >= 8


def read_ontology_file(path: str | Path) -> Ontology:
    """A spacy-xmr ontology (JSON lines, gzipped or not) or a MEDIC release file (`CTD_diseases.tsv[.gz]`)."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "ontology file not found")
    head = read_head(path)
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    if _is_spacy_xmr_ontology(first_line):
        return Ontology.from_disk(path)
    if _is_medic(head):
        return read_medic(path)
    raise InputFormatError(
        path,
        f"expected a spacy-xmr ontology (first line a JSON header with \"format\": \"{FORMAT_NAME}\") or a MEDIC "
        f"CTD_diseases.tsv(.gz) file; found {first_line[:80]!r}",
        1,
    )
