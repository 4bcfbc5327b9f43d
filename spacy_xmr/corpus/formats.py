"""Which reader a corpus file needs, decided by its content (never by its name), `stream_corpus` and `read_corpus`.

Every reader takes a path and returns a `streams.CorpusStream` (the collection's fields, and its documents as
they are read), raising InputFormatError that names the file and line for bad input. A format is recognised
from the file's first characters (decompressed when gzipped, BOM dropped): the first entry of `CORPUS_FORMATS`
whose `looks_like` accepts them reads the file.
To support another format, add a `CorpusFormat` to the list, more specific formats before general ones.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import bioc

from ..errors import InputFormatError
from ..gzip_files import UTF8_BOM, read_bytes, read_head
from .bioc_io import keep_entity_types, stream_bioc
from .bioc_json import looks_like_bioc_json, stream_bioc_json
from .jsonl import looks_like_jsonl, stream_jsonl
from .pubmed_xml import ROOT_TAG as PUBMED_ROOT, stream_pubmed_xml
from .pubtator import looks_like_pubtator, stream_pubtator
from .streams import CorpusStream

logger = logging.getLogger(__name__)

_XML_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.DOTALL)
_XML_ELEMENT = re.compile(r"\s*<([A-Za-z_][\w.:-]*)")


def xml_root(head: str) -> str | None:
    """The name of the first element of an XML text (after declaration, comments, DOCTYPE), or None."""
    position = 0
    while match := _XML_PROLOG.match(head, position):
        position = match.end()
    element = _XML_ELEMENT.match(head, position)
    return element.group(1) if element else None


@dataclass(frozen=True)
class CorpusFormat:
    """A corpus file format: its name for messages, how its content starts, and its reader."""

    name: str
    looks_like: Callable[[str], bool]
    stream: Callable[[Path], CorpusStream]


CORPUS_FORMATS: list[CorpusFormat] = [
    CorpusFormat("BioC XML", lambda head: xml_root(head) == "collection", stream_bioc),
    CorpusFormat("BioC JSON", looks_like_bioc_json, stream_bioc_json),
    CorpusFormat("JSONL", looks_like_jsonl, stream_jsonl),  # before PubTator: a JSON line may hold "…|t|…"
    CorpusFormat("PubTator", looks_like_pubtator, stream_pubtator),
    CorpusFormat("PubMed XML", lambda head: xml_root(head) == PUBMED_ROOT, stream_pubmed_xml),
]


def _first_line(head: str) -> tuple[int, str]:
    for line_no, line in enumerate(head.splitlines(), start=1):
        if line.strip():
            return line_no, line
    return 1, ""


def corpus_format(path: str | Path) -> CorpusFormat | None:
    """The format of the file at `path`, None for an empty (or blank) file; InputFormatError when unknown."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "corpus file not found" if not path.exists() else "not a file")
    head = read_head(path)
    if not head.strip():  # blank so far: read on, which also reports corrupt gzip data
        head = read_bytes(path).decode("utf-8", errors="replace").lstrip(UTF8_BOM)
        if not head.strip():
            return None
    for candidate in CORPUS_FORMATS:
        if candidate.looks_like(head):
            return candidate
    line_no, line = _first_line(head)
    root = xml_root(head)
    seen = f"an XML file with root element <{root}>" if root else f"the text {line[:80]!r}"
    raise InputFormatError(
        path,
        f"unrecognised corpus format: found {seen}; expected one of "
        f"{', '.join(f.name for f in CORPUS_FORMATS)}",
        line_no,
    )


ANNOTATE_MANIFEST = "_manifest.jsonl"  # no input can have its name (`distributed.shards` reserves it)


def stream_corpus(path: str | Path, entity_types: list[str] | None = None) -> CorpusStream:
    """A corpus file of any format in `CORPUS_FORMATS` (gzipped or not), read as its documents are iterated, keeping
    the annotations of `entity_types` (all when None). An empty file has no documents."""
    path = Path(path)
    if path.name == ANNOTATE_MANIFEST:  # a glob over an output folder takes it too; its lines look like BioC JSON's
        raise InputFormatError(path, "the manifest that `spacy-xmr annotate` writes beside its outputs, not a corpus")
    found = corpus_format(path)
    if found is None:
        fields = bioc.BioCCollection()
        fields.source = path.name
        return CorpusStream(fields, iter(()))
    stream = found.stream(path)
    return CorpusStream(stream.fields, stream.documents if entity_types is None else _of_types(path, stream.documents, entity_types))


def _of_types(path: Path, documents: Iterator[bioc.BioCDocument], entity_types: list[str]) -> Iterator[bioc.BioCDocument]:
    """The documents with only the annotations of `entity_types`; once read, a warning when the file has
    annotations but none of those types (a misspelt `--entity-type` would otherwise drop every mention silently)."""
    types_seen: set[str] = set()
    kept = 0
    for document in documents:
        holders = [document, *document.passages]
        types_seen.update(annotation.infons.get("type", "") for holder in holders for annotation in holder.annotations)
        keep_entity_types(document, entity_types)
        kept += sum(len(holder.annotations) for holder in holders)
        yield document
    warn_if_no_type(path, types_seen, entity_types, bool(kept))


def warn_if_no_type(path: Path, types_seen: set[str], entity_types: list[str] | None, any_kept: bool) -> None:
    """Warn when the file `path` has annotations (of `types_seen`) but none of `entity_types` (`any_kept` false)."""
    if entity_types is not None and types_seen and not any_kept:
        logger.warning("%s: no annotation has the entity type %s; the file's types are %s", path,
                       " or ".join(map(repr, entity_types)), ", ".join(map(repr, sorted(types_seen))))


def read_corpus(path: str | Path, entity_types: list[str] | None = None) -> bioc.BioCCollection:
    """A whole corpus file of any format in `CORPUS_FORMATS` (see `stream_corpus`); an empty file is an empty
    collection (e.g. training from an ontology alone)."""
    return stream_corpus(path, entity_types).collection()
