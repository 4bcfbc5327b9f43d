"""`Layer`: what prediction derives from a level's weights."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.xmr import layer as layer_module
from spacy_xmr.xmr.layer import Layer


def random_layer(seed: int, n_features: int = 300, n_nodes: int = 40) -> Layer:
    weights = sp.random(n_features, n_nodes, density=0.2, format="csr", dtype=np.float32, random_state=seed)
    clusters = sp.csr_matrix((np.ones(n_nodes, np.float32), np.arange(n_nodes) % 4, np.arange(n_nodes + 1)), shape=(n_nodes, 4))
    return Layer(weights, np.zeros(n_nodes, np.float32), clusters)


@pytest.mark.parametrize("seed", [0, 1])
def test_node_lengths_are_the_weights_per_node_counted_in_blocks_or_read_from_the_transposed_weights(seed, monkeypatch):
    expected = np.bincount(random_layer(seed).weights.indices, minlength=40)
    monkeypatch.setattr(layer_module, "COUNT_BLOCK", 7)  # many blocks
    counted = random_layer(seed)
    assert np.array_equal(counted.node_lengths(), expected)
    transposed = random_layer(seed)
    transposed.use_weights_by_node(transposed.weights.T.tocsr())
    assert np.array_equal(transposed.node_lengths(), expected) and transposed.node_lengths().dtype == np.int64
