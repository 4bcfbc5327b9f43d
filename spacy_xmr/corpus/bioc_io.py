"""BioC XML files (`.xml`, `.xml.gz`) in and out, and `read_corpus` that accepts BioC or PubTator."""
from __future__ import annotations

import gzip
from pathlib import Path

import bioc
from bioc import biocxml
from lxml import etree

from ..atomic import atomic_open
from ..errors import InputFormatError, SpacyXmrError
from .documents import check_annotation, document_text, iter_annotations
from .pubtator import read_pubtator
from .types import type_matches


def _is_gzip(path: Path) -> bool:
    return path.suffix == ".gz"


def check_collection(collection: bioc.BioCCollection, path: Path) -> None:
    """Validate passages and annotations (unique ids, offsets, texts); errors name the file and element."""
    seen_documents: set[str] = set()
    for document in collection.documents:
        if document.id in seen_documents:
            raise InputFormatError(path, f"document id {document.id!r} appears twice")
        seen_documents.add(document.id)
        seen_annotations: set[str] = set()
        try:
            text = document_text(document)
            for _, annotation in iter_annotations(document):
                check_annotation(document, annotation, text)
                if annotation.id in seen_annotations:
                    raise SpacyXmrError(f"document {document.id}: annotation id {annotation.id!r} appears twice")
                seen_annotations.add(annotation.id)
        except SpacyXmrError as err:
            raise InputFormatError(path, str(err)) from err


def read_bioc(path: str | Path) -> bioc.BioCCollection:
    """Read and validate a BioC XML file; truncated or malformed XML raises InputFormatError with the line."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "BioC file not found")
    try:
        with (gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")) as handle:
            collection = biocxml.load(handle)
    except etree.XMLSyntaxError as err:
        raise InputFormatError(path, f"malformed or truncated BioC XML: {err.msg}", line=err.lineno) from err
    except (OSError, EOFError) as err:
        raise InputFormatError(path, f"cannot read BioC XML: {err}") from err
    except (TypeError, ValueError, AttributeError) as err:
        raise InputFormatError(path, f"not a BioC collection (missing or invalid element): {err}") from err
    check_collection(collection, path)
    return collection


def write_bioc(collection: bioc.BioCCollection, path: str | Path) -> None:
    """Write BioC XML atomically, gzipped when the name ends in `.gz`."""
    path = Path(path)
    data = biocxml.dumps(collection).encode(collection.encoding or "utf-8")
    with atomic_open(path, "wb") as raw:
        if _is_gzip(path):
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(data)
        else:
            raw.write(data)


def filter_entity_types(collection: bioc.BioCCollection, entity_types: list[str] | None) -> bioc.BioCCollection:
    """Drop, in place, the annotations whose type is not in `entity_types` (keep all when None)."""
    if entity_types is None:
        return collection
    for document in collection.documents:
        for holder in [document, *document.passages]:
            holder.annotations = [a for a in holder.annotations if type_matches(a.infons.get("type", ""), entity_types)]
    return collection


def _looks_like_xml(path: Path) -> bool:
    try:
        with (gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")) as handle:
            return handle.read(512).lstrip().startswith(b"<")
    except (OSError, EOFError) as err:
        raise InputFormatError(path, f"cannot read corpus file: {err}") from err


def read_corpus(path: str | Path, entity_types: list[str] | None = None) -> bioc.BioCCollection:
    """Read BioC XML (`.xml`, `.xml.gz`, or content starting with `<`) or else PubTator."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(path, "corpus file not found")
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if ".xml" in suffixes or _looks_like_xml(path):
        return filter_entity_types(read_bioc(path), entity_types)
    return read_pubtator(path, entity_types)
