"""`annotate`: link every document of many corpus files on a Ray cluster, one output file per input.

The driver plans the shards, skips those the manifest records as complete, hands the XMR models to
the workers (`pipelines`: their arrays are memory-mapped and shared on a node), and keeps a pool of
Ray actors (`ShardWorker`, one CPU each) busy with whole shards; each actor loads the pipeline once,
without torch and pandas when its components do not need them. Ray's own fault tolerance handles a
worker that dies: the actor is restarted (`max_restarts`) and its unfinished shard retried (`max_task_retries`);
outputs are written atomically, so a redone shard never leaves a half file.
Ray Core actors rather than Ray Data's `map_batches`: the unit of work is a whole shard with its own
atomic output file and manifest line, which Ray Data's blocks of rows would have to reassemble.

With an `xmr_reranker` in the pipeline and GPUs in the cluster the reranker is a second stage:
CPU actors run tokeniser, NER and linker and stream the Docs, a batch at a time (DocBin bytes, through the
object store), to GPU actors (`num_gpus`), which rerank and write each batch as it comes, several shards at
once. A GPU actor reads each of its shards from a CPU actor (a Ray streaming generator), which pauses while
a few of its batches wait unread. Without GPUs every component runs in the CPU actors.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import ray

from ..atomic import refuse_to_overwrite_input
from ..errors import SpacyXmrError
from .manifest import FAILED, Manifest
from .pipelines import (LINKER_FACTORY, components_by_factory, first_reranker, load_linker_models, needs_optional_imports,
                        pipeline_directory, pipeline_fingerprint, stage_components)
from .progress import DocumentCounter
from .shards import Shard, expand_inputs, plan_shards
from .worker import FirstStageLost, ShardWorker, WorkerSettings

logger = logging.getLogger(__name__)

MENTIONS = ("ner", "gold")
MAX_RESTARTS = 4  # a worker that dies more often than this fails its shard (reported in the manifest)
SHARDS_IN_FLIGHT_PER_WORKER = 2  # one running, one queued: no worker waits for the driver between shards
PROGRESS_SECONDS = 1.0  # how often the documents bar is brought up to date
LOAD_WAIT_SECONDS = 60.0  # how often a start-up that waits for resources says so
# Ray Client's proxy now and then fails to give a new client the server it forks for it: the fork dies at once (its log:
# "SpecificServer startup failed") or never answers. The proxy, which was reached, then answers "Initialization failure
# from server". Seen in 3 of 9 joins of a one-CPU head here, and once in CI; a new try works. An address where no
# proxy answers fails otherwise ("ray client connection timeout") and is not tried again.
CLIENT_SERVER_FAILED = "Initialization failure from server"
CLIENT_SERVER_TRIES = 3
CLIENT_SERVER_RETRY_SECONDS = 2.0
KILL_SHARD_ENV, KILL_MARKER_ENV = "SPACY_XMR_TEST_KILL_ON_SHARD", "SPACY_XMR_TEST_KILL_MARKER"


@dataclass
class AnnotateSummary:
    """What a run did: shards done, skipped (complete before) and failed, and its throughput.

    `seconds` runs from the moment every worker has loaded the pipeline (`startup_seconds`) to the last shard.
    """

    shards: int = 0
    skipped: int = 0
    documents: int = 0
    mentions: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0
    rerank_stage: bool = False
    failed: list[dict] = field(default_factory=list)

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def mentions_per_second(self) -> float:
        return self.mentions / self.seconds if self.seconds else 0.0


def _connect(address: str, workers: int | None) -> bool:
    """Join or start Ray; True when this call started it (and must shut it down). `local` starts a new instance even
    where a cluster runs on this machine or RAY_ADDRESS names one."""
    if ray.is_initialized():
        return False
    attempt = 1
    while True:
        try:
            if address == "local":
                ray.init(address="local", num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            return True
        except (ConnectionError, ValueError, RuntimeError) as err:
            if CLIENT_SERVER_FAILED not in str(err) or attempt == CLIENT_SERVER_TRIES:
                raise SpacyXmrError(f"--address {address}: cannot start or join Ray: {err}") from err
            logger.warning("--address %s: Ray Client's server for this run did not start (try %d of %d); trying again",
                           address, attempt, CLIENT_SERVER_TRIES)
            time.sleep(CLIENT_SERVER_RETRY_SECONDS)
            attempt += 1


def _worker_settings(mentions: str, entity_types: list[str] | None, output_format: str, batch_size: int) -> WorkerSettings:
    return WorkerSettings(mentions=mentions, entity_types=tuple(entity_types) if entity_types else None,
                          output_format=output_format, batch_size=batch_size,
                          kill_on_shard=os.environ.get(KILL_SHARD_ENV), kill_marker=os.environ.get(KILL_MARKER_ENV))


class _Scheduler:
    """Actor pools and the shards in flight on them."""

    def __init__(self, directory: Path, linker_models: dict, settings: WorkerSettings, workers: int, rerank_workers: int,
                 gpus_per_worker: float):
        self.split = rerank_workers > 0
        stages = ("cpu", "rerank") if self.split else ("all",)
        stage_settings = {stage: dataclasses.replace(settings, stage=stage, optional_imports=needs_optional_imports(
            directory, linker_models, stage_components(directory, stage))) for stage in stages}

        def actor(stage: str, **resources):
            options = ray.remote(ShardWorker).options(max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS, **resources)
            # loaded models pickle as their folders (a few hundred bytes): each worker maps the same files, and the
            # arguments travel inline, so a restarted actor never depends on an object that may be gone
            return options.remote(str(directory), linker_models, stage_settings[stage])

        self.new_cpu_actor = lambda: actor("cpu" if self.split else "all", num_cpus=1)
        # the GPU stage's CPU work is small next to the transformer's, so it reserves no CPU core; it reads the
        # shards in flight at once (a thread each), taking turns with the pipeline
        self.new_gpu_actor = lambda: actor("rerank", num_cpus=0, num_gpus=gpus_per_worker,
                                           max_concurrency=SHARDS_IN_FLIGHT_PER_WORKER * workers)
        self.cpu = [self.new_cpu_actor() for _ in range(workers)]
        self.gpu = [self.new_gpu_actor() for _ in range(rerank_workers)]
        self.load = [0] * workers
        self.in_flight: dict = {}  # result ref -> (shard, cpu actor index, that actor, gpu actor index, that actor)
        self.submitted = 0

    def submit(self, shard: Shard) -> None:
        index = min(range(len(self.cpu)), key=self.load.__getitem__)
        if self.split:  # the GPU actor asks the CPU actor for the shard's batches and reranks them as they come
            gpu_index = self.submitted % len(self.gpu)
            ref = self.gpu[gpu_index].finish.remote(shard, self.cpu[index])
            gpu = (gpu_index, self.gpu[gpu_index])
        else:
            ref = self.cpu[index].annotate.remote(shard)
            gpu = (None, None)
        self.submitted += 1
        self.load[index] += 1
        self.in_flight[ref] = (shard, index, self.cpu[index], *gpu)

    def wait_until_loaded(self) -> None:
        """Block until every worker has loaded the pipeline (so that throughput excludes start-up), saying so while
        some cannot start (the CPUs or GPUs they need are held by other jobs on the cluster)."""
        actors = self.cpu + self.gpu
        waiting, waited = [actor.pid.remote() for actor in actors], 0.0
        while waiting:
            loaded, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=LOAD_WAIT_SECONDS)
            ray.get(loaded)  # a worker that failed to load raises here
            waited += LOAD_WAIT_SECONDS
            if waiting:
                free = ray.available_resources()
                logger.warning("%d of %d workers have not started after %.0f s; the cluster has %g CPUs and %g GPUs free",
                               len(waiting), len(actors), waited, free.get("CPU", 0), free.get("GPU", 0))

    def has_room(self) -> bool:
        return len(self.in_flight) < SHARDS_IN_FLIGHT_PER_WORKER * len(self.cpu)

    def next_record(self, timeout: float | None = None) -> dict | None:
        """Wait for any shard in flight and return its manifest record (a worker that stayed dead fails it); None if
        none finished within `timeout` seconds."""
        ready, _ = ray.wait(list(self.in_flight), num_returns=1, timeout=timeout)
        if not ready:
            return None
        [ref] = ready
        shard, index, cpu_actor, gpu_index, gpu_actor = self.in_flight.pop(ref)
        self.load[index] -= 1
        try:
            return ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as err:
            self._replace_lost_worker(err, index, cpu_actor, gpu_index, gpu_actor)
            return {**shard.to_dict(), "documents": 0, "mentions": 0, "seconds": 0.0, "cpu_seconds": 0.0, "worker": None,
                    "status": FAILED, "error": f"worker lost: {err}", "line": None}

    def _replace_lost_worker(self, err: Exception, index: int, cpu_actor, gpu_index: int | None, gpu_actor) -> None:
        """A worker that died more often than it may restart (MAX_RESTARTS) is replaced by a new one, or every later
        shard sent to it would fail too."""
        if isinstance(getattr(err, "cause", None), FirstStageLost):
            lost = "cpu"
        elif isinstance(err, ray.exceptions.RayActorError):
            lost = "gpu" if self.split else "cpu"
        else:
            return
        if lost == "cpu" and self.cpu[index] is cpu_actor:
            self.cpu[index] = self.new_cpu_actor()
        elif lost == "gpu" and self.gpu[gpu_index] is gpu_actor:
            self.gpu[gpu_index] = self.new_gpu_actor()


def annotate(
    pipeline: str | Path,
    inputs: Iterable[str | Path],
    output_dir: str | Path,
    *,
    output_format: str = "bioc",
    address: str = "local",
    workers: int | None = None,
    batch_size: int = WorkerSettings.batch_size,
    gpus_per_worker: float = 1.0,
    mentions: str = "ner",
    entity_types: list[str] | None = None,
    overwrite: bool = False,
    rerank_stage: bool | None = None,
    progress: bool = True,
) -> AnnotateSummary:
    """Annotate every input file (paths or globs) into `output_dir`; see the module docstring.

    `entity_types` (with `mentions="gold"`): link only the input's mentions of these types; the others are left out
    of the outputs, as `apply-xmr --entity-type` does.

    `rerank_stage`: run the reranker on its own actors (None: when the pipeline has one and the
    cluster has GPUs; True on a cluster without GPUs runs that stage on CPU, e.g. to test it).
    """
    if mentions not in MENTIONS:
        raise SpacyXmrError(f"--mentions {mentions}: choose ner (find mentions with the pipeline) or gold (link the input's)")
    if entity_types and mentions != "gold":
        raise SpacyXmrError("--entity-type chooses among the input's mentions (--mentions gold); the pipeline's own "
                            "entities are chosen by its linker's `labels` setting")
    if batch_size < 1 or (workers is not None and workers < 1) or gpus_per_worker <= 0:
        raise SpacyXmrError("--batch-size and --workers must be at least 1 and --gpus-per-worker above 0")
    output_dir = Path(output_dir)
    directory = pipeline_directory(pipeline)
    refuse_to_overwrite_input(output_dir, [directory], replaced_whole=False)  # outputs are added to the folder
    components = components_by_factory(directory)
    if LINKER_FACTORY not in components.values():
        raise SpacyXmrError(f"--pipeline {pipeline}: no {LINKER_FACTORY} component to link with "
                            f"(it has {', '.join(components) or 'none'})")
    manifest = Manifest(output_dir)
    if overwrite:
        manifest.reset()
    shards = plan_shards(expand_inputs([str(p) for p in inputs]), output_dir, output_format,
                         settings=f"mentions={mentions}{''.join(f' type={t}' for t in entity_types or [])} "
                                  f"pipeline={pipeline_fingerprint(directory)}",
                         recorded=manifest.recorded_outputs())
    todo = [shard for shard in shards if not manifest.is_complete(shard)]
    summary = AnnotateSummary(skipped=len(shards) - len(todo))
    if not todo:
        return summary
    output_dir.mkdir(parents=True, exist_ok=True)
    started = _connect(address, workers)
    try:
        _run(summary, todo, directory, manifest, _worker_settings(mentions, entity_types, output_format, batch_size),
             workers, gpus_per_worker, rerank_stage, progress)
    finally:
        if started:
            ray.shutdown()
    return summary


def _run(summary, todo, directory, manifest, settings, workers, gpus_per_worker, rerank_stage, progress) -> None:
    from tqdm import tqdm

    resources = ray.cluster_resources()
    if workers and workers > resources.get("CPU", 0):  # a worker takes a CPU: the others would wait forever
        raise SpacyXmrError(f"--workers {workers}: the cluster has {resources.get('CPU', 0):g} CPUs, one per worker")
    n_workers = min(workers or int(resources.get("CPU", 1)), len(todo))
    gpus = resources.get("GPU", 0)
    if rerank_stage is None:
        rerank_stage = first_reranker(directory) is not None and gpus > 0
    rerank_workers = (max(1, int(gpus // gpus_per_worker)) if gpus else 1) if rerank_stage else 0
    start = time.perf_counter()
    counter_name = f"spacy-xmr-documents-{uuid.uuid4().hex}" if progress else None
    counter = ray.remote(DocumentCounter).options(num_cpus=0, name=counter_name).remote() if progress else None
    scheduler = _Scheduler(directory, load_linker_models(directory), dataclasses.replace(settings, progress_counter=counter_name),
                           n_workers, rerank_workers, gpus_per_worker if gpus else 0)
    scheduler.wait_until_loaded()
    summary.workers, summary.rerank_stage = n_workers, rerank_stage
    summary.startup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pending = list(todo)
    with tqdm(total=len(todo), unit="shard", disable=not progress, desc="annotate") as shards_bar, \
            tqdm(unit="doc", disable=not progress, desc="documents written", position=1) as documents_bar:
        while pending or scheduler.in_flight:
            while pending and scheduler.has_room():
                scheduler.submit(pending.pop(0))
            record = scheduler.next_record(timeout=PROGRESS_SECONDS if progress else None)
            if counter is not None:
                with contextlib.suppress(ray.exceptions.RayError):  # a bar never stops the run
                    documents_bar.update(ray.get(counter.total.remote(), timeout=PROGRESS_SECONDS) - documents_bar.n)
            if record is None:
                continue
            manifest.append(record)
            summary.shards += 1
            summary.documents += record["documents"]
            summary.mentions += record["mentions"]
            if record["status"] == FAILED:
                summary.failed.append(record)
            shards_bar.update(1)
            shards_bar.set_postfix(failed=len(summary.failed))
    summary.seconds = time.perf_counter() - start
