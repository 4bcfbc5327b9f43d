"""The worker side of `annotate`: a pipeline loaded once, applied to whole shards.

`ShardAnnotator` is a plain class; `worker.ShardWorker`, the Ray actor, holds one. A shard is read, turned into Docs
(`collection_to_docs`), run through the worker's stage of the pipeline and, in the last stage, written
atomically; the worker returns the shard's manifest record. Bad input or a failing document marks the
shard `failed` with the reason (and the input line where known) instead of stopping the run.

Stages: `all` runs every component; with the reranker on GPU workers, `cpu` runs the components
before the first `xmr_reranker` and hands the Docs on as DocBin bytes, and `rerank` runs the rest.

Memory: a worker links many shards, so it must not keep what one shard leaves behind, nor hold a whole shard
(a PubMed baseline file has 30,000 citations). Each batch of `batch_size` documents is made into Docs, run and
turned into BioC documents (or DocBin rows) inside `nlp.memory_zone()`, which at its end frees the strings and
lexemes the batch added to the vocab (every new word, kb id and label), and its documents are written to the
shard's output file before the next batch is read: no Doc and no string hash outlives its batch. The output
appears only once the shard is complete (a killed worker leaves a hidden temporary, which the shard's next
attempt deletes).
"""
from __future__ import annotations

import contextlib
import gc
import os
import socket
import time
from pathlib import Path
from typing import Iterable, Iterator

import bioc

from ..atomic import remove_leftover_temporaries
from ..corpus import GOLD_SPANS_KEY, collection_to_docs
from ..corpus.streams import collection_fields
from ..corpus.writers import corpus_writer
from ..pipeline.base import CandidatePipe
from .manifest import FAILED, OK
from .outputs import OUTPUT_FORMATS, count_mentions, linked_collection, without_annotations, without_gold_ids
from .pipelines import load_pipeline, stage_components
from .shards import Shard
from .worker import WorkerSettings


class _Clock:
    """Wall and CPU seconds (this process: user + system) spent on a shard, carried across the two stages.

    CPU seconds say what a shard costs even when other jobs share the cores, which wall seconds do not.
    """

    def __init__(self, wall_so_far: float = 0.0, cpu_so_far: float = 0.0):
        self._wall = time.perf_counter() - wall_so_far
        self._cpu = time.process_time() - cpu_so_far

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


