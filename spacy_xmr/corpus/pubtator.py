"""Reader for PubTator files (NCBI Disease, BC5CDR, MedMentions) into BioC collections.

Format: per document a title line `PMID|t|text`, an abstract line `PMID|a|text`, then one tab-separated
line per mention `PMID start end mention type ids [composite mention strings]`; relation lines
(`PMID<TAB>CID<TAB>id<TAB>id`) are ignored; blank lines separate documents. The mention column
must equal the text at its offsets, ignoring surrounding spaces (one NCBI Disease line has trailing ones). Offsets count the title
from 0 and the abstract from len(title) + 1.

In the BioC result each document has a `title` and an `abstract` passage. Annotation ids are the
mention's index among the document's mention lines (stable under `entity_types` filtering), and the
infons are `type`, `identifier` (normalised ids joined by `|`; absent for `-1`) and, where the file
has a 7th column, `composite_mentions`. Document ids are the PMIDs; an exact repeat of a document
gets the id `PMID-2` and the infon `duplicate_of` (see `_unique_id`).
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import bioc

from ..errors import InputFormatError, SpacyXmrError
from ..ontology import normalize_id, split_gold_ids
from .types import type_matches

TITLE, ABSTRACT = "t", "a"


@dataclass
class _Document:
    pmid: str
    first_line: int
    texts: dict[str, str] = field(default_factory=dict)
    mention_lines: list[tuple[int, list[str]]] = field(default_factory=list)


def _open_text(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", encoding="utf8")


def _read_documents(path: Path) -> list[_Document]:
    """Group the file's lines by document, checking the line kinds."""
    documents: list[_Document] = []
    current: _Document | None = None
    with _open_text(path) as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            head = line.split("|", 2)
            if len(head) == 3 and head[1] in (TITLE, ABSTRACT) and "\t" not in head[0]:
                pmid, kind, text = head
                if current is None or current.pmid != pmid or kind in current.texts:
                    current = _Document(pmid, line_no)
                    documents.append(current)
                current.texts[kind] = text
                continue
            cells = line.split("\t")
            if len(cells) >= 2 and not cells[1].strip().isdigit():
                continue  # relation line such as `PMID<TAB>CID<TAB>D1<TAB>D2`
            if current is None or cells[0] != current.pmid:
                raise InputFormatError(
                    path, f"mention line for document {cells[0]!r} does not follow that document's title/abstract lines", line_no
                )
            if len(cells) < 5:
                raise InputFormatError(
                    path,
                    f"mention line has {len(cells)} tab-separated columns; expected PMID, start, end, mention, type[, ids]",
                    line_no,
                )
            current.mention_lines.append((line_no, cells))
    return documents


def _passages(path: Path, document: _Document) -> list[bioc.BioCPassage]:
    if TITLE not in document.texts:
        raise InputFormatError(path, f"document {document.pmid} has no title line `{document.pmid}|t|…`", document.first_line)
    title = document.texts[TITLE]
    abstract = document.texts.get(ABSTRACT, "")
    passages = []
    for kind, offset, text in (("title", 0, title), ("abstract", len(title) + 1, abstract)):
        passage = bioc.BioCPassage.of_text(text, offset)
        passage.infons["type"] = kind
        passages.append(passage)
    return passages


def _annotation(path: Path, document: _Document, full_text: str, index: int, line_no: int, cells: list[str]):
    _, start_cell, end_cell, mention, entity_type, *rest = cells
    try:
        start, end = int(start_cell), int(end_cell)
    except ValueError:
        raise InputFormatError(path, f"start/end offsets {start_cell!r}, {end_cell!r} are not integers", line_no) from None
    if not 0 <= start < end <= len(full_text):
        raise InputFormatError(
            path, f"offsets {start}-{end} lie outside document {document.pmid} (text length {len(full_text)})", line_no
        )
    if full_text[start:end] != mention.strip():  # NCBI Disease has one mention column with trailing spaces
        raise InputFormatError(
            path, f"mention {mention!r} does not match the document text at {start}-{end}: {full_text[start:end]!r}", line_no
        )
    annotation = bioc.BioCAnnotation()
    annotation.id = str(index)
    annotation.text = full_text[start:end]
    annotation.add_location(bioc.BioCLocation(start, end - start))
    annotation.infons["type"] = entity_type
    try:
        ids = [normalize_id(raw) for raw in split_gold_ids(rest[0])] if rest else []
    except SpacyXmrError as err:
        raise InputFormatError(path, str(err), line_no) from err
    if ids:
        annotation.infons["identifier"] = "|".join(ids)
    if len(rest) > 1 and rest[1]:
        annotation.infons["composite_mentions"] = rest[1]
    return annotation


def _content(document: _Document) -> tuple:
    return document.texts, [cells[1:] for _, cells in document.mention_lines]


def _unique_id(path: Path, document: _Document, seen: dict[str, _Document]) -> str:
    """The document's BioC id: its PMID, or `PMID-2`, `PMID-3`… for exact repeats of an earlier document.

    NCBI Disease's training file holds PMID 8528200 twice with identical content; the official count of
    593 documents keeps both, and BioC ids must be unique. A repeat with different content is an error.
    """
    first = seen.get(document.pmid)
    if first is None:
        seen[document.pmid] = document
        return document.pmid
    if _content(first) != _content(document):
        raise InputFormatError(
            path, f"document {document.pmid} appears twice with different content (first at line {first.first_line})",
            document.first_line,
        )
    copy_number = 2
    while f"{document.pmid}-{copy_number}" in seen:
        copy_number += 1
    unique = f"{document.pmid}-{copy_number}"
    seen[unique] = document
    return unique


def read_pubtator(path: str | Path, entity_types: list[str] | None = None) -> bioc.BioCCollection:
    """Read a PubTator file (optionally `.gz`), keeping the mentions of `entity_types` (all when None).

    Checks that every mention's text equals the document text at its offsets; errors name file and line.
    """
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "PubTator file not found")
    documents = _read_documents(path)
    if not documents:
        raise InputFormatError(path, "no documents found: expected `PMID|t|title` lines (empty file?)")
    collection = bioc.BioCCollection()
    collection.source = path.name
    seen: dict[str, _Document] = {}
    for document in documents:
        document_id = _unique_id(path, document, seen)
        passages = _passages(path, document)
        full_text = passages[0].text + " " + passages[1].text
        bioc_document = bioc.BioCDocument()
        bioc_document.id = document_id
        if document_id != document.pmid:
            bioc_document.infons["duplicate_of"] = document.pmid
        for index, (line_no, cells) in enumerate(document.mention_lines):
            annotation = _annotation(path, document, full_text, index, line_no, cells)
            if not type_matches(annotation.infons["type"], entity_types):
                continue
            target = passages[0] if annotation.locations[0].offset < passages[1].offset else passages[1]
            if annotation.locations[0].end > target.offset + len(target.text):
                raise InputFormatError(path, f"mention {annotation.text!r} crosses from the title into the abstract", line_no)
            target.add_annotation(annotation)
        for passage in passages:
            bioc_document.add_passage(passage)
        collection.add_document(bioc_document)
    return collection
