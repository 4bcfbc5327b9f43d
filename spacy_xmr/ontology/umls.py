"""Reader for a UMLS Metathesaurus release (`MRCONSO.RRF`, `MRSTY.RRF`, optional `MRDEF.RRF`).

Files are `|`-delimited with a trailing `|` (plain or `.gz`), in `META/` or the directory itself:
- MRCONSO: CUI|LAT|TS|LUI|STT|SUI|ISPREF|AUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF
  Only rows with `LAT` in `languages` (default ENG) and `SUPPRESS = N` are kept. The concept name is the
  string of the row with TS=P, STT=PF, ISPREF=Y (else the first kept row); every kept string is a synonym.
- MRSTY: CUI|TUI|STN|STY|ATUI|CVF — the semantic type ids (`T047`) go to `Concept.types`.
- MRDEF: CUI|AUI|ATUI|SATUI|SAB|DEF|SUPPRESS|CVF — the first non-suppressed definition, if the file exists.
Concept ids are `UMLS:C…`, as in MedMentions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from ..errors import InputFormatError
from ..gzip_files import text_lines
from .model import Concept, Ontology

MRCONSO_COLUMNS = 18
MRSTY_COLUMNS = 6
MRDEF_COLUMNS = 8


def _locate(directory: Path, name: str, required: bool = True) -> Path | None:
    for folder in (directory / "META", directory):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.exists():
                return candidate
    if required:
        raise InputFormatError(directory, f"{name} not found in {directory} or {directory / 'META'}")
    return None


def _rows(path: Path, n_columns: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of an RRF file, checking the column count."""
    for line_no, line in tqdm(text_lines(path), desc=path.name, unit=" rows", disable=None):
        cells = line.split("|")
        if cells and cells[-1] == "":
            cells.pop()
        if len(cells) != n_columns:
            raise InputFormatError(path, f"expected {n_columns} `|`-separated columns, found {len(cells)}", line_no)
        yield line_no, cells


def read_umls(directory: str | Path, languages: tuple[str, ...] = ("ENG",)) -> Ontology:
    """Concepts (CUIs) with names, synonyms, semantic types and definitions from a UMLS release."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFormatError(directory, "UMLS release directory not found")
    names: dict[str, str] = {}
    has_preferred_name: set[str] = set()
    synonyms: dict[str, dict[str, None]] = {}
    for _, cells in _rows(_locate(directory, "MRCONSO.RRF"), MRCONSO_COLUMNS):
        cui, lat, ts, stt, ispref, text, suppress = (cells[i] for i in (0, 1, 2, 4, 6, 14, 16))
        if lat not in languages or suppress != "N":
            continue
        synonyms.setdefault(cui, {}).setdefault(text, None)
        if (ts, stt, ispref) == ("P", "PF", "Y") and cui not in has_preferred_name:
            names[cui] = text
            has_preferred_name.add(cui)
        else:
            names.setdefault(cui, text)
    if not names:
        raise InputFormatError(directory, f"MRCONSO.RRF has no non-suppressed rows in languages {languages}")
    types: dict[str, list[str]] = {}
    for _, (cui, tui, *_rest) in _rows(_locate(directory, "MRSTY.RRF"), MRSTY_COLUMNS):
        if cui in names:
            types.setdefault(cui, []).append(tui)
    definitions: dict[str, str] = {}
    mrdef = _locate(directory, "MRDEF.RRF", required=False)
    if mrdef is not None:
        for _, (cui, _aui, _atui, _satui, _sab, definition, suppress, _cvf) in _rows(mrdef, MRDEF_COLUMNS):
            if cui in names and suppress == "N":
                definitions.setdefault(cui, definition)
    concepts = [
        Concept(id=f"UMLS:{cui}", name=name, synonyms=list(synonyms[cui]), definition=definitions.get(cui, ""),
                types=types.get(cui, []))
        for cui, name in names.items()
    ]
    return Ontology(concepts, name=f"UMLS ({directory.name})")