class ShardAnnotator:
    """One worker: the pipeline (with the shared linker models), restricted to its stage, applied to whole shards."""

    def __init__(self, directory: str, linker_models: dict, settings: WorkerSettings):
        self.settings = settings
        self.nlp = load_pipeline(Path(directory), linker_models, stage_components(Path(directory), settings.stage))
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._settled = False  # see `_batch_zone`
        if settings.mentions == "gold":
            self.nlp.select_pipes(disable=[name for name in self.nlp.pipe_names if self._finds_entities(name)])
        self.spans_key = GOLD_SPANS_KEY if settings.mentions == "gold" else self._pipeline_spans_key()
        if settings.mentions == "gold":
            for pipe in self._candidate_pipes():
                pipe.spans_key = GOLD_SPANS_KEY

    @contextlib.contextmanager
    def _batch_zone(self):
        """`nlp.memory_zone()`; after the first batch (which loads the models) and its cleanup, `gc.freeze()`: the
        worker keeps its modules and models (~400K Python objects) for every later batch, and the cyclic collector's
        full passes over them took 10-20 % of the worker's CPU."""
        with self.nlp.memory_zone():
            yield
        if not self._settled:
            gc.collect()
            gc.freeze()
            self._settled = True

    def _candidate_pipes(self) -> list[CandidatePipe]:
        return [pipe for _, pipe in self.nlp.components if isinstance(pipe, CandidatePipe)]

    def _finds_entities(self, name: str) -> bool:
        """A component that sets doc.ents itself (NER, entity ruler): not run when linking the input's mentions."""
        return "doc.ents" in self.nlp.get_pipe_meta(name).assigns and not isinstance(self.nlp.get_pipe(name), CandidatePipe)

    def _pipeline_spans_key(self) -> str | None:
        """The spans the pipeline's last linker links (None: doc.ents): the spans written out."""
        pipes = self._candidate_pipes()
        return pipes[-1].spans_key if pipes else None

    # ---- the three entry points -------------------------------------------------------------
    def annotate(self, shard: Shard) -> dict:
        """Stage `all`: read, link and write one shard; its manifest record."""
        start = _Clock()
        try:
            return self._write(shard, map(self._linked_batch, self._read(shard)), start)
        except Exception as err:  # one bad shard must not stop the run: it is reported in the manifest
            return self._failure(shard, err, start)

    def prepare(self, shard: Shard) -> dict:
        """Stage `cpu`: the shard's Docs after the components before the reranker, as DocBin bytes."""
        from spacy.tokens import DocBin

        start = _Clock()
        try:
            data = DocBin(store_user_data=True)
            for batch in self._read(shard):
                with self._batch_zone():
                    for doc in self._run(self._docs(batch)):
                        data.add(doc)  # copies the Doc's strings: the bytes outlive the zone
            self._maybe_die(shard)
            return {"shard": shard, "docs": data.to_bytes(), "clock": start.elapsed()}
        except Exception as err:
            return {"shard": shard, "failure": self._failure(shard, err, start)}

    def finish(self, prepared: dict) -> dict:
        """Stage `rerank`: rerank the Docs that `prepare` made and write the shard."""
        from spacy.tokens import DocBin
        from spacy.util import minibatch

        if "failure" in prepared:
            return prepared["failure"]
        shard, start = prepared["shard"], _Clock(*prepared["clock"])
        try:
            with self._batch_zone():  # DocBin adds the strings of the whole shard at once
                docs = DocBin().from_bytes(prepared["docs"]).get_docs(self.nlp.vocab)
                batches = minibatch(docs, self.settings.batch_size)
                return self._write(shard, (self._linked(self._run(batch)) for batch in batches), start)
        except Exception as err:
            return self._failure(shard, err, start)

    # ---- steps (Docs are made, run and read inside one memory zone) ------------------------------
    def _read(self, shard: Shard) -> Iterator[bioc.BioCCollection]:
        """The shard's documents as they are read, `batch_size` at a time, each batch a collection with the file's
        source, date, key and infons."""
        from spacy.util import minibatch

        from ..corpus.formats import stream_corpus

        stream = stream_corpus(Path(shard.input))
        for documents in minibatch(stream.documents, self.settings.batch_size):
            batch = collection_fields(stream.fields)
            batch.documents = documents
            yield batch

    def _docs(self, batch: bioc.BioCCollection) -> list:
        if self.settings.mentions == "ner":
            return collection_to_docs(without_annotations(batch), self.nlp)
        return without_gold_ids(collection_to_docs(batch, self.nlp))

    def _run(self, docs: list) -> list:
        return list(self.nlp.pipe(docs, batch_size=self.settings.batch_size))

    def _linked(self, docs: list) -> bioc.BioCCollection:
        return linked_collection(docs, self.settings.mentions, self.spans_key)

    def _linked_batch(self, batch: bioc.BioCCollection) -> bioc.BioCCollection:
        with self._batch_zone():
            return self._linked(self._run(self._docs(batch)))

    def _maybe_die(self, shard: Shard) -> None:
        marker = self.settings.kill_marker
        if self.settings.kill_on_shard == shard.name and marker and not Path(marker).exists():
            Path(marker).touch()
            os._exit(17)  # a crash in the middle of the shard: its output not replaced, Ray restarts the worker

    def _write(self, shard: Shard, linked_batches: Iterable[bioc.BioCCollection], clock: _Clock) -> dict:
        """Write the linked batches to the shard's output as they come; the shard's manifest record."""
        remove_leftover_temporaries(shard.output)
        mentions = 0
        with corpus_writer(shard.output, OUTPUT_FORMATS[self.settings.output_format]) as writer:
            for collection in linked_batches:
                writer.write(collection)
                mentions += count_mentions(collection)
            self._maybe_die(shard)
        return self._record(shard, OK, writer.documents, mentions, clock)

    def _failure(self, shard: Shard, err: Exception, clock: _Clock) -> dict:
        record = self._record(shard, FAILED, 0, 0, clock)
        record["error"] = f"{type(err).__name__}: {err}"
        record["line"] = getattr(err, "line", None)
        return record

    def _record(self, shard: Shard, status: str, documents: int, mentions: int, clock: _Clock) -> dict:
        seconds, cpu_seconds = clock.elapsed()
        return {**shard.to_dict(), "documents": documents, "mentions": mentions, "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu_seconds, 3), "worker": self.worker, "status": status, "error": None, "line": None}
