"""Reader for NLM's MeSH release: descriptors plus supplementary concept records, as one Ontology.

Accepted files (plain or `.gz`), found by name in a release directory:
- XML: `desc<year>.xml` (DescriptorRecord: DescriptorUI, DescriptorName, TreeNumberList,
  ConceptList/Concept/TermList/Term/String, the preferred concept's ScopeNote) and `supp<year>.xml`
  (SupplementalRecord: SupplementalRecordUI, SupplementalRecordName, Note, HeadingMappedToList, terms);
- ASCII: `d<year>.bin` (`*NEWRECORD`, `MH`, `ENTRY`/`PRINT ENTRY` (term before the first `|`), `MN`, `MS`,
  `UI`) and `c<year>.bin` (`NM`, `SY` (term before the first `|`), `HM` (heading names), `NO`, `UI`).
XML is used where a directory holds both. Ids become `MESH:D…`/`MESH:C…`; a descriptor's `types` are its
tree numbers and its parents the descriptors one tree level up; a supplementary record's parents are
the descriptors it is mapped to (`HM`/`HeadingMappedTo`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from lxml import etree

from ..errors import InputFormatError
from ..gzip_files import open_binary, text_lines
from .model import Concept, Ontology


def _terms(record) -> list[str]:
    return [text for text in record.xpath("ConceptList/Concept/TermList/Term/String/text()")]


def _iter_records(path: Path, tag: str) -> Iterator:
    """Each `tag` element of an XML file, cleared after use so memory stays flat on full releases."""
    try:
        with open_binary(path) as handle:
            for _, element in etree.iterparse(handle, events=("end",), tag=tag):
                yield element
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as err:
        raise InputFormatError(path, f"malformed or truncated MeSH XML: {err.msg}", line=err.lineno) from err


def _required(path: Path, element, child: str) -> str:
    value = element.findtext(child)
    if not value:
        raise InputFormatError(path, f"<{element.tag}> without <{child}>", line=element.sourceline)
    return value.strip()


def _descriptors_xml(path: Path) -> Iterator[Concept]:
    for record in _iter_records(path, "DescriptorRecord"):
        name = _required(path, record, "DescriptorName/String")
        scope_note = record.findtext("ConceptList/Concept[@PreferredConceptYN='Y']/ScopeNote") or ""
        yield Concept(
            id="MESH:" + _required(path, record, "DescriptorUI"), name=name, synonyms=_terms(record),
            definition=scope_note.strip(), types=record.xpath("TreeNumberList/TreeNumber/text()"),
        )


def _supplementary_xml(path: Path) -> Iterator[Concept]:
    for record in _iter_records(path, "SupplementalRecord"):
        headings = record.xpath("HeadingMappedToList/HeadingMappedTo/DescriptorReferredTo/DescriptorUI/text()")
        yield Concept(
            id="MESH:" + _required(path, record, "SupplementalRecordUI"),
            name=_required(path, record, "SupplementalRecordName/String"), synonyms=_terms(record),
            definition=(record.findtext("Note") or "").strip(),
            parents=["MESH:" + heading.lstrip("*") for heading in headings],
        )


_ASCII_FIELD = re.compile(r"^([A-Z][A-Z ]*?) = (.*)$")


def _ascii_records(path: Path) -> Iterator[tuple[int, dict[str, list[str]]]]:
    """(line of `*NEWRECORD`, field → values) for each record of a MeSH ASCII file."""
    record: dict[str, list[str]] | None = None
    start = 0
    for line_no, line in text_lines(path):  # undecodable bytes and cut gzip data are named by their line
        if line == "*NEWRECORD":
            if record is not None:
                yield start, record
            record, start = {}, line_no
            continue
        if not line:
            continue
        match = _ASCII_FIELD.match(line)
        if record is None or match is None:
            raise InputFormatError(path, f"expected `*NEWRECORD` or `FIELD = value`, found {line[:60]!r}", line_no)
        record.setdefault(match.group(1), []).append(match.group(2))
    if record is not None:
        yield start, record


def _ascii_value(path: Path, record: dict, key: str, line_no: int) -> str:
    if not record.get(key):
        raise InputFormatError(path, f"record without a `{key} = …` field", line_no)
    return record[key][0]


def _entry_terms(record: dict, *keys: str) -> list[str]:
    return [value.split("|", 1)[0] for key in keys for value in record.get(key, [])]


def _descriptors_ascii(path: Path) -> Iterator[Concept]:
    for line_no, record in _ascii_records(path):
        yield Concept(
            id="MESH:" + _ascii_value(path, record, "UI", line_no), name=_ascii_value(path, record, "MH", line_no),
            synonyms=_entry_terms(record, "PRINT ENTRY", "ENTRY"), definition=record.get("MS", [""])[0],
            types=record.get("MN", []),
        )


def _supplementary_ascii(path: Path, descriptor_ids: dict[str, str]) -> Iterator[Concept]:
    for line_no, record in _ascii_records(path):
        headings = [value.lstrip("*").split("/", 1)[0] for value in record.get("HM", [])]
        yield Concept(
            id="MESH:" + _ascii_value(path, record, "UI", line_no), name=_ascii_value(path, record, "NM", line_no),
            synonyms=_entry_terms(record, "SY"), definition=record.get("NO", [""])[0],
            parents=[descriptor_ids[name] for name in headings if name in descriptor_ids],
        )


def _tree_parents(descriptors: list[Concept]) -> None:
    """Set each descriptor's parents: the descriptors holding its tree numbers minus the last level."""
    by_tree = {tree: concept.id for concept in descriptors for tree in concept.types}
    for concept in descriptors:
        parents = {by_tree[tree.rsplit(".", 1)[0]] for tree in concept.types if "." in tree and tree.rsplit(".", 1)[0] in by_tree}
        concept.parents = sorted(parents)


def _find(directory: Path, pattern: str) -> list[Path]:
    return sorted(p for p in directory.iterdir() if re.fullmatch(pattern, p.name))


def mesh_files(directory: Path) -> tuple[list[Path], list[Path], str]:
    """(descriptor files, supplementary files, "xml" or "ascii") found in a MeSH release directory."""
    descriptors = _find(directory, r"desc\d{4}\.xml(\.gz)?")
    if descriptors:
        return descriptors, _find(directory, r"supp\d{4}\.xml(\.gz)?"), "xml"
    descriptors = _find(directory, r"d\d{4}\.bin(\.gz)?")
    if descriptors:
        return descriptors, _find(directory, r"c\d{4}\.bin(\.gz)?"), "ascii"
    raise InputFormatError(
        directory, "no MeSH descriptor file found: expected desc<year>.xml[.gz] or d<year>.bin[.gz] (see fetch_corpora_sources.sh)"
    )


def read_mesh(directory: str | Path, include_supplementary: bool = True) -> Ontology:
    """All MeSH descriptors (and supplementary concept records) of a release directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFormatError(directory, "MeSH release directory not found")
    descriptor_files, supplementary_files, kind = mesh_files(directory)
    read_descriptors = _descriptors_xml if kind == "xml" else _descriptors_ascii
    descriptors = [concept for path in descriptor_files for concept in read_descriptors(path)]
    _tree_parents(descriptors)
    supplementary: list[Concept] = []
    if include_supplementary:
        names = {concept.name: concept.id for concept in descriptors}
        for path in supplementary_files:
            supplementary.extend(_supplementary_xml(path) if kind == "xml" else _supplementary_ascii(path, names))
    return Ontology(descriptors + supplementary, name=f"MeSH ({', '.join(p.name for p in descriptor_files + supplementary_files)})")
