"""The exact channel: a query that equals an example string after normalisation gets that string's concepts.

713 of 960 NCBI test mentions equal an alias or a training mention: for those a lookup is both exact and cheap,
and a concept reachable only through such a string must be found even where the tree routes elsewhere.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..example_strings import ExampleStrings
from ..sparse_ops import scale_rows_to_max_one
from .base import Channel, ModelParts, QueryBatch, TrainingInputs


class ExactChannel(Channel):
    name = "exact"

    def __init__(self, examples: ExampleStrings):
        self.examples = examples

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "ExactChannel":
        return cls(inputs.examples)

    @classmethod
    def load(cls, parts: ModelParts) -> "ExactChannel":
        return cls(parts.examples)

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        """queries × concepts: support of each concept for the query's exact string, scaled so the best is 1."""
        rows = self.examples.keys.rows_of(queries.keys)
        found = np.flatnonzero(rows >= 0)
        selector = sp.csr_matrix((np.ones(len(found), np.float32), (found, rows[found])),
                                 shape=(len(queries.keys), len(self.examples.keys)))
        return scale_rows_to_max_one((selector @ self.examples.labels).tocsr())
