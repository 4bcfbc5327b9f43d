"""A corpus file read a document at a time, so that a process linking a large file never holds it whole.

`annotate` links one input file per shard, and the files users have are large: a PubMed baseline file holds 30,000
citations (about 80 MiB as BioC objects), a PubTator export or a JSONL dump as many as its maker put in it. The
readers of those formats (`stream_pubmed_xml`, `stream_pubtator`, `stream_jsonl`) parse while the documents are
iterated and check each one as it comes, so bad input raises only when the reading reaches it; BioC XML and
BioC JSON are read whole (a BioC file is usually one article or a small collection) and then handed out.
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
    def of(cls, collection: bioc.BioCCollection) -> "CorpusStream":
        """The stream of a collection read whole."""
        return cls(collection_fields(collection), iter(collection.documents))

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
