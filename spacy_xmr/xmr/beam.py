"""Beam search down the label tree with sparse matrix products, batched over all queries at once.

At each level the beam's nodes open their children (`beam @ C.T`), the children are scored by
the level's linear model, and a child's score is a function of its margin (`path_factor`) times its
parent's score (PECOS's path product). Only the best `beam_size` nodes per query go on. On a layer far
wider than what a query opens (the leaves of a 10^6-label tree) the margins are computed a query
at a time from the weights of the open parents' children on the query's terms only (`parent_blocks.py`): the same
floats, far less work.

On a device backend (a GPU: `backend.py`) the same steps run there, with the device's kernels for the margins and
the top k (`device_kernels.py`), on layers the caller copied there.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .backend import CPU, ArrayBackend
from .device_kernels import keep_top_k, product_at_cells
from .layer import Layer
from .parent_blocks import block_products
from .sparse_ops import product_at, row_ids

# What one step of the per-query kernel's bisection costs, in multiply-adds of the product kernel: measured at
# 4×10^6 concepts (about 7 ns a step, 1.7 a multiply-add) and checked on 10^5 and 10^6 concepts, where it picks the
# faster kernel of every layer
SEARCH_STEP_COST = 4


def path_factor(margins: np.ndarray, path_scoring: str, xp=np) -> np.ndarray:
    """A node's factor of its path score, from its margin (`tree.path_scoring`)."""
    if path_scoring == "sigmoid":
        return 1.0 / (1.0 + xp.exp(-margins))
    return xp.exp(-xp.maximum(0.0, 1.0 - margins) ** 3)  # l3-hinge


def layer_margins(features: sp.csr_matrix, layer: Layer, beam: sp.csr_matrix, opened: sp.csr_matrix) -> np.ndarray:
    """`features @ layer.weights` at the cells of `opened` (queries × nodes: the children of the `beam`'s parents, as
    `layer.children().opened(beam)` orders them), by the cheaper of two compiled kernels that give the same floats.

    The product kernel reads every weight of the query's terms, into a dense row as wide as the layer; the per-query
    kernel searches each term among the keys of each open parent (a bisection) and reads only the open children's
    weights. On the narrow upper levels a term's row is short and the product wins; from the level whose rows hold
    thousands of weights per term (4,096 nodes at 4×10^6 concepts) the search does, 3× on that level.
    """
    n_queries = features.shape[0]
    product_cost = layer.term_lengths()[features.indices].sum() + n_queries * layer.n_nodes
    keys_per_cell = np.diff(layer.blocks().parent_keys)[beam.indices]
    search_cost = SEARCH_STEP_COST * (np.diff(features.indptr)[row_ids(beam)] * np.log2(keys_per_cell + 1.0)).sum()
    if search_cost < product_cost:
        return block_products(features, layer.blocks(), beam, layer.children())
    return product_at(features, layer.weights, opened)


def beam_search(features: sp.csr_matrix, layers: list[Layer], beam_size: int, top_k: int, path_scoring: str,
                backend: ArrayBackend = CPU) -> sp.csr_matrix:
    """queries × labels: path scores of the best `top_k` labels per query, as a matrix of `backend` (whose device
    holds `features` and `layers`)."""
    xp = backend.xp
    beam = backend.sparse.csr_matrix(xp.ones((features.shape[0], 1), dtype=xp.float32))
    for level, layer in enumerate(layers):
        if backend.on_device:
            opened = (beam @ layer.clusters.T).tocsr()  # each child carries its parent's score
            margins = product_at_cells(backend, features, layer.weights, opened)
        else:
            opened = layer.children().opened(beam)
            margins = layer_margins(features, layer, beam, opened)
        margins += layer.bias[opened.indices]
        opened.data = (opened.data * path_factor(margins, path_scoring, xp)).astype(xp.float32)
        beam = keep_top_k(backend, opened, top_k if level == len(layers) - 1 else beam_size)
        beam.eliminate_zeros()
    return beam
