"""The weights grouped by parent and the beam search's per-query product over them (`parent_blocks.py`)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr import parent_blocks as blocks_module
from spacy_xmr.xmr.parent_blocks import Children, block_products, parent_blocks
from spacy_xmr.xmr.sparse_ops import product_at


def random_case(seed: int, n_nodes: int, n_parents: int, n_features: int = 80, n_queries: int = 11):
    rng = np.random.default_rng(seed)
    weights = sp.random(n_features, n_nodes, density=0.25, format="csr", dtype=np.float32, random_state=seed)
    parent = rng.integers(0, n_parents, n_nodes)  # in no order, some parents without children: as on a label layer
    features = sp.random(n_queries, n_features, density=0.15, format="csr", dtype=np.float32, random_state=seed + 1)
    beam = sp.random(n_queries, n_parents, density=0.4, format="csr", dtype=np.float32, random_state=seed + 2)
    return weights, parent, features, beam


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_nodes=st.integers(1, 60), n_parents=st.integers(1, 9), group=st.integers(1, 400))
def test_block_products_give_the_floats_of_the_batched_product(seed, n_nodes, n_parents, group):
    weights, parent, features, beam = random_case(seed, n_nodes, n_parents)
    children = Children.of(parent, n_parents)
    clusters = sp.csr_matrix((np.ones(n_nodes, np.float32), (np.arange(n_nodes), parent)), shape=(n_nodes, n_parents))
    opened = children.opened(beam)
    assert abs(opened - beam @ clusters.T).max() == 0  # the same cells and scores, in runs of siblings
    original = blocks_module.BLOCK_WEIGHTS
    blocks_module.BLOCK_WEIGHTS = group  # built in many groups of parents, or in one
    try:
        blocks = parent_blocks(weights.T.tocsr(), children, parent)
    finally:
        blocks_module.BLOCK_WEIGHTS = original
    assert np.array_equal(blocks.node_lengths, np.bincount(weights.indices, minlength=n_nodes))
    values = block_products(features, blocks, beam, children)
    assert values.dtype == np.float32
    assert np.array_equal(values, product_at(features, weights, opened))  # the same floats, not only close


def test_block_products_read_only_the_open_parents_blocks():
    weights, parent, features, beam = random_case(3, 40, 4)
    children = Children.of(parent, 4)
    blocks = parent_blocks(weights.T.tocsr(), children, parent)
    blocks.weights = blocks.weights.copy()
    closed = np.setdiff1d(np.arange(4), beam.indices)
    for p in closed:  # weights of parents no query opened: changing them changes nothing
        lo, hi = blocks.parent_keys[p], blocks.parent_keys[p + 1]
        blocks.weights[blocks.key_starts[lo]:blocks.key_starts[hi]] = 1e6
    assert np.array_equal(block_products(features, blocks, beam, children),
                          product_at(features, weights, children.opened(beam)))


def test_unsorted_query_terms_and_empty_beams():
    weights, parent, features, beam = random_case(5, 30, 3)
    beam = sp.vstack([beam, sp.csr_matrix((1, 3), dtype=np.float32)]).tocsr()  # a query with no open parent
    features = sp.vstack([features, features[:1]]).tocsr()
    shuffled = features.copy()
    for row in range(shuffled.shape[0]):  # terms out of order within each row
        lo, hi = shuffled.indptr[row], shuffled.indptr[row + 1]
        shuffled.indices[lo:hi], shuffled.data[lo:hi] = shuffled.indices[lo:hi][::-1].copy(), shuffled.data[lo:hi][::-1].copy()
    shuffled.has_sorted_indices = False
    children = Children.of(parent, 3)
    blocks = parent_blocks(weights.T.tocsr(), children, parent)
    assert np.array_equal(block_products(shuffled, blocks, beam, children), block_products(features, blocks, beam, children))


@pytest.mark.parametrize("n_children, dtype", [(300, np.uint16), (70_000, np.int32)])
def test_child_ranks_take_the_smallest_type_that_holds_them(n_children, dtype):
    parent = np.zeros(n_children, dtype=np.int64)
    weights = sp.csr_matrix((np.ones(n_children, np.float32), (np.zeros(n_children), np.arange(n_children))), shape=(1, n_children))
    children = Children.of(parent, 1)
    blocks = parent_blocks(weights.T.tocsr(), children, parent)
    assert blocks.child_ranks.dtype == dtype and blocks.child_ranks.max() == n_children - 1
    features = sp.csr_matrix(np.ones((1, 1), np.float32))
    beam = sp.csr_matrix(np.ones((1, 1), np.float32))
    assert np.array_equal(block_products(features, blocks, beam, children), np.ones(n_children, np.float32))
