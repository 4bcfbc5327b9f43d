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


def count_documents(counter, documents: int) -> None:
    """Tell `counter` (a DocumentCounter actor, or None) about a written batch, and wait for it to be counted, so that
    a shard's count is complete when its record reaches the driver; a counter that does not answer never fails the
    shard."""
    if counter is None:
        return
    import ray

    with contextlib.suppress(ray.exceptions.RayError):
        ray.get(counter.add.remote(documents), timeout=10)
