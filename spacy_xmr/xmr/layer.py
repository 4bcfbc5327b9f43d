"""`Layer`: one level of the trained label tree, as prediction reads it."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .arrays import array_file
from .parent_blocks import Children, ParentBlocks, parent_blocks

_layer_cache_lock = threading.RLock()  # prediction threads share the layers (reentrant: the blocks build the children)


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

    def term_lengths(self) -> np.ndarray:
        """Stored weights per feature (cached: a query of one mention should not pay a pass over every feature)."""
        return self._cached("term_lengths", lambda: np.diff(self.weights.indptr))

    def children(self) -> Children:
        return self._cached("children", lambda: Children.of(np.asarray(self.clusters.indices), self.clusters.shape[1]))

    def blocks(self) -> ParentBlocks:
        """The weights grouped by parent, for scoring a few parents' children per query: those saved with the model
        (memory-mapped, shared by processes) or, for an older model folder, built on first use from its transposed
        weights (`use_transposed`) or from the weights."""
        return self._cached("blocks", self._built_blocks)

    def save_blocks(self, folder: Path, prefix: str) -> None:
        """Write the blocks into `folder`: those the layer holds, or built straight into the files (a freshly trained
        layer: at 4×10^6 concepts its leaves' blocks take gigabytes that training's memory cannot spare)."""
        with _layer_cache_lock:
            held = self._cache.get("blocks")
        if held is not None:
            for name, array in held.arrays(prefix).items():
                np.save(folder / f"{name}.npy", array, allow_pickle=False)
        else:
            written = self._built_blocks(lambda name, size, dtype: array_file(folder / f"{prefix}{name}.npy", size, dtype))
            for array in written.arrays("").values():
                if isinstance(array, np.memmap):
                    array.flush()

    def _built_blocks(self, allocate=None) -> ParentBlocks:
        with _layer_cache_lock:
            by_node = self._cache.pop("by_node", None)
        return parent_blocks(self.weights.T.tocsr() if by_node is None else by_node, self.children(),
                             np.asarray(self.clusters.indices), allocate)

    def use_blocks(self, blocks: ParentBlocks) -> None:
        with _layer_cache_lock:
            self._cache["blocks"] = blocks

    def use_transposed(self, by_node: sp.csr_matrix) -> None:
        """The transposed weights (nodes × features) that older model folders saved: the blocks are built from them."""
        with _layer_cache_lock:
            self._cache["by_node"] = by_node

    def _cached(self, name: str, build):
        """What prediction derives from the weights, built on first use (once, though threads share the layer)."""
        with _layer_cache_lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]
