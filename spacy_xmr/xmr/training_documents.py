"""The documents a model learned from, kept as 64-bit hashes of their texts, so that applying the model to one of them
can say so: its links there are not held-out figures (a test file that repeats training documents, a corpus's
"complete" file evaluated after training on its train split)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np

TRAINING_DOCUMENTS_FILE = "training_documents.npy"


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf8"), digest_size=8).digest(), "little")


class TrainingDocuments:
    """A sorted set of document-text hashes, looked up by binary search (memory-mapped when loaded)."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes

    @classmethod
    def of(cls, texts: Iterable[str]) -> "TrainingDocuments":
        return cls(np.array(sorted({text_hash(text) for text in texts if text}), dtype=np.uint64))

    def __len__(self) -> int:
        return len(self.hashes)

    def holds(self, text: str) -> bool:
        """Whether a document with exactly this text was among the training documents."""
        key = np.uint64(text_hash(text))
        index = int(np.searchsorted(self.hashes, key))
        return index < len(self.hashes) and self.hashes[index] == key

    def save(self, directory: Path) -> None:
        np.save(directory / TRAINING_DOCUMENTS_FILE, self.hashes)

    @classmethod
    def load(cls, directory: Path) -> "TrainingDocuments | None":
        """None for a model saved before this file existed: nothing is known of its training documents."""
        path = directory / TRAINING_DOCUMENTS_FILE
        return cls(np.load(path, mmap_mode="r")) if path.exists() else None
