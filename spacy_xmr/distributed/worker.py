"""The Ray actor of `annotate`, kept import-light so that a worker can start without torch or pandas.

Ray imports an actor's module, and unpickles its arguments, before the constructor runs. This module
and its arguments (`WorkerSettings`, `Shard`, the XMR models) import neither spaCy nor torch, so
`ShardWorker.__init__` can still forbid the optional libraries before spaCy is imported: thinc imports
torch, and scikit-learn imports pandas (and pandas pyarrow), whenever they are installed, which costs
each worker about 200 MiB (torch) and 30 MiB (pandas) of private memory that spaCy's and spacy-xmr's own
components never use (the reranker and the dense channel excepted). The driver decides
(`pipelines.needs_optional_imports`).
"""
from __future__ import annotations

import importlib.abc
import os
import sys
from dataclasses import dataclass

OPTIONAL_MODULES = ("torch", "transformers", "pandas", "pyarrow")
BATCHES_AHEAD = 4  # of a shard's batches streamed to the `rerank` stage, at most this many wait to be read


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs: `mentions` (ner or gold), its stage, the output format, whether it may import
    OPTIONAL_MODULES, where it reports the documents it writes, and the test-only fault hook.

    `kill_on_shard` / `kill_marker`: the worker process exits in the middle of the shard of that input
    file name, once (the marker file records that it happened), to test that Ray redoes the shard.
    """

    mentions: str = "ner"
    entity_types: tuple[str, ...] | None = None  # with gold mentions: the types to link (None: all)
    stage: str = "all"
    output_format: str = "bioc"
    batch_size: int = 256  # as the components' own: each call of the XMR stage has a fixed cost
    optional_imports: bool = True
    progress_counter: str | None = None  # the name of the `progress.DocumentCounter` actor of the driver's bar
    kill_on_shard: str | None = None
    kill_marker: str | None = None


class FirstStageLost(Exception):
    """The `cpu` worker streaming a shard to the `rerank` stage died more often than it may restart: the driver
    replaces it."""


class _ForbidImports(importlib.abc.MetaPathFinder):
    """Makes `import torch` (and the other names) fail, as if they were not installed; thinc and scikit-learn then
    run without them."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} is not imported in annotate workers whose pipeline does not need it")
        return None


def forbid_imports(names: tuple[str, ...]) -> tuple[str, ...]:
    """From now on, importing any of `names` (top-level packages) in this process raises ImportError; the names
    forbidden.

    A name imported already is left alone (too late to save its memory; the code that imported it may use
    it): a Ray worker has imported pyarrow before the actor's constructor runs, and that must not let thinc
    import torch."""
    names = tuple(name for name in names if name not in sys.modules)
    if names:
        sys.meta_path.insert(0, _ForbidImports(names))
    return names


class ShardWorker:
    """One Ray actor: a `ShardAnnotator` (the pipeline, loaded once) created after the imports are settled."""

    def __init__(self, directory: str, linker_models: dict, settings: WorkerSettings):
        if not settings.optional_imports:
            forbid_imports(OPTIONAL_MODULES)
        from .annotator import ShardAnnotator

        self.annotator = ShardAnnotator(directory, linker_models, settings)

    def pid(self) -> int:
        """The worker's process id; answering it means the pipeline is loaded."""
        return os.getpid()

    def annotate(self, shard) -> dict:
        return self.annotator.annotate(shard)

    def prepare(self, shard):
        """Stage `cpu`: a generator method, which Ray runs as a streaming generator (see `finish`)."""
        yield from self.annotator.prepare(shard)

    def finish(self, shard, cpu_worker) -> dict:
        """Stage `rerank`: the shard as `cpu_worker` (a ShardWorker of stage `cpu`) streams it, reranked and written.

        This actor calls `prepare` itself because a Ray stream cannot be handed on: only its caller reads it."""
        return self.annotator.finish(shard, _streamed(cpu_worker, shard))


def _streamed(cpu_worker, shard):
    """The batches `cpu_worker.prepare(shard)` yields; the worker pauses while BATCHES_AHEAD of them wait unread,
    so a slow GPU stage holds back its CPU workers instead of piling their batches up in the object store."""
    import ray

    stream = cpu_worker.prepare.options(_generator_backpressure_num_objects=BATCHES_AHEAD).remote(shard)
    try:
        for ref in stream:
            yield ray.get(ref)
    except ray.exceptions.RayActorError as err:  # it died more often than it may restart
        raise FirstStageLost(f"the worker linking the shard was lost: {err}") from err
