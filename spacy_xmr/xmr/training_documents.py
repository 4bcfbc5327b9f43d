"""The documents a model learned from, and those its confidence was calibrated on, kept as 64-bit hashes of their
texts (spaces aside), so that applying the model to one of them can say so: its links there are not held-out figures
(a test file that repeats training documents, a corpus's "complete" file evaluated after training on its train split),
nor is its calibration on the `--val-corpus` it was calibrated on."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np

TRAINING_DOCUMENTS_FILE = "training_documents.npy"
CALIBRATION_DOCUMENTS_FILE = "calibration_documents.npy"


def text_hash(text: str) -> int:
    """The hash of the text with its runs of white space as single spaces: the same document converted by another
    tool (a PubTator record, a BioC file whose passages lie one offset further apart) hashes the same."""
    normalised = " ".join(text.split())
    return int.from_bytes(hashlib.blake2b(normalised.encode("utf8"), digest_size=8).digest(), "little")


class DocumentSet:
    """A sorted set of document-text hashes, looked up by binary search (memory-mapped when loaded)."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes

    @classmethod
    def of(cls, texts: Iterable[str]) -> "DocumentSet":
        """The set of `texts`, each distinct text hashed once (a document's text comes once per mention of it)."""
        return cls(np.array(sorted({text_hash(text) for text in set(texts) if text}), dtype=np.uint64))

    def __len__(self) -> int:
        return len(self.hashes)

    def holds(self, text: str) -> bool:
        """Whether a document with this text (spaces aside) is in the set."""
        key = np.uint64(text_hash(text))
        index = int(np.searchsorted(self.hashes, key))
        return index < len(self.hashes) and self.hashes[index] == key

    def save(self, path: Path) -> None:
        np.save(path, self.hashes)

    @classmethod
    def load(cls, path: Path) -> "DocumentSet | None":
        """None where the file is absent (a model saved before the sets were kept): nothing is known."""
        return cls(np.load(path, mmap_mode="r")) if path.exists() else None
