"""Corpus files out, a document at a time: what BioC XML, JSONL and PubTator output share.

A file is written as its documents come, so that no process holds a large output whole: `annotate` writes a
shard of a PubMed baseline file (30,000 citations) batch by batch; reading, linking and writing such a shard
whole took a worker 1,481 MiB at its peak, against 285 MiB a batch at a time (docs/distributed.md). The file
appears only once complete (a hidden temporary sibling until then, `atomic.atomic_open`), gzipped
(reproducibly, mtime 0) when its name ends in `.gz`.
"""
from __future__ import annotations

import contextlib
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator

import bioc

from ..atomic import atomic_open
from .streams import collection_fields


@dataclass(frozen=True)
class OutputFormat:
    """How a format frames its documents: the bytes before them (which may hold the collection's source, date,
    key and infons), each document's bytes (given the collection too, for its encoding), and the bytes after them.
    The collection these get has no documents."""

    name: str
    head: Callable[[bioc.BioCCollection], bytes]
    document: Callable[[bioc.BioCDocument, bioc.BioCCollection], bytes]
    tail: Callable[[bioc.BioCCollection], bytes]


def no_bytes(collection: bioc.BioCCollection) -> bytes:
    """The head or tail of a format that has none (one record per document)."""
    return b""


class CorpusWriter:
    """Writes collections' documents into one open output, made by `corpus_writer`. The first collection written
    gives the file its source, date, key and infons; none at all gives an empty collection's."""

    def __init__(self, stream: IO[bytes], output_format: OutputFormat):
        self._stream = stream
        self._format = output_format
        self._fields: bioc.BioCCollection | None = None
        self.documents = 0

    def write(self, collection: bioc.BioCCollection) -> None:
        if self._fields is None:
            self._start(collection)
        for document in collection.documents:
            self._stream.write(self._format.document(document, self._fields))
            self.documents += 1

    def _start(self, collection: bioc.BioCCollection) -> None:
        self._fields = collection_fields(collection)  # keeps no documents alive
        self._stream.write(self._format.head(self._fields))

    def end(self) -> None:
        if self._fields is None:
            self._start(bioc.BioCCollection())
        self._stream.write(self._format.tail(self._fields))


@contextlib.contextmanager
def corpus_writer(path: str | Path, output_format: OutputFormat) -> Iterator[CorpusWriter]:
    """A writer into `path`, which is replaced only when the block ends without error."""
    path = Path(path)
    with atomic_open(path, "wb") as raw:
        compressed = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else contextlib.nullcontext(raw)
        with compressed as stream:
            writer = CorpusWriter(stream, output_format)
            yield writer
            writer.end()


def write_collection(collection: bioc.BioCCollection, path: str | Path, output_format: OutputFormat) -> None:
    """Write a whole collection atomically."""
    with corpus_writer(path, output_format) as writer:
        writer.write(collection)
