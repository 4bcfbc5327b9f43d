"""Linear matchers, one layer per tree level: for each node, one-vs-rest L2-loss SVMs over its children.

A child's classifier is trained on the examples routed to its parent (teacher-forced: the
examples whose labels sit under the parent), its own examples positive and its siblings'
negative — PECOS's 'tfn' negatives. Each parent is one liblinear call (dual coordinate descent,
one-vs-rest in C) on the columns its examples use; weights below `weight_threshold` are pruned
so the layer stays sparse. PECOS's 'man' (matcher-aware) negatives are not used: measured with
PECOS on NCBI Disease they cost 9× the training time for no gain (see DESIGN.md).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .config import MatcherConfig
from .sparse_ops import row_ids


@dataclass
class Layer:
    """One level of the chain: `weights` features × nodes (CSR: the right operand of products), `bias` per node, `clusters` C (nodes × parents)."""

    weights: sp.csr_matrix
    bias: np.ndarray
    clusters: sp.csr_matrix

    @property
    def n_nodes(self) -> int:
        return self.clusters.shape[0]


def _fit_block(features: sp.csr_matrix, positives: sp.csr_matrix, sample_weight: np.ndarray, config: MatcherConfig):
    """Weights (used columns × children) and bias for one parent's children; rows may be multi-label."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    n_children = positives.shape[1]
    rows = row_ids(positives)  # one training row per (example, positive child)
    targets = positives.indices
    used = np.unique(features.indices)
    compact = sp.csr_matrix((features.data, np.searchsorted(used, features.indices), features.indptr), shape=(features.shape[0], used.size))
    svm = LinearSVC(C=config.C, loss="squared_hinge", dual=True, tol=config.tolerance, max_iter=config.max_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The number of unique classes")  # leaf blocks: few examples per child
        svm.fit(compact[rows], targets, sample_weight=sample_weight[rows])
    coef, bias = svm.coef_, svm.intercept_
    if n_children == 2:  # liblinear returns one vector for two classes: class 1 against class 0
        coef, bias = np.vstack([-coef, coef]), np.array([-bias[0], bias[0]])
    return used, coef, bias


def train_layer(
    features: sp.csr_matrix, node_labels: sp.csr_matrix, parent_labels: sp.csr_matrix, clusters: sp.csr_matrix,
    sample_weight: np.ndarray, config: MatcherConfig, progress: bool = False, description: str = "matcher",
) -> Layer:
    """Fit every child classifier of one level.

    `node_labels` (examples × nodes) and `parent_labels` (examples × parents) mark, for each
    example, the nodes above its labels; `clusters` maps nodes to parents.
    """
    n_nodes, n_parents = clusters.shape
    children_of = clusters.T.tocsr()
    examples_of = parent_labels.T.tocsr()
    rows, cols, values = [], [], []
    bias = np.zeros(n_nodes, dtype=np.float32)
    for parent in tqdm(range(n_parents), desc=description, disable=None if progress else True, leave=False):
        children = children_of.indices[children_of.indptr[parent]:children_of.indptr[parent + 1]]
        examples = examples_of.indices[examples_of.indptr[parent]:examples_of.indptr[parent + 1]]
        if children.size == 1 or examples.size == 0:
            bias[children] = 1.0  # an only child is always taken: margin 1 scores 1 after post-processing
            continue
        positives = node_labels[examples][:, children]
        positives.data = np.ones_like(positives.data)
        used, coef, block_bias = _fit_block(features[examples], positives.tocsr(), sample_weight[examples], config)
        keep = np.abs(coef) >= config.weight_threshold
        child_index, feature_index = np.nonzero(keep)
        rows.append(used[feature_index])
        cols.append(children[child_index])
        values.append(coef[keep].astype(np.float32))
        bias[children] = block_bias
    weights = sp.csr_matrix(
        (np.concatenate(values) if values else np.zeros(0, np.float32),
         (np.concatenate(rows) if rows else np.zeros(0, np.int64), np.concatenate(cols) if cols else np.zeros(0, np.int64))),
        shape=(features.shape[1], n_nodes), dtype=np.float32,
    )
    return Layer(weights, bias, clusters)


def node_labels_per_level(labels: sp.csr_matrix, chain: list[sp.csr_matrix]) -> list[sp.csr_matrix]:
    """For each level, examples × nodes: which nodes lie above each example's labels (binary)."""
    binary = labels.copy()
    binary.data = np.ones_like(binary.data)
    per_level = [binary]
    for clusters in reversed(chain[1:]):
        above = (per_level[0] @ clusters).tocsr()
        above.data = np.ones_like(above.data)
        per_level.insert(0, above)
    return per_level


def train_matchers(features, labels, chain, sample_weight, config: MatcherConfig, progress: bool = False) -> list[Layer]:
    per_level = node_labels_per_level(labels, chain)
    root = sp.csr_matrix(np.ones((features.shape[0], 1), dtype=np.float32))
    layers = []
    for level, clusters in enumerate(chain):
        parents = root if level == 0 else per_level[level - 1]
        layers.append(train_layer(features, per_level[level], parents, clusters, sample_weight, config, progress,
                                  description=f"matcher level {level + 1}/{len(chain)}"))
    return layers
