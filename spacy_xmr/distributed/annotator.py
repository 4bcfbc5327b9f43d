"""The worker side of `annotate`: a pipeline loaded once, applied to whole shards.

`ShardAnnotator` is a plain class; `worker.ShardWorker`, the Ray actor, holds one. A shard is read, turned into Docs
(`collection_to_docs`), run through the worker's stage of the pipeline and, in the last stage, written
atomically; the worker returns the shard's manifest record. Bad input or a failing document marks the
shard `failed` with the reason (and the input line where known) instead of stopping the run.

Stages: `all` runs every component; with the reranker on GPU workers, `cpu` runs the components
before the first `xmr_reranker` and streams the Docs on a batch at a time (DocBin bytes), and `rerank` runs the
rest on each batch as it arrives and writes it, for several shards at once (one thread each, the pipeline used
by one at a time).

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
import threading
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
from .progress import count_documents, counter_named
from .shards import Shard
from .worker import FirstStageLost, WorkerSettings

OTHER_COMPONENTS_BATCH_SIZE = 32
"""Documents per call, at most, of the components that are not spacy-xmr's (spaCy's NER, a tagger): spaCy's NER holds
its whole batch's features at once, 423 MiB above a worker's base at 256 NCBI Disease abstracts against 112 MiB at 32,
for 13.2 against 13.6 ms of CPU a document, within the noise (`benchmarks/ner_batch_memory.py`). spacy-xmr's
components keep `--batch-size`, as each call of the XMR stage has a fixed cost."""


class _Clock:
    """Wall and CPU seconds (this process: user + system) spent on a shard, carried across the two stages.

    CPU seconds say what a shard costs even when other jobs share the cores, which wall seconds do not.
    """

    def __init__(self, wall_so_far: float = 0.0, cpu_so_far: float = 0.0):
        self._wall = time.perf_counter() - wall_so_far
        self._cpu = time.process_time() - cpu_so_far

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


class _RerankClock:
    """A shard's clock in the `rerank` stage, which works on several shards at once: the `cpu` stage's seconds as
    its latest batch reported them, plus this stage's CPU seconds while it held the pipeline for the shard and its
    wall seconds since that batch arrived."""

    def __init__(self):
        self._first_stage = (0.0, 0.0)
        self._arrived = time.perf_counter()
        self._cpu = 0.0

    def arrived(self, first_stage: tuple[float, float]) -> None:
        self._first_stage, self._arrived = first_stage, time.perf_counter()

    @contextlib.contextmanager
    def working(self):
        start = time.process_time()
        yield
        self._cpu += time.process_time() - start

    def elapsed(self) -> tuple[float, float]:
        wall, cpu = self._first_stage
        return wall + time.perf_counter() - self._arrived, cpu + self._cpu


class _FirstStageFailed(Exception):
    """The `cpu` stage reported the shard failed (its record ends the stream): nothing of it is written."""

    def __init__(self, record: dict):
        super().__init__(record["error"])
        self.record = record


class ShardAnnotator:
    """One worker: the pipeline (with the shared linker models), restricted to its stage, applied to whole shards."""

    def __init__(self, directory: str, linker_models: dict, settings: WorkerSettings):
        self.settings = settings
        self.nlp = load_pipeline(Path(directory), linker_models, stage_components(Path(directory), settings.stage))
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._counter = counter_named(settings.progress_counter)
        self._settled = False  # see `_batch_zone`
        self._pipeline_lock = threading.Lock()  # the `rerank` stage's threads take turns with the pipeline
        if settings.mentions == "gold":
            self.nlp.select_pipes(disable=[name for name in self.nlp.pipe_names if self._finds_entities(name)])
        other_batch = min(settings.batch_size, OTHER_COMPONENTS_BATCH_SIZE)
        self._component_cfg = {name: {"batch_size": other_batch} for name, pipe in self.nlp.components
                               if not isinstance(pipe, CandidatePipe)}
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

    def prepare(self, shard: Shard) -> Iterator[dict]:
        """Stage `cpu` (a Ray streaming generator): the shard's Docs after the components before the reranker, a
        batch at a time as DocBin bytes with the stage's clock so far; a failure ends the stream with its record.

        When the worker dies, Ray reruns the generator and skips the batches already handed on."""
        from spacy.tokens import DocBin

        start = _Clock()
        try:
            for batch in self._read(shard):
                with self._batch_zone():
                    docs = DocBin(store_user_data=True, docs=self._run(self._docs(batch))).to_bytes()
                yield {"docs": docs, "clock": start.elapsed()}
                self._maybe_die(shard)
        except Exception as err:
            yield {"failure": self._failure(shard, err, start)}

    def finish(self, shard: Shard, prepared: Iterable[dict]) -> dict:
        """Stage `rerank`: rerank and write the batches `prepare` streams, as they arrive; the shard's record.

        Runs in one of the worker's threads, one per shard in flight; a lost `cpu` worker (FirstStageLost) is
        raised to the driver."""
        clock = _RerankClock()
        try:
            return self._write(shard, self._reranked(prepared, clock), clock)
        except FirstStageLost:
            raise
        except _FirstStageFailed as failed:
            return failed.record
        except Exception as err:
            return self._failure(shard, err, clock)

    # ---- steps (Docs are made, run and read inside one memory zone) ------------------------------
    def _read(self, shard: Shard) -> Iterator[bioc.BioCCollection]:
        """The shard's documents as they are read, `batch_size` at a time, each batch a collection with the file's
        source, date, key and infons."""
        from spacy.util import minibatch

        from ..corpus.formats import stream_corpus

        stream = stream_corpus(Path(shard.input), list(self.settings.entity_types) if self.settings.entity_types else None)
        for documents in minibatch(stream.documents, self.settings.batch_size):
            batch = collection_fields(stream.fields)
            batch.documents = documents
            yield batch

    def _docs(self, batch: bioc.BioCCollection) -> list:
        if self.settings.mentions == "ner":
            return collection_to_docs(without_annotations(batch), self.nlp)
        return without_gold_ids(collection_to_docs(batch, self.nlp))

    def _run(self, docs: list) -> list:
        return list(self.nlp.pipe(docs, batch_size=self.settings.batch_size, component_cfg=self._component_cfg))

    def _linked(self, docs: list) -> bioc.BioCCollection:
        return linked_collection(docs, self.settings.mentions, self.spans_key)

    def _linked_batch(self, batch: bioc.BioCCollection) -> bioc.BioCCollection:
        with self._batch_zone():
            return self._linked(self._run(self._docs(batch)))

    def _reranked(self, prepared: Iterable[dict], clock: _RerankClock) -> Iterator[bioc.BioCCollection]:
        from spacy.tokens import DocBin

        for batch in prepared:
            if "failure" in batch:
                raise _FirstStageFailed(batch["failure"])
            clock.arrived(batch["clock"])
            with self._pipeline_lock, clock.working(), self._batch_zone():
                linked = self._linked(self._run(list(DocBin().from_bytes(batch["docs"]).get_docs(self.nlp.vocab))))
            yield linked  # written without the lock

    def _maybe_die(self, shard: Shard) -> None:
        marker = self.settings.kill_marker
        if self.settings.kill_on_shard == shard.name and marker and not Path(marker).exists():
            Path(marker).touch()
            os._exit(17)  # a crash in the middle of the shard: its output not replaced, Ray restarts the worker

    def _write(self, shard: Shard, linked_batches: Iterable[bioc.BioCCollection], clock: _Clock | _RerankClock) -> dict:
        """Write the linked batches to the shard's output as they come; the shard's manifest record."""
        remove_leftover_temporaries(shard.output)
        mentions = 0
        with corpus_writer(shard.output, OUTPUT_FORMATS[self.settings.output_format]) as writer:
            for collection in linked_batches:
                writer.write(collection)
                mentions += count_mentions(collection)
                count_documents(self._counter, len(collection.documents))
            self._maybe_die(shard)
        return self._record(shard, OK, writer.documents, mentions, clock)

    def _failure(self, shard: Shard, err: Exception, clock: _Clock | _RerankClock) -> dict:
        record = self._record(shard, FAILED, 0, 0, clock)
        record["error"] = f"{type(err).__name__}: {err}"
        record["line"] = getattr(err, "line", None)
        return record

    def _record(self, shard: Shard, status: str, documents: int, mentions: int,
                clock: _Clock | _RerankClock) -> dict:
        seconds, cpu_seconds = clock.elapsed()
        return {**shard.to_dict(), "documents": documents, "mentions": mentions, "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu_seconds, 3), "worker": self.worker, "status": status, "error": None, "line": None}
