"""The label tree: recursive balanced spherical 2-means over label embeddings, cut into B-way levels.

Every binary split halves a node exactly (sizes differ by at most one), so all leaves sit at
the same depth d = ceil(log2(n_labels / max_leaf_size)). The tree is then read as a PECOS
cluster chain: binary depths d, d - log2(B), d - 2·log2(B), ... become the levels, and
`C[t]` (nodes of level t × nodes of level t-1, one 1 per row) says which parent each node has;
the last matrix maps labels to leaf clusters.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .backend import CPU, ArrayBackend
from .sparse_ops import compact_columns, l2_normalize_rows, product_float64

DEVICE_MIN_ROWS = 1 << 14  # on a GPU, a depth whose nodes all have fewer rows is split on the CPU (see `binary_leaves`)


def _balanced_split(compact: Any, rng: np.random.Generator, iterations: int, backend: ArrayBackend = CPU) -> Any:
    """A boolean mask: True for the half of the rows assigned to the first centroid (arrays of `backend`).

    `compact` holds one node's rows over the columns they use (`_node_rows`), so that the centroids stay small."""
    xp = backend.xp
    n = compact.shape[0]
    first, second = (int(row) for row in rng.choice(n, size=2, replace=False))  # drawn on the CPU: the same on any device
    direction = (compact[first] - compact[second]).toarray().ravel()
    total = xp.asarray(compact.sum(axis=0)).ravel()
    left = xp.zeros(n, dtype=bool)
    for _ in range(iterations):
        order = _by_score(backend, product_float64(compact, direction, xp))
        new_left = xp.zeros(n, dtype=bool)
        new_left[order[: n // 2 + n % 2]] = True
        if bool(xp.array_equal(new_left, left)):
            break
        left = new_left
        first_sum = compact.T @ left.astype(xp.float32)  # a product, not `compact[left].sum()`: no copy of half the rows
        centroids = xp.vstack([first_sum, total - first_sum]).astype(xp.float64)
        centroids /= xp.maximum(xp.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        direction = centroids[0] - centroids[1]
    return left


def _node_rows(embeddings: Any, block: Any, xp) -> Any:
    """The rows of one node (`block`, ascending) over the columns they use. The root's are the matrix itself
    (copied only where a column is unused); a deeper node's are gathered, and that copy's columns renumbered in place,
    so the node costs one copy of its rows, not two (half the label embeddings below the root)."""
    if block.size == embeddings.shape[0]:
        return compact_columns(embeddings, xp)[1]
    return compact_columns(embeddings[block], xp, in_place=True)[1]


def _by_score(backend: ArrayBackend, scores: Any) -> Any:
    """The rows by descending score, ties in row order: a stable argsort on the CPU, a sort on (-score, row) on a
    device (cupy's argsort promises no stability), which order alike."""
    if not backend.on_device:
        return np.argsort(-scores, kind="stable")
    xp = backend.xp
    return xp.lexsort(xp.stack([xp.arange(scores.size, dtype=xp.float64), -scores.astype(xp.float64)]))


def binary_leaves(embeddings: Any, depth: int, iterations: int, seed: int, progress: bool = False,
                  backend: ArrayBackend = CPU) -> np.ndarray:
    """The leaf of every label: the index, left to right, of the depth-`depth` node its 2-means splits sent it to.

    Binary node j at depth t has children 2j and 2j + 1, so a label's ancestor at depth t is `leaf >> (depth - t)`.
    The leaves are read off the splits themselves: an odd split gives its extra label to the left half, and no
    formula over block sizes reproduces every such choice. Needs at least 2**depth labels (`tree_depth` ensures it).

    `embeddings` (float32 CSR, of `backend`'s sparse module) has its rows l2-normalised in place: at 10^6 labels it is
    a gigabyte, and the caller's PIFA matrix is a temporary (so is the root's block: the matrix itself, not a copy).
    The splits run on `backend`'s device, with the same random draws as on the CPU; on a GPU, once every node of a
    depth has fewer than `DEVICE_MIN_ROWS` rows the rest of the tree is split on the CPU, where a small node's split
    costs less than the kernel launches of its iterations (a guess: not yet measured on a GPU).
    """
    rng = np.random.default_rng(seed)
    embeddings = l2_normalize_rows(embeddings.tocsr(), backend.xp)
    blocks = [backend.xp.arange(embeddings.shape[0])]
    with tqdm(total=2**depth - 1, desc="label tree", disable=None if progress else True, leave=False) as bar:
        for _ in range(depth):
            if backend.on_device and max(block.size for block in blocks) < DEVICE_MIN_ROWS:
                embeddings, blocks, backend = backend.to_cpu(embeddings), [backend.to_cpu(block) for block in blocks], CPU
            next_blocks = []
            for block in blocks:
                left = _balanced_split(_node_rows(embeddings, block, backend.xp), rng, iterations, backend)
                next_blocks.extend([block[left], block[~left]])
                bar.update()
            blocks = next_blocks
    leaf = np.empty(embeddings.shape[0], dtype=np.int64)
    for index, block in enumerate(blocks):
        leaf[backend.to_cpu(block)] = index
    return leaf


def tree_depth(n_labels: int, max_leaf_size: int) -> int:
    return max(0, math.ceil(math.log2(n_labels / max_leaf_size))) if n_labels > max_leaf_size else 0


def cluster_chain(leaf: np.ndarray, depth: int, branching_factor: int) -> list[sp.csr_matrix]:
    """PECOS-style chain [C_0 (K_0 × 1), C_1 (K_1 × K_0), ..., C_label (n_labels × K_last)] from each label's
    binary leaf at `depth` (as `binary_leaves` gives it)."""
    n_labels = leaf.size
    step = int(math.log2(branching_factor))
    depths = sorted({d for d in range(depth, 0, -step)})
    chain = []
    parent_depth = 0
    for d in depths:
        n_nodes, n_parents = 2**d, 2**parent_depth
        child = np.arange(n_nodes)
        parent = child >> (d - parent_depth)
        chain.append(sp.csr_matrix((np.ones(n_nodes, dtype=np.float32), (child, parent)), shape=(n_nodes, n_parents)))
        parent_depth = d
    parent = leaf >> (depth - parent_depth)  # each label's ancestor at the last level's depth (the root: 0)
    chain.append(sp.csr_matrix((np.ones(n_labels, dtype=np.float32), (np.arange(n_labels), parent)), shape=(n_labels, 2**parent_depth)))
    return chain


def build_cluster_chain(embeddings: Any, max_leaf_size: int, branching_factor: int, iterations: int, seed: int,
                        progress: bool = False, backend: ArrayBackend = CPU) -> list[sp.csr_matrix]:
    """The label tree of `embeddings` (labels × features, on `backend`'s device) as a cluster chain (on the CPU),
    leaves at most `max_leaf_size` labels."""
    depth = tree_depth(embeddings.shape[0], max_leaf_size)
    return cluster_chain(binary_leaves(embeddings, depth, iterations, seed, progress, backend), depth, branching_factor)
