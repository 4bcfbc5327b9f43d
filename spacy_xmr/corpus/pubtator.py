"""Reader for PubTator files (NCBI Disease, BC5CDR, MedMentions, BioRED, PubTator 3 exports) into BioC collections.

Format: a record is a title line `PMID|t|text`, an abstract line `PMID|a|text`, then one tab-separated
line per mention `PMID start end mention type [ids [composite mention strings]]`; blank lines separate
records. Offsets count from the start of the record's title; the abstract starts at len(title) + 1. The
mention column must equal the text at its offsets, ignoring surrounding spaces (one NCBI Disease line has
trailing ones). Tab-separated lines whose second column is not an offset are relation lines
(`PMID<TAB>CID<TAB>D1<TAB>D2`, BioRED's `PMID<TAB>Association<TAB>…`) and are skipped.

Consecutive records with the same id are the passages of one document (NLM's full-text exports put each
section in its own record, with its text in `|t|` and an empty `|a|`); a record after one with an abstract starts a
new document, so that an abstract repeated right after itself (two files joined with `cat`) is seen as a repeat. A
later record with the id of an earlier document is a repeat: an exact repeat gets the id `PMID-2` and the infon
`duplicate_of` (see `_unique_id`); a repeat with other content is an error.

Ids are kept as written, split on `|` `,` `;` `+`, `-`/`-1` meaning none (see `ontology.ids`). The
`bare_ids` rules add prefixes where the corpus's own convention leaves them out; the default,
`NCBI_PUBTATOR_IDS`, is the convention of NCBI's PubTator corpora. In the BioC result every record gives
a `title` passage (`paragraph` after the first record) and an `abstract` passage (skipped when empty in
a multi-record document); annotation ids are the mention's index among the document's mention lines
(stable under `entity_types` filtering); infons are `type`, `identifier` (absent without ids) and, from
a 7th column, `composite_mentions`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import bioc

from ..errors import InputFormatError
from ..gzip_files import text_lines
from ..ontology import BareIdRule, apply_bare_id_rules, join_gold_ids, split_gold_ids
from .streams import CorpusStream
from .types import type_matches

TITLE, ABSTRACT = "t", "a"
_TEXT_LINE = re.compile(r"^([^\t|]+)\|([ta])\|")
_MENTION_LINE = re.compile(r"^[^\t]+\t\d+\t")

# NCBI Disease (types SpecificDisease, DiseaseClass, Modifier, CompositeMention), BC5CDR and NLM-Chem
# (Disease, Chemical) write MeSH ids without their prefix (`D008107`, `C535575`), and NCBI Disease writes
# OMIM numbers bare; PubTator 3 writes `MESH:…` itself and bare numbers only for genes and species. A MeSH id has 6
# or 9 digits after its letter; a UMLS CUI (`C0020538`, 7 digits) is not one and stays as written.
_NCBI_DISEASE_TYPES = frozenset({"SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"})
NCBI_PUBTATOR_IDS = (
    BareIdRule(re.compile(r"[CD](?:\d{6}|\d{9})"), "MESH", _NCBI_DISEASE_TYPES | {"Disease", "Chemical"}),
    BareIdRule(re.compile(r"\d+"), "OMIM", _NCBI_DISEASE_TYPES),
)


def looks_like_pubtator(head: str) -> bool:
    """True when the first non-blank line is a title/abstract line or a tab-separated mention line."""
    line = next((line for line in head.splitlines() if line.strip()), "")
    return bool(_TEXT_LINE.match(line) or _MENTION_LINE.match(line))


@dataclass
class _Record:
    first_line: int
    texts: dict[str, str] = field(default_factory=dict)
    mention_lines: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class _Document:
    pmid: str
    records: list[_Record] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.records[0].first_line

    def content(self) -> list:
        return [(r.texts, [cells[1:] for _, cells in r.mention_lines]) for r in self.records]

    def continued_by(self, pmid: str) -> bool:
        """Whether a title record of `pmid` that follows is one more passage of this document: it has the same id,
        and this document is a full-text export's (its records' abstracts empty), not an abstract that the file
        repeats (e.g. two files joined with `cat`)."""
        return pmid == self.pmid and not any(record.texts.get(ABSTRACT, "").strip() for record in self.records)


def _read_documents(path: Path) -> Iterator[_Document]:
    """Group the file's lines into records and records into documents, checking the line kinds; a document is
    yielded once the next one starts."""
    document: _Document | None = None
    record: _Record | None = None
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        text_line = _TEXT_LINE.match(line)
        if text_line:
            pmid, kind = text_line.groups()
            if kind == TITLE or record is None or document.pmid != pmid or ABSTRACT in record.texts:
                record = _Record(line_no)
                if document is None or not (document.continued_by(pmid) if kind == TITLE else document.pmid == pmid):
                    if document is not None:
                        yield document
                    document = _Document(pmid)
                document.records.append(record)
            record.texts[kind] = line[text_line.end():]
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise InputFormatError(
                path, f"neither a `PMID|t|title` / `PMID|a|abstract` line nor a tab-separated mention line: {line[:80]!r}", line_no
            )
        if not cells[1].strip().isdigit():
            continue  # relation line such as `PMID<TAB>CID<TAB>D1<TAB>D2`
        if record is None or cells[0] != document.pmid:
            raise InputFormatError(
                path, f"mention line for document {cells[0][:80]!r} does not follow that document's title/abstract lines", line_no
            )
        if len(cells) < 5:
            raise InputFormatError(
                path,
                f"mention line has {len(cells)} tab-separated columns; expected PMID, start, end, mention, type[, ids]",
                line_no,
            )
        record.mention_lines.append((line_no, cells))
    if document is not None:
        yield document


def _annotation(
    path: Path, text: str, title_length: int, base: int, index: int, line: tuple[int, list[str]], bare_ids: tuple[BareIdRule, ...]
) -> bioc.BioCAnnotation:
    """The annotation of one mention line of a record with `text`; `base` is the record's document offset."""
    line_no, (_, start_cell, end_cell, mention, entity_type, *rest) = line
    try:
        start, end = int(start_cell), int(end_cell)
    except ValueError:
        raise InputFormatError(path, f"start/end offsets {start_cell[:20]!r}, {end_cell[:20]!r} are not integers", line_no) from None
    if not 0 <= start < end <= len(text):
        raise InputFormatError(path, f"offsets {start}-{end} lie outside the record (text length {len(text)})", line_no)
    if text[start:end] != mention.strip():  # NCBI Disease has one mention column with trailing spaces
        raise InputFormatError(
            path, f"mention {mention[:80]!r} does not match the text at {start}-{end}: {text[start:end][:80]!r}", line_no
        )
    if start < title_length < end:
        raise InputFormatError(path, f"mention {mention[:80]!r} crosses from the title into the abstract", line_no)
    annotation = bioc.BioCAnnotation()
    annotation.id = str(index)
    annotation.text = text[start:end]
    annotation.add_location(bioc.BioCLocation(base + start, end - start))
    annotation.infons["type"] = entity_type
    ids = [apply_bare_id_rules(raw, entity_type, bare_ids) for raw in split_gold_ids(rest[0])] if rest else []
    if ids:
        annotation.infons["identifier"] = join_gold_ids(ids)
    if len(rest) > 1 and rest[1]:
        annotation.infons["composite_mentions"] = rest[1]
    return annotation


