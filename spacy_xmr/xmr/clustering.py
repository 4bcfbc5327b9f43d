"""The label tree: recursive balanced spherical 2-means over label embeddings, cut into B-way levels.

Every binary split halves a node exactly (sizes differ by at most one), so all leaves sit at
the same depth d = ceil(log2(n_labels / max_leaf_size)). The tree is then read as a PECOS
cluster chain: binary depths d, d - log2(B), d - 2·log2(B), ... become the levels, and
`C[t]` (nodes of level t × nodes of level t-1, one 1 per row) says which parent each node has;
the last matrix maps labels to leaf clusters.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .sparse_ops import compact_columns, l2_normalize_rows


def _balanced_split(embeddings: sp.csr_matrix, rng: np.random.Generator, iterations: int) -> np.ndarray:
    """A boolean mask: True for the half of the rows assigned to the first centroid."""
    n = embeddings.shape[0]
    _, compact = compact_columns(embeddings)  # work on the columns this node uses: centroids stay small
    first, second = rng.choice(n, size=2, replace=False)
    direction = (compact[first] - compact[second]).toarray().ravel()
    total = np.asarray(compact.sum(axis=0)).ravel()
    left = np.zeros(n, dtype=bool)
    for _ in range(iterations):
        order = np.argsort(-(compact @ direction), kind="stable")
        new_left = np.zeros(n, dtype=bool)
        new_left[order[: n // 2 + n % 2]] = True
        if np.array_equal(new_left, left):
            break
        left = new_left
        first_sum = compact.T @ left.astype(np.float32)  # a product, not `compact[left].sum()`: no copy of half the rows
        centroids = np.vstack([first_sum, total - first_sum]).astype(np.float64)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        direction = centroids[0] - centroids[1]
    return left


def binary_leaves(embeddings: sp.csr_matrix, depth: int, iterations: int, seed: int, progress: bool = False) -> np.ndarray:
    """The leaf of every label: the index, left to right, of the depth-`depth` node its 2-means splits sent it to.

    Binary node j at depth t has children 2j and 2j + 1, so a label's ancestor at depth t is `leaf >> (depth - t)`.
    The leaves are read off the splits themselves: an odd split gives its extra label to the left half, and no
    formula over block sizes reproduces every such choice. Needs at least 2**depth labels (`tree_depth` ensures it).

    `embeddings` (float32 CSR) has its rows l2-normalised in place: at 10^6 labels it is a gigabyte,
    and the caller's PIFA matrix is a temporary (so is the root's block: the matrix itself, not a copy).
    """
    rng = np.random.default_rng(seed)
    embeddings = l2_normalize_rows(embeddings.tocsr().astype(np.float32, copy=False))
    blocks = [np.arange(embeddings.shape[0])]
    with tqdm(total=2**depth - 1, desc="label tree", disable=None if progress else True, leave=False) as bar:
        for _ in range(depth):
            next_blocks = []
            for block in blocks:
                rows = embeddings if block.size == embeddings.shape[0] else embeddings[block]
                left = _balanced_split(rows, rng, iterations)
                next_blocks.extend([block[left], block[~left]])
                bar.update()
            blocks = next_blocks
    leaf = np.empty(embeddings.shape[0], dtype=np.int64)
    for index, block in enumerate(blocks):
        leaf[block] = index
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


def build_cluster_chain(embeddings: sp.csr_matrix, max_leaf_size: int, branching_factor: int, iterations: int, seed: int,
                        progress: bool = False) -> list[sp.csr_matrix]:
    """The label tree of `embeddings` (labels × features) as a cluster chain, leaves at most `max_leaf_size` labels."""
    depth = tree_depth(embeddings.shape[0], max_leaf_size)
    return cluster_chain(binary_leaves(embeddings, depth, iterations, seed, progress), depth, branching_factor)
