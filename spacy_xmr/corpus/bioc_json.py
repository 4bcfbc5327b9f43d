"""Reader for BioC JSON: the `bioc` package's collections and what the PubTator 3 and PMC BioC APIs return.

Accepted shapes, one or several JSON values in a file (one per line or concatenated): a collection
(`{"documents": [...]}`), a document (`{"passages": [...]}`), a list of either, or an object holding a
single list of them (PubTator 3's `{"PubTator3": [...]}`). Each document is checked and completed (missing
`infons`, `annotations`, `relations` and `sentences` become empty; ids and infon values become strings)
before `bioc.biocjson` builds it, so a malformed file raises InputFormatError naming the file, the line
where the document (or other value) at fault starts, the document and the field. Files are read a document at a
time (`json_stream.JsonText`): a PubTator 3 or PMC collection may hold thousands.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import bioc
from bioc import biocjson

from ..errors import InputFormatError
from .bioc_io import check_document
from .json_stream import JsonText
from .streams import CorpusStream


def looks_like_bioc_json(head: str) -> bool:
    """True for JSON whose start mentions BioC's `documents` or `passages`."""
    return head.lstrip()[:1] in ("{", "[") and ('"documents"' in head or '"passages"' in head)


class _Fault(Exception):
    """A field that is not what BioC JSON expects; the message locates it inside the JSON value."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Fault(message)


def _string(value: Any, what: str) -> str:
    _require(isinstance(value, (str, int)) and not isinstance(value, bool), f"{what} must be a string, found {value!r:.80}")
    return str(value)


def _integer(value: Any, what: str) -> int:
    _require(isinstance(value, int) and not isinstance(value, bool), f"{what} must be an integer, found {value!r:.80}")
    return value


def _items(obj: dict, key: str, what: str) -> list:
    value = obj.get(key) or []
    _require(isinstance(value, list), f"{what} {key!r} must be a list, found {type(value).__name__}")
    for item in value:
        _require(isinstance(item, dict), f"{what} {key!r} must hold objects, found {item!r:.80}")
    return value


def _infons(obj: dict, what: str) -> dict[str, str]:
    infons = obj.get("infons") or {}
    _require(isinstance(infons, dict), f"{what} infons must be an object")
    return {str(key): "" if value is None else str(value) for key, value in infons.items()}


def _annotation(obj: dict, what: str) -> dict:
    annotation_id = _string(obj.get("id"), f"{what} annotation id")
    where = f"{what} annotation {annotation_id!r}"
    text = obj.get("text")
    _require(text is None or isinstance(text, str), f"{where}: text must be a string")
    locations = [
        {"offset": _integer(loc.get("offset"), f"{where}: location offset"),
         "length": _integer(loc.get("length"), f"{where}: location length")}
        for loc in _items(obj, "locations", where)
    ]
    return {"id": annotation_id, "infons": _infons(obj, where), "text": text, "locations": locations}


def _relation(obj: dict, what: str) -> dict:
    nodes = [
        {"refid": _string(node.get("refid"), f"{what} relation node refid"),
         "role": _string(node.get("role", ""), f"{what} relation node role")}
        for node in _items(obj, "nodes", f"{what} relation")
    ]
    return {"id": _string(obj.get("id", ""), f"{what} relation id"), "infons": _infons(obj, f"{what} relation"), "nodes": nodes}


def _text_unit(obj: dict, what: str, with_sentences: bool) -> dict:
    """A passage (with its sentences) or a sentence."""
    text = obj.get("text")
    _require(text is None or isinstance(text, str), f"{what}: text must be a string")
    unit = {
        "offset": _integer(obj.get("offset"), f"{what} offset"),
        "infons": _infons(obj, what),
        "text": text,
        "annotations": [_annotation(a, what) for a in _items(obj, "annotations", what)],
        "relations": [_relation(r, what) for r in _items(obj, "relations", what)],
    }
    if with_sentences:
        unit["sentences"] = [_text_unit(s, f"{what} sentence", False) for s in _items(obj, "sentences", what)]
    return unit


def _document(obj: dict) -> bioc.BioCDocument:
    document_id = _string(obj.get("id"), "document id")
    what = f"document {document_id}"
    clean = {
        "id": document_id,
        "infons": _infons(obj, what),
        "passages": [_text_unit(p, f"{what} passage {i}", True) for i, p in enumerate(_items(obj, "passages", what))],
        "annotations": [_annotation(a, what) for a in _items(obj, "annotations", what)],
        "relations": [_relation(r, what) for r in _items(obj, "relations", what)],
    }
    return biocjson.fromJSON(clean, "BioCDocument")


def _documents(value: Any) -> Iterator[dict]:
    """The document objects in one JSON value of any accepted shape."""
    if isinstance(value, list):
        for item in value:
            yield from _documents(item)
    elif isinstance(value, dict) and "passages" in value:
        yield value
    elif isinstance(value, dict) and "documents" in value:
        yield from _documents(_items(value, "documents", "collection"))
    elif isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), list):
        yield from _documents(next(iter(value.values())))
    else:
        raise _Fault(f"expected a BioC collection (with \"documents\") or document (with \"passages\"), found {value!r:.80}")


def _collection_fields(value: dict, collection: bioc.BioCCollection) -> None:
    """Copy a collection object's source, date, key and infons."""
    for key in ("source", "date", "key"):
        if value.get(key) is not None:
            setattr(collection, key, _string(value[key], f"collection {key}"))
    collection.infons = _infons(value, "collection")


_END = object()


def _starts_documents(value: Any) -> bool:
    return isinstance(value, dict) and ("passages" in value or "documents" in value)


