"""Reader for BioC JSON: the `bioc` package's collections and what the PubTator 3 and PMC BioC APIs return.

Accepted shapes, one or several JSON values in a file (one per line or concatenated): a collection
(`{"documents": [...]}`), a document (`{"passages": [...]}`), a list of either, or an object holding a
single list of them (PubTator 3's `{"PubTator3": [...]}`). Each document is checked and completed (missing
`infons`, `annotations`, `relations` and `sentences` become empty; ids and infon values become strings)
before `bioc.biocjson` builds it, so a malformed file raises InputFormatError naming the file, the line
where the value holding the fault starts, the document and the field.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import bioc
from bioc import biocjson

from ..errors import InputFormatError
from ..gzip_files import UTF8_BOM, read_bytes
from .bioc_io import check_collection


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


def _copy_collection_fields(value: Any, collection: bioc.BioCCollection) -> None:
    """Keep the source, date, key and infons of a collection object (the first one, when a file holds several)."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict) and "documents" in value and not collection.documents:
        for key in ("source", "date", "key"):
            if value.get(key) is not None:
                setattr(collection, key, _string(value[key], f"collection {key}"))
        collection.infons = _infons(value, "collection")


def _json_values(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(line where it starts, value) for each JSON value of the text."""
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise InputFormatError(path, f"malformed or truncated JSON: {err.msg} (column {err.colno})", err.lineno) from None
        except RecursionError:
            raise InputFormatError(path, "JSON nested too deeply to be BioC", line) from None
        yield line, value


def read_bioc_json(path: str | Path) -> bioc.BioCCollection:
    """Read and validate a BioC JSON file (gzipped or not) of any accepted shape."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "BioC JSON file not found")
    data = read_bytes(path)
    try:
        text = data.decode("utf-8").lstrip(UTF8_BOM)
    except UnicodeDecodeError as err:
        raise InputFormatError(path, "not UTF-8 text; save the file as UTF-8", data.count(b"\n", 0, err.start) + 1) from None
    collection = bioc.BioCCollection()
    collection.source = path.name
    lines: list[int] = []
    for line, value in _json_values(path, text):
        try:
            _copy_collection_fields(value, collection)
            for obj in _documents(value):
                document = _document(obj)
                lines.append(line)
                collection.add_document(document)
        except _Fault as fault:
            raise InputFormatError(path, str(fault), line) from None
        except RecursionError:
            raise InputFormatError(path, "JSON nested too deeply to be BioC", line) from None
    check_collection(collection, path, lines)
    return collection
