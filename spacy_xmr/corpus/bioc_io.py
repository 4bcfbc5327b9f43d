"""BioC XML files in (gzipped or not, by content) and out (gzipped when the name ends in `.gz`), and the
checks every BioC reader shares."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import bioc
from bioc import biocxml
from bioc.biocxml.encoder import encode_document
from lxml import etree

from ..errors import InputFormatError, SpacyXmrError
from ..gzip_files import read_head
from .bioc_documents import check_annotation, document_text, iter_annotations, sorted_passages
from .pubtator import looks_like_pubtator
from .streams import CorpusStream
from .types import type_matches
from .writers import OutputFormat, write_collection
from .xml_records import XmlRecords

MAX_PASSAGE_GAP = 1_000_000
# Elements whose text or attributes the `bioc` decoder turns into ints or reads without a default.
_INTEGER_CHILDREN = ("passage", "sentence")
_REQUIRED_ATTRIBUTES = {"annotation": ("id",), "location": ("offset", "length"), "node": ("refid", "role"), "infon": ("key",)}


def check_collection(collection: bioc.BioCCollection, path: Path, lines: list[int] | None = None) -> None:
    """Validate passages and annotations (unique ids, offsets, texts); errors name the file, the document's
    line (from `lines`, one per document, where known), the document and the annotation."""
    seen_documents: set[str] = set()
    for number, document in enumerate(collection.documents):
        check_document(document, path, lines[number] if lines else None, seen_documents)


def check_document(document: bioc.BioCDocument, path: Path, line: int | None, seen_documents: set[str]) -> None:
    """`check_collection` for one document; `seen_documents`, the ids of the file's earlier documents, gets its id."""
    if not document.id:
        raise InputFormatError(path, "a document has no id; give every document a unique id", line)
    if document.id in seen_documents:
        raise InputFormatError(path, f"document id {document.id!r} appears twice", line)
    seen_documents.add(document.id)
    seen_annotations: set[str] = set()
    try:
        _check_passage_gaps(document)
        text = document_text(document)
        for _, annotation in iter_annotations(document):
            check_annotation(document, annotation, text)
            if annotation.id in seen_annotations:
                raise SpacyXmrError(f"document {document.id}: annotation id {annotation.id!r} appears twice")
            seen_annotations.add(annotation.id)
    except SpacyXmrError as err:
        raise InputFormatError(path, str(err), line) from err


def _check_passage_gaps(document: bioc.BioCDocument) -> None:
    """Offsets far beyond the text are corrupt: the document text fills gaps with spaces, so refuse huge ones."""
    end = 0
    for passage in sorted_passages(document):
        if passage.offset - end > MAX_PASSAGE_GAP:
            raise SpacyXmrError(
                f"document {document.id}: passage offset {passage.offset} lies {passage.offset - end} characters after "
                f"the previous passage's end (at most {MAX_PASSAGE_GAP}); BioC offsets count the document's characters"
            )
        end = passage.offset + len(passage.text or "")


def _check_elements(path: Path, tree) -> None:
    """Raise for what the `bioc` decoder would choke on in `tree` (an element and its descendants), naming the line."""
    for element in tree.iter(*_INTEGER_CHILDREN):
        offset = element.findtext("offset")
        if offset is None or not offset.strip().lstrip("-").isdigit():
            raise InputFormatError(path, f"<{element.tag}> needs an integer <offset>, found {offset!r:.40}", element.sourceline)
    for tag, names in _REQUIRED_ATTRIBUTES.items():
        for element in tree.iter(tag):
            for name in names:
                value = element.get(name)
                if value is None or (tag == "location" and not value.strip().lstrip("-").isdigit()):
                    kind = "an integer" if tag == "location" else "a"
                    raise InputFormatError(path, f"<{tag}> needs {kind} {name!r} attribute, found {value!r:.40}", element.sourceline)


@contextlib.contextmanager
def _texts_over_10_mb_allowed() -> Iterator[None]:
    """lxml refuses a text node over 10 MB (a full-text passage may be one) unless the parser allows huge trees; the
    `bioc` decoder takes no parser argument, so this sets the thread's default parser meanwhile."""
    previous = etree.get_default_parser()
    etree.set_default_parser(etree.XMLParser(huge_tree=True))
    try:
        yield
    finally:
        etree.set_default_parser(previous)