class _Walk:
    """The document objects of a BioC JSON file with the line where each starts, read a value at a time: the lists
    that hold documents (a collection's `documents`, a top-level list, PubTator 3's wrapper list) are walked into,
    every other value is decoded whole. `fields` gets the collection fields of the first collection object, when it
    comes before any document (at the top level or first in a top-level list)."""

    def __init__(self, text: JsonText, fields: bioc.BioCCollection):
        self.text, self.fields, self.documents_seen = text, fields, 0

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        try:
            while self.text.peek():
                yield from self._value(keeps_fields=True)
        except RecursionError:
            raise self.text.error("JSON nested too deeply to be BioC") from None

    def _value(self, keeps_fields: bool) -> Iterator[tuple[int, dict]]:
        if self.text.peek() == "[":
            self.text.take("[")
            for number, _ in enumerate(self.text.elements("]")):
                yield from self._value(keeps_fields and number == 0 and self.text.peek() == "{")
        elif self.text.peek() == "{":
            yield from self._object(keeps_fields)
        else:
            yield from self._decoded(self.text.line, self.text.value(), keeps_fields)

    def _object(self, keeps_fields: bool) -> Iterator[tuple[int, dict]]:
        """An object read key by key, walking into its `documents` list, or into the list of its first key when that
        list's first element is a document or collection (PubTator 3's `{"PubTator3": [...]}`)."""
        line, documents_before = self.text.line, self.documents_seen
        self.text.take("{")
        value: dict = {}
        walked = None  # the key of the list walked into
        for _ in self.text.elements("}"):
            key = self.text.key()
            if key == walked:
                raise self.text.error(f"the list of documents {key!r} appears twice in one object", line)
            if self.text.peek() != "[" or walked or "passages" in value or (value and key != "documents"):
                value[key] = self.text.value()
            elif key == "documents":
                walked = key
                yield from self._documents_list()
            else:
                walked, elements = yield from self._first_key_list(key)
                if elements is not None:
                    value[key] = elements
        if walked is None:
            yield from self._decoded(line, value, keeps_fields)
        elif walked != "documents":
            if value:
                raise self.text.error(f"expected a BioC collection (with \"documents\") or document (with \"passages\"), found "
                                      f"an object with keys {[walked, *value]!r:.80}", line)
            # else PubTator 3's wrapper, walked into
        elif "passages" in value:
            raise self.text.error("an object holds both \"documents\" and \"passages\"", line)
        elif keeps_fields and documents_before == 0:
            with self._faults_at(line):
                _collection_fields(value, self.fields)

    def _documents_list(self) -> Iterator[tuple[int, dict]]:
        self.text.take("[")
        for _ in self.text.elements("]"):
            if self.text.peek() != "{":
                raise self.text.error(f"collection 'documents' must hold objects, found {self.text.value()!r:.80}")
            yield from self._object(keeps_fields=False)

    def _first_key_list(self, key: str):
        """The list under an object's first key: walked into (returning `key`, None) when its first element is a
        document or collection, else decoded whole (returning None, the list)."""
        self.text.take("[")
        elements = self.text.elements("]")
        if next(elements, _END) is _END:
            return None, []
        line, first = self.text.line, self.text.value()
        if not _starts_documents(first):
            return None, [first] + [self.text.value() for _ in elements]
        yield from self._decoded(line, first, keeps_fields=False)
        for _ in elements:
            yield from self._value(keeps_fields=False)
        return key, None

    def _decoded(self, line: int, value: Any, keeps_fields: bool) -> Iterator[tuple[int, dict]]:
        """The documents in a value decoded whole."""
        with self._faults_at(line):
            if keeps_fields and self.documents_seen == 0:
                first = value[0] if isinstance(value, list) and value else value
                if isinstance(first, dict) and "documents" in first:
                    _collection_fields(first, self.fields)
            for document in _documents(value):
                self.documents_seen += 1
                yield line, document

    @contextlib.contextmanager
    def _faults_at(self, line: int) -> Iterator[None]:
        """A field fault raised inside, reported as an InputFormatError at `line`."""
        try:
            yield
        except _Fault as fault:
            raise self.text.error(str(fault), line) from None


def _documents_of(path: Path, fields: bioc.BioCCollection) -> Iterator[tuple[int, bioc.BioCDocument]]:
    """(line, document) for each document of the file, built and completed as it is read."""
    with JsonText(path, "BioC") as text:
        for line, obj in _Walk(text, fields):
            try:
                yield line, _document(obj)
            except _Fault as fault:
                raise InputFormatError(path, str(fault), line) from None
            except RecursionError:
                raise InputFormatError(path, "JSON nested too deeply to be BioC", line) from None


def _checked_fields(path: Path) -> bioc.BioCCollection:
    """The first pass over a BioC JSON file: every document built and checked (one at a time), then the collection's
    fields, which may come after its documents."""
    fields = bioc.BioCCollection()
    fields.source = path.name
    seen_documents: set[str] = set()
    for line, document in _documents_of(path, fields):
        check_document(document, path, line, seen_documents)
    return fields


def stream_bioc_json(path: str | Path) -> CorpusStream:
    """A BioC JSON file's documents, read one at a time as they are iterated, after a first pass that checks the
    whole file: malformed, truncated or invalid input raises InputFormatError with the line now, before any
    document is handed out."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "BioC JSON file not found")
    fields = _checked_fields(path)
    return CorpusStream(fields, (document for _, document in _documents_of(path, bioc.BioCCollection())))


def read_bioc_json(path: str | Path) -> bioc.BioCCollection:
    """Read and validate a BioC JSON file (gzipped or not) of any accepted shape."""
    return stream_bioc_json(path).collection()
