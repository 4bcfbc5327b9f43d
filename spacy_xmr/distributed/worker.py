"""The Ray actor of `annotate`, kept import-light so that a worker can start without torch.

Ray imports an actor's module, and unpickles its arguments, before the constructor runs. This module
and its arguments (`WorkerSettings`, `Shard`, the XMR models) import neither spaCy nor torch, so
`ShardWorker.__init__` can still forbid torch and transformers before spaCy is imported: thinc imports
torch whenever it is installed, which costs each worker about 200 MiB of private memory that a pipeline
without a reranker or dense channel never uses. The driver decides (`pipelines.needs_torch`).
"""
from __future__ import annotations

import importlib.abc
import os
import sys
from dataclasses import dataclass

TORCH_MODULES = ("torch", "transformers")


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs: `mentions` (ner or gold), its stage, the output format, whether it may import torch,
    and the test-only fault hook.

    `kill_on_shard` / `kill_marker`: the worker process exits in the middle of the shard of that input
    file name, once (the marker file records that it happened), to test that Ray redoes the shard.
    """

    mentions: str = "ner"
    stage: str = "all"
    output_format: str = "bioc"
    batch_size: int = 64
    torch: bool = True
    kill_on_shard: str | None = None
    kill_marker: str | None = None


class _ForbidImports(importlib.abc.MetaPathFinder):
    """Makes `import torch` (and its kin) fail, as if they were not installed; thinc then runs without them."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} is not imported in annotate workers whose pipeline does not need it")
        return None


def forbid_imports(names: tuple[str, ...]) -> bool:
    """From now on, importing any of `names` (top-level packages) in this process raises ImportError.

    False, and nothing forbidden, when one is imported already (too late to save its memory; the code
    that imported it may use it)."""
    if any(name in sys.modules for name in names):
        return False
    sys.meta_path.insert(0, _ForbidImports(names))
    return True


class ShardWorker:
    """One Ray actor: a `ShardAnnotator` (the pipeline, loaded once) created after the imports are settled."""

    def __init__(self, directory: str, linker_models: dict, settings: WorkerSettings):
        if not settings.torch:
            forbid_imports(TORCH_MODULES)
        from .annotator import ShardAnnotator

        self.annotator = ShardAnnotator(directory, linker_models, settings)

    def pid(self) -> int:
        """The worker's process id; answering it means the pipeline is loaded."""
        return os.getpid()

    def annotate(self, shard) -> dict:
        return self.annotator.annotate(shard)

    def prepare(self, shard) -> dict:
        return self.annotator.prepare(shard)

    def finish(self, prepared: dict) -> dict:
        return self.annotator.finish(prepared)