def _passage(text: str, offset: int, kind: str) -> bioc.BioCPassage:
    passage = bioc.BioCPassage.of_text(text, offset)
    passage.infons["type"] = kind
    return passage


@dataclass(frozen=True)
class _Seen:
    """What is kept of a document already read: enough to tell an exact repeat, not the document."""

    digest: bytes
    first_line: int


def _unique_id(path: Path, document: _Document, seen: dict[str, _Seen]) -> str:
    """The document's BioC id: its PMID, or `PMID-2`, `PMID-3`… for exact repeats of an earlier document.

    NCBI Disease's training file holds PMID 8528200 twice with identical content; the official count of
    593 documents keeps both, and BioC ids must be unique. A repeat with different content is an error.
    """
    this = _Seen(hashlib.sha256(repr(document.content()).encode("utf8")).digest(), document.first_line)
    first = seen.get(document.pmid)
    if first is None:
        seen[document.pmid] = this
        return document.pmid
    if first.digest != this.digest:
        raise InputFormatError(
            path, f"document {document.pmid} appears twice with different content (first at line {first.first_line})",
            document.first_line,
        )
    copy_number = 2
    while f"{document.pmid}-{copy_number}" in seen:
        copy_number += 1
    unique = f"{document.pmid}-{copy_number}"
    seen[unique] = this
    return unique


def _bioc_document(
    path: Path, document: _Document, document_id: str, entity_types: list[str] | None, bare_ids: tuple[BareIdRule, ...]
) -> bioc.BioCDocument:
    """The records placed one after another (one space apart), each giving its passages and annotations."""
    result = bioc.BioCDocument()
    result.id = document_id
    if document_id != document.pmid:
        result.infons["duplicate_of"] = document.pmid
    base, index = 0, 0
    for number, record in enumerate(document.records):
        if TITLE not in record.texts:
            message = f"record of document {document.pmid} has no title line `{document.pmid}|t|…`"
            raise InputFormatError(path, message, record.first_line)
        title, abstract = record.texts[TITLE], record.texts.get(ABSTRACT, "")
        text = f"{title} {abstract}"
        passages = [_passage(title, base, "title" if number == 0 else "paragraph")]
        if abstract or len(document.records) == 1:
            passages.append(_passage(abstract, base + len(title) + 1, "abstract"))
        for line in record.mention_lines:
            if type_matches(line[1][4], entity_types):
                annotation = _annotation(path, text, len(title), base, index, line, bare_ids)
                passages[0 if annotation.locations[0].offset < base + len(title) + 1 else -1].add_annotation(annotation)
            index += 1
        for passage in passages:
            result.add_passage(passage)
        base += len(text) + 1
    return result


def stream_pubtator(
    path: str | Path, entity_types: list[str] | None = None, bare_ids: Iterable[BareIdRule] = NCBI_PUBTATOR_IDS
) -> CorpusStream:
    """A PubTator file (gzipped or not) read a document at a time, keeping the mentions of `entity_types` (all when
    None).

    Type filtering comes first: the other mentions are not checked. Every kept mention's text must equal
    the record text at its offsets; errors name file and line. `bare_ids=()` keeps every id as written.
    """
    bare_ids = tuple(bare_ids)
    return CorpusStream.of_file(Path(path), "PubTator", lambda path: _documents(path, entity_types, bare_ids))


def _documents(path: Path, entity_types: list[str] | None, bare_ids: tuple[BareIdRule, ...]) -> Iterator[bioc.BioCDocument]:
    seen: dict[str, _Seen] = {}
    for document in _read_documents(path):
        yield _bioc_document(path, document, _unique_id(path, document, seen), entity_types, bare_ids)


def read_pubtator(
    path: str | Path, entity_types: list[str] | None = None, bare_ids: Iterable[BareIdRule] = NCBI_PUBTATOR_IDS
) -> bioc.BioCCollection:
    """Read a whole PubTator file; see `stream_pubtator`."""
    return stream_pubtator(path, entity_types, bare_ids).collection()
