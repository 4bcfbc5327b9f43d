"""The documents written so far, for `annotate`'s progress bar: one shard of a PubMed baseline file keeps a worker
busy for minutes, and a bar that moved only as shards complete would stand still meanwhile."""
from __future__ import annotations

import contextlib


class DocumentCounter:
    """A Ray actor (it reserves no CPU) that workers tell how many documents each batch wrote.

    A shard redone after a lost worker counts its documents again: the bar shows the work done, while the run's
    summary counts the manifest's records."""

    def __init__(self):
        self.documents = 0

    def add(self, documents: int) -> None:
        self.documents += documents

    def total(self) -> int:
        return self.documents


def counter_named(name: str | None):
    """The run's DocumentCounter actor, looked up by name (None without one, or when it cannot be found). Workers get
    its name rather than its handle: Ray keeps a handle among a restartable actor's constructor arguments and logs an
    error-level line about it for every worker."""
    if name is None:
        return None
    import ray

    try:
        return ray.get_actor(name)
    except ValueError:
        return None


def count_documents(counter, documents: int) -> None:
    """Tell `counter` (a DocumentCounter actor, or None) about a written batch, and wait for it to be counted, so that
    a shard's count is complete when its record reaches the driver; a counter that does not answer never fails the
    shard."""
    if counter is None:
        return
    import ray

    with contextlib.suppress(ray.exceptions.RayError):
        ray.get(counter.add.remote(documents), timeout=10)
