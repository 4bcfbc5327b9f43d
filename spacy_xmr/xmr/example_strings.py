"""`ExampleStrings`: the model's training strings (aliases and mentions, normalised), their concepts and features.

Why a class of its own: the exact, word-key, nearest and dense channels all read these same strings, so they are
stored once, beside the channels, and each channel keeps only what it derives from them.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError
from .arrays import load_json, load_matrix, save_json, save_matrix

KEYS_FILE, LABELS_FILE, FEATURES_FILE = "alias_keys.json", "alias_labels", "alias_features"


class ExampleStrings:
    """`keys`: distinct normalised strings; `labels`: strings × concepts (support weights); `features`: their rows."""

    def __init__(self, keys: list[str], labels: sp.csr_matrix, features: sp.csr_matrix):
        self.keys = keys
        self.labels = labels.tocsr()
        self.features = features.tocsr()

    @cached_property
    def row(self) -> dict[str, int]:
        """Each string's row; built on first use, not while training holds its largest arrays (15M strings at UMLS size)."""
        return {key: i for i, key in enumerate(self.keys)}

    @property
    def n_concepts(self) -> int:
        return self.labels.shape[1]

    def are_examples(self, texts: list[str]) -> np.ndarray:
        """For each text, whether it is an example string."""
        return np.fromiter((text in self.row for text in texts), dtype=bool, count=len(texts))

    def save(self, directory: Path) -> None:
        save_json(directory / KEYS_FILE, self.keys)
        save_matrix(directory / LABELS_FILE, self.labels)
        save_matrix(directory / FEATURES_FILE, self.features)

    @classmethod
    def load(cls, directory: Path, n_concepts: int, n_features: int) -> "ExampleStrings":
        """Raises ModelLoadError naming a missing or corrupt file, or files that disagree with each other or with
        the model's `n_concepts` and `n_features`."""
        keys = load_json(directory / KEYS_FILE)
        labels, features = load_matrix(directory / LABELS_FILE), load_matrix(directory / FEATURES_FILE)
        if labels.shape != (len(keys), n_concepts) or features.shape != (len(keys), n_features):
            raise ModelLoadError(f"XMR model directory {directory} is inconsistent: {LABELS_FILE} {labels.shape} / {FEATURES_FILE} "
                                 f"{features.shape} do not match the {len(keys)} strings of {KEYS_FILE}, {n_concepts} concepts "
                                 f"and {n_features} features")
        return cls(keys, labels, features)
