"""A model's ontology, read from its file only when something asks for it.

Why: linking reads no concept names; the one channel that reads the hierarchy (the parent channel) saves what it
derives from it with the model. A process that only links (an `annotate` worker, an `nlp.pipe` process) then never
holds the ontology's Python objects: at 10^5 concepts 79 MiB of each process's own memory, at UMLS size gigabytes,
and most of the time of loading a model. Explaining a candidate, naming it, scoring or reranking reads it then.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ModelLoadError
from ..ontology import Ontology
from .arrays import reading


class LazyOntology:
    """Call it for the ontology: the one it was given, or its file's, read on the first call and kept."""

    def __init__(self, ontology: Ontology | None = None, path: Path | None = None):
        if ontology is None and path is None:
            raise ValueError("LazyOntology needs an ontology or the path of its file")
        self.path = path
        self._ontology = ontology

    @classmethod
    def of_file(cls, path: Path) -> "LazyOntology":
        """The ontology of a model folder's file, which must exist now (its content is read later)."""
        if not path.is_file():
            raise ModelLoadError(f"{path}: missing from the XMR model directory {path.parent}; save or train the model again")
        return cls(path=path)

    @property
    def is_read(self) -> bool:
        return self._ontology is not None

    def __call__(self) -> Ontology:
        if self._ontology is None:
            with reading(self.path):
                self._ontology = Ontology.from_disk(self.path)
        return self._ontology

    def holding(self, ontology: Ontology) -> None:
        """Take `ontology` as its file's content, already in memory (a model trained, written and mapped back):
        reading the file again would hold a second copy, gigabytes at UMLS size."""
        self._ontology = ontology

    def to_disk(self, path: Path) -> None:
        """Write the ontology file: a copy of its own file where it has one (no objects read, nothing compressed
        again), else the ontology written."""
        if self.path is not None:
            shutil.copyfile(self.path, path)
        else:
            self().to_disk(path)
