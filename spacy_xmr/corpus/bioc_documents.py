"""Document text and annotation spans of BioC documents, with the checks every reader shares.

BioC offsets are document-level: each passage carries its own offset. The document text is the
passages placed at their offsets, gaps filled with spaces (PubTator's title/abstract gap becomes
one space). An annotation's span runs from its first location's start to its last location's end;
for a discontiguous annotation (several locations) the span therefore covers the gap too and the
annotation text is kept as given (it is not compared to the document text).
"""
from __future__ import annotations

from typing import Iterator

import bioc

from ..errors import SpacyXmrError


def sorted_passages(document: bioc.BioCDocument) -> list[bioc.BioCPassage]:
    return sorted(document.passages, key=lambda passage: passage.offset)


def document_text(document: bioc.BioCDocument) -> str:
    """The passages joined at their offsets; raises SpacyXmrError where passages overlap."""
    parts: list[str] = []
    length = 0
    for passage in sorted_passages(document):
        text = passage.text or ""
        if passage.offset < length:
            raise SpacyXmrError(
                f"document {document.id}: passage at offset {passage.offset} overlaps the previous passage (ends at {length})"
            )
        parts.append(" " * (passage.offset - length))
        parts.append(text)
        length = passage.offset + len(text)
    return "".join(parts)


def annotation_span(annotation: bioc.BioCAnnotation) -> tuple[int, int]:
    """(start, end) document offsets from the first location's start to the last location's end."""
    return (
        min(location.offset for location in annotation.locations),
        max(location.offset + location.length for location in annotation.locations),
    )


def iter_annotations(document: bioc.BioCDocument) -> Iterator[tuple[int | None, bioc.BioCAnnotation]]:
    """(passage index in offset order, annotation) for passage annotations, then (None, a) for document-level ones."""
    for index, passage in enumerate(sorted_passages(document)):
        for annotation in passage.annotations:
            yield index, annotation
    for annotation in document.annotations:
        yield None, annotation


def annotation_types(collection: bioc.BioCCollection) -> set[str]:
    """The entity types (`type` infons, "" where none) of every annotation of `collection`."""
    return {annotation.infons.get("type", "") for document in collection.documents for _, annotation in iter_annotations(document)}


def check_annotation(document: bioc.BioCDocument, annotation: bioc.BioCAnnotation, text: str) -> None:
    """Raise SpacyXmrError (naming document and annotation) for a missing id, bad offsets or a text mismatch.

    An annotation without locations is valid BioC (NLM-Chem's document-level MeSH indexing); it only
    fails later if it is selected as a mention.
    """
    where = f"document {document.id}, annotation {annotation.id!r}"
    if not annotation.id:
        raise SpacyXmrError(f"document {document.id}: an annotation has no id; give every annotation a unique id")
    for location in annotation.locations:
        if location.offset < 0 or location.length <= 0 or location.offset + location.length > len(text):
            raise SpacyXmrError(
                f"{where}: location {location.offset}+{location.length} lies outside the document text (length {len(text)})"
            )
    if len(annotation.locations) == 1:
        start, end = annotation_span(annotation)
        if annotation.text is not None and text[start:end] != annotation.text:
            raise SpacyXmrError(f"{where}: text {annotation.text!r} does not match the document text {text[start:end]!r}")


def title_and_abstract(title: str, abstract: str) -> list[bioc.BioCPassage]:
    """A `title` passage at offset 0 and an `abstract` passage at len(title) + 1 (PubTator's layout)."""
    passages = []
    for kind, offset, text in (("title", 0, title), ("abstract", len(title) + 1, abstract)):
        passage = bioc.BioCPassage.of_text(text, offset)
        passage.infons["type"] = kind
        passages.append(passage)
    return passages