def _decoded(tree) -> bioc.BioCCollection:
    """`tree` (a <collection>, or a <document> put in one of its own) as the `bioc` decoder reads it."""
    xml = etree.tostring(tree, encoding="unicode", with_tail=False)
    with _texts_over_10_mb_allowed():
        return biocxml.loads(xml if tree.tag == "collection" else f"<collection>{xml}</collection>")


def _decoded_document(element) -> bioc.BioCDocument:
    return _decoded(element).documents[0]


def _pubtator_hint(path: Path) -> str:
    return "; it looks like PubTator, which `read_corpus` reads" if looks_like_pubtator(read_head(path)) else ""


def _documents(path: Path) -> XmlRecords:
    return XmlRecords(path, "collection", "document", "BioC XML", syntax_hint=_pubtator_hint)


def _checked_fields(path: Path) -> bioc.BioCCollection:
    """The first pass over a BioC XML file: every document checked as `read_bioc` always checked the whole file (one
    decoded at a time), then the collection's fields (source, date, key, infons, encoding)."""
    documents = _documents(path)
    seen_documents: set[str] = set()
    for element in documents:
        _check_elements(path, element)
        check_document(_decoded_document(element), path, element.sourceline, seen_documents)
    _check_elements(path, documents.root)  # what is left of it: the collection's own fields
    fields = _decoded(documents.root)
    docinfo = documents.root.getroottree().docinfo
    fields.encoding, fields.standalone, fields.version = docinfo.encoding, docinfo.standalone, docinfo.xml_version
    return fields


def stream_bioc(path: str | Path) -> CorpusStream:
    """A BioC XML file's documents, decoded one at a time as they are iterated (`XmlRecords`), after a first pass that
    checks the whole file: malformed, truncated or invalid input raises InputFormatError with the line now, before
    any document is handed out."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "BioC file not found")
    fields = _checked_fields(path)
    return CorpusStream(fields, map(_decoded_document, _documents(path)))


def read_bioc(path: str | Path) -> bioc.BioCCollection:
    """Read and validate a BioC XML file; malformed or truncated XML raises InputFormatError with the line."""
    return stream_bioc(path).collection()


_COLLECTION_END = b"</collection>\n"


def _encoding(collection: bioc.BioCCollection) -> str:
    return collection.encoding or "utf-8"


def _bioc_head(fields: bioc.BioCCollection) -> bytes:
    """`biocxml.dumps` of the collection (without documents), up to its closing tag."""
    return biocxml.dumps(fields).encode(_encoding(fields)).removesuffix(_COLLECTION_END)


def _bioc_document(document: bioc.BioCDocument, collection: bioc.BioCCollection) -> bytes:
    """The document as `biocxml.dumps` prints it inside its collection (indented one level), byte for byte."""
    element = encode_document(document)
    etree.indent(element, space="  ", level=1)
    return b"  " + etree.tostring(element, encoding=_encoding(collection), xml_declaration=False) + b"\n"


BIOC_XML_OUTPUT = OutputFormat("bioc", _bioc_head, _bioc_document, lambda collection: _COLLECTION_END)


def write_bioc(collection: bioc.BioCCollection, path: str | Path) -> None:
    """Write BioC XML atomically, gzipped when the name ends in `.gz` (the bytes of `biocxml.dumps`)."""
    write_collection(collection, path, BIOC_XML_OUTPUT)


def keep_entity_types(document: bioc.BioCDocument, entity_types: list[str] | None) -> bioc.BioCDocument:
    """Drop, in place, the document's annotations whose type is not in `entity_types` (keep all when None)."""
    if entity_types is not None:
        for holder in [document, *document.passages]:
            holder.annotations = [a for a in holder.annotations if type_matches(a.infons.get("type", ""), entity_types)]
    return document


def filter_entity_types(collection: bioc.BioCCollection, entity_types: list[str] | None) -> bioc.BioCCollection:
    """Drop, in place, the annotations whose type is not in `entity_types` (keep all when None)."""
    for document in collection.documents:
        keep_entity_types(document, entity_types)
    return collection
