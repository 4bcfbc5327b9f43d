"""A layer's weights grouped by parent (PECOS's chunked layout), and the beam search's per-query product over them.

For every (parent, feature) pair the blocks hold the weights of that parent's children on that feature. A query
looks its terms up in the blocks of the parents it opened, so it reads only the weights its terms touch, where the
rows of the open nodes hold every weight of every open child: on the leaves of a 10^5-concept tree, a query's terms
touch about 2,200 of the 65,000 weights of its 976 open leaves.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp

from .arrays import index_dtype
from .runs import places_in_runs, run_cells
from .sparse_ops import row_ids

BLOCK_WEIGHTS = 1 << 21  # weights sorted at once while blocks are built (bounds the build's memory: about 100 bytes a weight)


@dataclass
class Children:
    """Each parent's children in node order: `nodes[indptr[p]:indptr[p + 1]]` (a linking process holds this per layer:
    about 4 bytes a node)."""

    indptr: np.ndarray
    nodes: np.ndarray

    @classmethod
    def of(cls, parent: np.ndarray, n_parents: int) -> "Children":
        nodes = np.argsort(parent, kind="stable").astype(index_dtype(parent.size))
        return cls(np.concatenate([[0], np.cumsum(np.bincount(parent, minlength=n_parents))]), nodes)

    def ranks(self) -> np.ndarray:
        """Each node's rank among its parent's children."""
        rank = np.empty(self.nodes.size, dtype=np.int64)
        rank[self.nodes] = places_in_runs(np.diff(self.indptr))
        return rank

    def opened(self, beam: sp.csr_matrix) -> sp.csr_matrix:
        """queries × nodes: the children of each query's beam parents, each with its parent's score (`beam @ C.T`), a
        run of a parent's children per beam cell, in the beam's order: the order `block_products` answers in."""
        counts = np.diff(self.indptr)[beam.indices]
        indptr = np.concatenate([[0], np.cumsum(counts)])[beam.indptr]
        nodes = self.nodes[run_cells(self.indptr[beam.indices], counts)]
        return sp.csr_matrix((np.repeat(beam.data, counts), nodes, indptr), shape=(beam.shape[0], self.nodes.size))


@dataclass
class ParentBlocks:
    """Parent p's keys are `parent_keys[p]:parent_keys[p + 1]`, one per feature its children weigh (`key_features`,
    ascending); key i's weights are `weights[key_starts[i]:key_starts[i + 1]]`, on the children of `child_ranks`.
    `node_lengths`: each node's number of weights (a load checks them against the layer)."""

    parent_keys: np.ndarray
    key_features: np.ndarray
    key_starts: np.ndarray
    child_ranks: np.ndarray
    weights: np.ndarray
    node_lengths: np.ndarray

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {prefix + field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> "ParentBlocks":
        return cls(**{field.name: arrays[prefix + field.name] for field in fields(cls)})

    @classmethod
    def array_names(cls, prefix: str) -> list[str]:
        return [prefix + field.name for field in fields(cls)]


def parent_blocks(by_node: sp.csr_matrix, children: Children, parent: np.ndarray,
                  allocate: Callable[[str, int, type], np.ndarray] | None = None) -> ParentBlocks:
    """The blocks of a layer whose weights are `by_node` (nodes × features), each array made by `allocate(name, size,
    dtype)` (`np.empty` by default; a memory-mapped file, to write them without holding them) and filled a group of
    whole parents at a time, in two passes: the first counts each parent's keys, so nothing is copied to grow.
    At 4×10^6 concepts the layers hold about 330M weights: the build holds no copy of them beyond `by_node`."""
    allocate = allocate or (lambda name, size, dtype: np.empty(size, dtype=dtype))
    n_features, n_parents = by_node.shape[1], children.indptr.size - 1
    keys_per_parent = np.zeros(n_parents, dtype=np.int64)
    for _, _, keys, first, _ in _sorted_groups(by_node, children, parent):
        keys_per_parent += np.bincount(keys[first] // n_features, minlength=n_parents)
    n_keys = int(keys_per_parent.sum())
    largest_family = int(np.diff(children.indptr).max(initial=0))
    blocks = ParentBlocks(
        parent_keys=allocate("parent_keys", n_parents + 1, index_dtype(n_keys)),
        key_features=allocate("key_features", n_keys, np.int32),
        key_starts=allocate("key_starts", n_keys + 1, index_dtype(by_node.nnz)),
        child_ranks=allocate("child_ranks", by_node.nnz, np.uint16 if largest_family <= 1 << 16 else np.int32),
        weights=allocate("weights", by_node.nnz, np.float32),
        node_lengths=allocate("node_lengths", by_node.shape[0], np.int64),
    )
    blocks.parent_keys[0] = 0
    np.cumsum(keys_per_parent, out=blocks.parent_keys[1:])
    for (start, stop), done, keys, first, sorted_payload in _sorted_groups(by_node, children, parent):
        key_range = slice(blocks.parent_keys[start], blocks.parent_keys[stop])
        blocks.key_features[key_range] = keys[first] % n_features
        blocks.key_starts[key_range] = done.start + first
        blocks.child_ranks[done], blocks.weights[done] = sorted_payload()
    blocks.key_starts[n_keys] = by_node.nnz
    blocks.node_lengths[:] = np.diff(by_node.indptr)
    return blocks


def _sorted_groups(by_node: sp.csr_matrix, children: Children, parent: np.ndarray):
    """Per group of whole parents (about `BLOCK_WEIGHTS` weights): its parents (start, stop), its weights' place in
    the blocks, their keys (parent × n_features + feature) sorted, each key's first weight, and a function that
    gathers their (child ranks, weights) in that order (the counting pass reads no weight). Within a key, the children
    stay in node order."""
    n_parents = children.indptr.size - 1
    lengths, rank = np.diff(by_node.indptr), children.ranks()
    parent_ends = np.concatenate([[0], np.cumsum(lengths[children.nodes])])[children.indptr]  # weights before each parent
    start = 0
    while start < n_parents:
        stop = max(start + 1, int(np.searchsorted(parent_ends, parent_ends[start] + BLOCK_WEIGHTS, side="right")) - 1)
        group = children.nodes[children.indptr[start]:children.indptr[stop]]
        cells = run_cells(by_node.indptr[group], lengths[group])
        keys = np.repeat(parent[group].astype(np.int64), lengths[group]) * by_node.shape[1] + by_node.indices[cells]
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        sorted_payload = lambda group=group, cells=cells, order=order: (np.repeat(rank[group], lengths[group])[order],
                                                                        by_node.data[cells[order]])
        first = np.flatnonzero(np.diff(keys, prepend=-1))
        yield (start, stop), slice(parent_ends[start], parent_ends[stop]), keys, first, sorted_payload
        start = stop


def block_products(features: sp.csr_matrix, blocks: ParentBlocks, beam: sp.csr_matrix, children: Children) -> np.ndarray:
    """`features @ weights` at the cells of `children.opened(beam)`, in its order: the same floats as scipy's products
    (`product_at`), each cell's products added in feature order from 0, in float32."""
    from .compiled_loops import products_by_block

    if not features.has_sorted_indices:
        features = features.sorted_indices()
    counts = np.diff(children.indptr)[beam.indices]
    run_starts = np.cumsum(counts) - counts
    by_parent = np.argsort(beam.indices, kind="stable")
    return products_by_block(features.indptr, features.indices, features.data.astype(np.float32, copy=False),
                             by_parent, row_ids(beam), beam.indices, run_starts, blocks.parent_keys, blocks.key_features,
                             blocks.key_starts, blocks.child_ranks, blocks.weights, int(counts.sum()))
