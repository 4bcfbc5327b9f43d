"""Write BioC collections as PubTator (the format `read_pubtator` reads), e.g. annotate's linked output.

Per document: `ID|t|title`, `ID|a|abstract`, then one line per annotation
`ID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>ids`, where ids is the prediction (`predicted_id`) when the
annotation has one, else its gold `identifier`, and `-1` for none or NIL. The title is the text up to the
end of the first passage and the abstract the text after the one separator character that follows
it, so offsets stay document offsets. PubTator has no place for candidate lists: use BioC or JSONL for them.
"""
from __future__ import annotations

from pathlib import Path

import bioc

from ..errors import SpacyXmrError
from .bioc_documents import annotation_span, document_text, iter_annotations, sorted_passages
from .candidates import NIL, PREDICTED_ID
from .writers import OutputFormat, no_bytes, write_collection

NO_ID = "-1"
_LINE_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\t": " "})  # same length: offsets are kept


def _title_and_abstract(document: bioc.BioCDocument, text: str) -> tuple[str, str]:
    passages = sorted_passages(document)
    if not passages:
        return "", ""
    title_end = passages[0].offset + len(passages[0].text or "")
    if len(passages) > 1 and passages[1].offset == title_end:
        raise SpacyXmrError(
            f"document {document.id}: its second passage starts right where the first ends (offset {title_end}); "
            "PubTator needs one separator character between title and abstract: write BioC or JSONL instead"
        )
    return text[:title_end], text[title_end + 1:]


def _concept_ids(annotation: bioc.BioCAnnotation) -> str:
    ids = annotation.infons.get(PREDICTED_ID, annotation.infons.get("identifier", NO_ID))
    return NO_ID if ids in ("", NIL) else ids


def document_lines(document: bioc.BioCDocument) -> list[str]:
    """The PubTator lines of one document (without the blank separator line)."""
    text = document_text(document).translate(_LINE_BREAKS)
    title, abstract = _title_and_abstract(document, text)
    lines = [f"{document.id}|t|{title}", f"{document.id}|a|{abstract}"]
    annotations = sorted((a for _, a in iter_annotations(document) if a.locations), key=annotation_span)
    for annotation in annotations:
        start, end = annotation_span(annotation)
        entity_type = annotation.infons.get("type", "")
        lines.append(f"{document.id}\t{start}\t{end}\t{text[start:end]}\t{entity_type}\t{_concept_ids(annotation)}")
    return lines


def _pubtator_record(document: bioc.BioCDocument, collection: bioc.BioCCollection) -> bytes:
    return ("\n".join(document_lines(document)) + "\n\n").encode("utf8")


PUBTATOR_OUTPUT = OutputFormat("pubtator", no_bytes, _pubtator_record, no_bytes)


def write_pubtator(collection: bioc.BioCCollection, path: str | Path) -> None:
    """Write PubTator atomically (gzipped when the name ends in `.gz`); one blank line after each document."""
    write_collection(collection, path, PUBTATOR_OUTPUT)
