"""JSON Lines corpora (`.jsonl`, `.jsonl.gz`): one document per line, in and out.

A line is `{"id": ..., "text": ...}` or `{"id": ..., "title": ..., "abstract": ...}` (the title at
offset 0, the abstract at len(title) + 1, as in PubTator), with optional
`"entities": [{"start", "end", "type", "identifier"?, "id"?}]` (document-level character offsets;
`identifier`: gold ids joined by `|`). `write_jsonl` writes the same fields and, for linked entities,
`kb_id` (the prediction), `candidates` (`[[id, score], ...]`, best first) and, where the linker is calibrated,
`confidence` (the probability that `kb_id` is right), which `read_jsonl` reads back into the candidate infons
(`kb_id` as the predicted id: NIL where the threshold made it NIL, though the entity has candidates).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import bioc

from ..errors import InputFormatError, SpacyXmrError
from ..gzip_files import text_lines
from .bioc_documents import annotation_span, document_text, iter_annotations, sorted_passages, title_and_abstract
from .candidates import PREDICTED_ID, get_candidates, get_confidence, set_candidates
from .streams import CorpusStream
from .writers import OutputFormat, no_bytes, write_collection


def _string(path: Path, line_no: int, record: dict, key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise InputFormatError(path, f"field {key!r} must be a string, got {type(value).__name__}", line_no)
    return value


def _passages(path: Path, line_no: int, record: dict) -> list[bioc.BioCPassage]:
    if "text" in record:
        return [bioc.BioCPassage.of_text(_string(path, line_no, record, "text"), 0)]
    if "title" not in record:
        raise InputFormatError(path, 'a document needs "text", or "title" and "abstract"', line_no)
    title = _string(path, line_no, record, "title")
    abstract = _string(path, line_no, record, "abstract") if "abstract" in record else ""
    return title_and_abstract(title, abstract)


def _annotation(path: Path, line_no: int, index: int, entity, text: str) -> bioc.BioCAnnotation:
    if not isinstance(entity, dict):
        raise InputFormatError(path, f"entity {index} must be an object with start, end and type", line_no)
    start, end = entity.get("start"), entity.get("end")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise InputFormatError(path, f"entity {index}: start/end {start!r}-{end!r} are not offsets inside the text (length {len(text)})", line_no)
    annotation = bioc.BioCAnnotation()
    annotation.id = str(entity.get("id", index))
    annotation.text = text[start:end]
    annotation.add_location(bioc.BioCLocation(start, end - start))
    annotation.infons["type"] = str(entity.get("type", ""))
    if entity.get("identifier"):
        annotation.infons["identifier"] = str(entity["identifier"])
    if "candidates" in entity:
        try:
            set_candidates(annotation, [(str(cid), float(score)) for cid, score in entity["candidates"]], entity.get("confidence"))
        except (TypeError, ValueError, SpacyXmrError) as err:
            raise InputFormatError(path, f"entity {index}: candidates must be [[id, score], ...] with a numeric confidence "
                                   f"({err})", line_no) from err
    if "kb_id" in entity:  # the decision, which is not always the first candidate (NIL under a threshold, a kept id)
        if not isinstance(entity["kb_id"], str) or not entity["kb_id"]:
            raise InputFormatError(path, f"entity {index}: kb_id must be a non-empty string (a concept id or NIL), got "
                                   f"{entity['kb_id']!r}", line_no)
        annotation.infons[PREDICTED_ID] = entity["kb_id"]
    return annotation


def _document(path: Path, line_no: int, record) -> bioc.BioCDocument:
    if not isinstance(record, dict):
        raise InputFormatError(path, "each line must be a JSON object", line_no)
    if not isinstance(record.get("id"), (str, int)) or record.get("id") == "":
        raise InputFormatError(path, 'each document needs a non-empty "id"', line_no)
    document = bioc.BioCDocument()
    document.id = str(record["id"])
    for passage in _passages(path, line_no, record):
        document.add_passage(passage)
    text = document_text(document)
    entities = record.get("entities", [])
    if not isinstance(entities, list):
        raise InputFormatError(path, '"entities" must be a list', line_no)
    for index, entity in enumerate(entities):
        annotation = _annotation(path, line_no, index, entity, text)
        target = max((p for p in document.passages if p.offset <= annotation.locations[0].offset), key=lambda p: p.offset)
        target.add_annotation(annotation)
    return document


def stream_jsonl(path: str | Path) -> CorpusStream:
    """A JSONL corpus read a line at a time; errors name the file, line and field."""
    return CorpusStream.of_file(Path(path), "JSONL", _documents)


def _documents(path: Path) -> Iterator[bioc.BioCDocument]:
    first_line: dict[str, int] = {}
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputFormatError(path, f"not valid JSON: {err.msg} (column {err.colno})", line_no) from err
        document = _document(path, line_no, record)
        if document.id in first_line:
            raise InputFormatError(path, f"document id {document.id!r} already used on line {first_line[document.id]}", line_no)
        first_line[document.id] = line_no
        yield document


def read_jsonl(path: str | Path) -> bioc.BioCCollection:
    """Read a JSONL corpus; errors name the file, line and field."""
    return stream_jsonl(path).collection()


def _is_title_abstract(passages: list[bioc.BioCPassage]) -> bool:
    return (
        len(passages) == 2
        and [p.infons.get("type") for p in passages] == ["title", "abstract"]
        and passages[0].offset == 0
        and passages[1].offset == len(passages[0].text or "") + 1
    )


def _entity(annotation: bioc.BioCAnnotation) -> dict:
    start, end = annotation_span(annotation)
    entity = {"id": annotation.id, "start": start, "end": end, "text": annotation.text, "type": annotation.infons.get("type", "")}
    if annotation.infons.get("identifier"):
        entity["identifier"] = annotation.infons["identifier"]
    if PREDICTED_ID in annotation.infons:
        entity["kb_id"] = annotation.infons[PREDICTED_ID]
        entity["candidates"] = [[cid, score] for cid, score in get_candidates(annotation)]
        confidence = get_confidence(annotation)
        if confidence is not None:
            entity["confidence"] = confidence
    return entity


def document_record(document: bioc.BioCDocument) -> dict:
    """The JSONL record of one document (the inverse of what `read_jsonl` reads)."""
    passages = sorted_passages(document)
    if _is_title_abstract(passages):
        record = {"id": document.id, "title": passages[0].text or "", "abstract": passages[1].text or ""}
    else:
        record = {"id": document.id, "text": document_text(document)}
    record["entities"] = [_entity(annotation) for _, annotation in iter_annotations(document) if annotation.locations]
    return record


def _jsonl_line(document: bioc.BioCDocument, collection: bioc.BioCCollection) -> bytes:
    return (json.dumps(document_record(document), ensure_ascii=False) + "\n").encode("utf8")


JSONL_OUTPUT = OutputFormat("jsonl", no_bytes, _jsonl_line, no_bytes)


def write_jsonl(collection: bioc.BioCCollection, path: str | Path) -> None:
    """Write one JSON line per document atomically, gzipped when the name ends in `.gz`."""
    write_collection(collection, path, JSONL_OUTPUT)


def looks_like_jsonl(head: str) -> bool:
    """True when the first non-blank line is a JSON object with an id and a text or title (for format sniffing)."""
    line = next((line for line in head.splitlines() if line.strip()), "")
    if not line.lstrip().startswith("{"):
        return False
    try:
        record = json.loads(line)
    except json.JSONDecodeError:  # a first line longer than the sniffed head
        return '"id"' in line and ('"text"' in line or '"title"' in line)
    return isinstance(record, dict) and "id" in record and ("text" in record or "title" in record)
