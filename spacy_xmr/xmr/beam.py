"""Beam search down the label tree with sparse matrix products, batched over all queries at once.

At each level the beam's nodes open their children (`beam @ C.T`), the children are scored by
the level's linear model, and a child's score is its post-processed margin times its parent's
score (PECOS's path product). Only the best `beam_size` nodes per query go on.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .matcher import Layer
from .sparse_ops import product_at, top_k_per_row


def post_process(margins: np.ndarray, kind: str) -> np.ndarray:
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-margins))
    return np.exp(-np.maximum(0.0, 1.0 - margins) ** 3)  # l3-hinge


def beam_search(features: sp.csr_matrix, layers: list[Layer], beam_size: int, top_k: int, post_processor: str) -> sp.csr_matrix:
    """queries × labels: path scores of the best `top_k` labels per query."""
    n = features.shape[0]
    beam = sp.csr_matrix(np.ones((n, 1), dtype=np.float32))
    for level, layer in enumerate(layers):
        opened = (beam @ layer.clusters.T).tocsr()  # each child carries its parent's score
        margins = product_at(features, layer.weights, opened)
        margins += layer.bias[opened.indices]
        opened.data = (opened.data * post_process(margins, post_processor)).astype(np.float32)
        keep = top_k if level == len(layers) - 1 else beam_size
        beam = top_k_per_row(opened, keep)
        beam.eliminate_zeros()
    return beam

