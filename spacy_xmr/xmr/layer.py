"""`Layer`: one level of the trained label tree, as prediction reads it."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

_layer_cache_lock = threading.Lock()  # prediction threads share the layers
COUNT_BLOCK = 4_000_000  # weights counted at once (`Layer.node_lengths`)


@dataclass
class Layer:
    """One level of the chain: `weights` features × nodes (CSR: the right operand of products), `bias` per node, `clusters` C (nodes × parents)."""

    weights: sp.csr_matrix
    bias: np.ndarray
    clusters: sp.csr_matrix
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # what prediction derives

    @property
    def n_nodes(self) -> int:
        return self.clusters.shape[0]

    def node_lengths(self) -> np.ndarray:
        """Stored weights per node: the row lengths of the transposed weights where the model has them (saved with it),
        else counted a block of weights at a time (`np.bincount` copies its input to 64-bit integers: at 10^6 concepts
        the leaf layer's 82M weights would take 0.6 GB at once, in every linking process's first call)."""
        def count() -> np.ndarray:
            if "by_node" in self._cache:
                return np.diff(self._cache["by_node"].indptr).astype(np.int64)
            indices, counts = self.weights.indices, np.zeros(self.n_nodes, dtype=np.int64)
            for lo in range(0, len(indices), COUNT_BLOCK):
                counts += np.bincount(indices[lo:lo + COUNT_BLOCK], minlength=self.n_nodes)
            return counts

        return self._cached("node_lengths", count)

    def term_lengths(self) -> np.ndarray:
        """Stored weights per feature (cached: a query of one mention should not pay a pass over every feature)."""
        return self._cached("term_lengths", lambda: np.diff(self.weights.indptr))

    def weights_by_node(self) -> sp.csr_matrix:
        """nodes × features: the weights transposed, for scoring a few nodes per query."""
        return self._cached("by_node", lambda: self.weights.T.tocsr())

    def use_weights_by_node(self, by_node: sp.csr_matrix) -> None:
        """Take the transposed weights saved with the model (memory-mapped, shared by processes) instead of building them."""
        with _layer_cache_lock:
            self._cache["by_node"] = by_node

    def _cached(self, name: str, build):
        """What prediction derives from the weights, built on first use (once, though threads share the layer)."""
        with _layer_cache_lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]
