"""The dense channel: the nearest example strings by a transformer encoder's embeddings (`..dense`), for the
paraphrases that share no n-gram with any name. Off unless `dense.encoder` names an encoder; torch and
transformers are imported only then."""
from __future__ import annotations

from typing import TYPE_CHECKING

import scipy.sparse as sp

from ..example_strings import ExampleStrings
from .base import Channel, ModelParts, QueryBatch, TrainingInputs

if TYPE_CHECKING:
    from pathlib import Path

    from ..config import XMRConfig
    from ..dense import DenseIndex


class DenseChannel(Channel):
    name = "dense"
    whole_batch = True  # the encoder batches the whole input itself and may hold a GPU

    def __init__(self, examples: ExampleStrings, index: "DenseIndex"):
        self.examples = examples
        self.index = index

    @classmethod
    def enabled(cls, config: "XMRConfig") -> bool:
        return bool(config.dense.encoder)

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "DenseChannel":
        from ..dense import DenseIndex

        return cls(inputs.examples, DenseIndex.build(inputs.config.dense, inputs.examples.keys, inputs.examples.labels, inputs.progress))

    @classmethod
    def load(cls, parts: ModelParts) -> "DenseChannel":
        from ..dense import DenseIndex

        return cls(parts.examples, DenseIndex.load(parts.directory, parts.config.dense, parts.examples.labels))

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        """An example string itself gets no dense score: its exact match names its concepts (see `DenseIndex.scores`)."""
        return self.index.scores(queries.keys, example_strings=self.examples.are_examples(queries.keys))

    def use_device(self, device: str) -> None:
        """Move the encoder (a prediction setting: `XMRModel.load(path, dense_device=...)`)."""
        self.index.use_device(device)

    def save(self, directory: "Path") -> None:
        self.index.save(directory)
