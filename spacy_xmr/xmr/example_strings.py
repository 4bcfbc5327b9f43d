"""`ExampleStrings`: the model's training strings (aliases and mentions, normalised), their concepts and features.

Why a class of its own: the exact, word-key, nearest and dense channels all read these same strings, so they are
stored once, beside the channels, and each channel keeps only what it derives from them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError
from .arrays import load_matrix, save_matrix
from .string_table import StringTable, load_strings, save_strings

KEYS_FILE, KEY_TABLE, LABELS_FILE, FEATURES_FILE = "alias_keys.json", "alias_key_table", "alias_labels", "alias_features"


class ExampleStrings:
    """`keys`: distinct normalised strings (a `StringTable`: a loaded model maps it); `labels`: strings × concepts
    (support weights); `features`: their rows."""

    def __init__(self, keys: Sequence[str], labels: sp.csr_matrix, features: sp.csr_matrix):
        self.keys = keys if isinstance(keys, StringTable) else StringTable.of(keys)
        self.labels = labels.tocsr()
        self.features = features.tocsr()

    @property
    def n_concepts(self) -> int:
        return self.labels.shape[1]

    def are_examples(self, texts: list[str]) -> np.ndarray:
        """For each text, whether it is an example string."""
        return self.keys.rows_of(texts) >= 0

    def save(self, directory: Path) -> None:
        save_strings(directory, self.keys, KEY_TABLE, KEYS_FILE)
        save_matrix(directory / LABELS_FILE, self.labels)
        save_matrix(directory / FEATURES_FILE, self.features)

    @classmethod
    def load(cls, directory: Path, n_concepts: int, n_features: int) -> "ExampleStrings":
        """Raises ModelLoadError naming a missing or corrupt file, or files that disagree with each other or with
        the model's `n_concepts` and `n_features`."""
        keys = load_strings(directory, KEY_TABLE, KEYS_FILE)
        labels, features = load_matrix(directory / LABELS_FILE), load_matrix(directory / FEATURES_FILE)
        if labels.shape != (len(keys), n_concepts) or features.shape != (len(keys), n_features):
            raise ModelLoadError(f"XMR model directory {directory} is inconsistent: {LABELS_FILE} {labels.shape} / {FEATURES_FILE} "
                                 f"{features.shape} do not match the {len(keys)} strings of {KEYS_FILE}, {n_concepts} concepts "
                                 f"and {n_features} features")
        return cls(keys, labels, features)
