"""A corpus file read a document at a time, so that a process linking a large file never holds it whole.

`annotate` links one input file per shard, and the files users have are large: a PubMed baseline file holds 30,000
citations (about 80 MiB as BioC objects), a PubTator 3 BioC XML file thousands of documents, a PubTator export or a
JSONL dump as many as its maker put in it. Their readers parse while the documents are iterated: PubTator and JSONL
(`stream_pubtator`, `stream_jsonl`) check each document as it comes, so bad input raises only when the reading
reaches it; the XML formats (`stream_pubmed_xml`, `bioc_io.stream_bioc`) and BioC JSON (`bioc_json.stream_bioc_json`)
read the file twice, a first pass checking it whole, so bad input raises before any document.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import bioc

from ..errors import InputFormatError


def collection_fields(collection: bioc.BioCCollection) -> bioc.BioCCollection:
    """A copy of the collection's source, date, key, infons and encoding, without its documents."""
    fields = copy.copy(collection)
    fields.documents = []
    return fields


@dataclass
class CorpusStream:
    """A corpus file's collection fields (a collection without documents) and its documents, read as iterated
    (once)."""

    fields: bioc.BioCCollection
    documents: Iterable[bioc.BioCDocument]

    @classmethod
    def of_file(cls, path: Path, format_name: str, documents: Callable[[Path], Iterable[bioc.BioCDocument]]) -> "CorpusStream":
        """The stream of a file whose format has no collection fields (its source is the file's name); a missing
        file is reported now, not when the documents are first asked for."""
        if not path.is_file():
            raise InputFormatError(path, f"{format_name} file not found")
        fields = bioc.BioCCollection()
        fields.source = path.name
        return cls(fields, documents(path))

    def collection(self) -> bioc.BioCCollection:
        """Every document read into one collection."""
        collection = collection_fields(self.fields)
        collection.documents = list(self.documents)
        return collection
