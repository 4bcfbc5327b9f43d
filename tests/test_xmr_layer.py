"""`Layer`: what prediction derives from a level's weights."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.xmr.layer import Layer


def random_layer(seed: int, n_features: int = 300, n_nodes: int = 40) -> Layer:
    weights = sp.random(n_features, n_nodes, density=0.2, format="csr", dtype=np.float32, random_state=seed)
    clusters = sp.csr_matrix((np.ones(n_nodes, np.float32), np.arange(n_nodes) % 4, np.arange(n_nodes + 1)), shape=(n_nodes, 4))
    return Layer(weights, np.zeros(n_nodes, np.float32), clusters)


@pytest.mark.parametrize("seed", [0, 1])
def test_blocks_are_the_same_built_from_the_weights_or_from_an_older_folders_transposed_weights(seed):
    built = random_layer(seed)
    transposed = random_layer(seed)
    transposed.use_transposed(transposed.weights.T.tocsr())
    assert np.array_equal(built.blocks().node_lengths, np.bincount(built.weights.indices, minlength=40))
    for name, array in built.blocks().arrays("").items():
        assert np.array_equal(array, transposed.blocks().arrays("")[name]), name
    assert "by_node" not in transposed._cache  # the transposed weights are let go once the blocks are built


def test_a_trained_layer_writes_its_blocks_straight_into_files_and_a_loaded_one_copies_them(tmp_path):
    fresh = random_layer(2)
    (tmp_path / "written").mkdir()
    fresh.save_blocks(tmp_path / "written", "blocks_")
    assert "blocks" not in fresh._cache  # built into the files, not held
    expected = random_layer(2).blocks().arrays("blocks_")
    written = {path.stem: np.load(path) for path in (tmp_path / "written").glob("*.npy")}
    assert written.keys() == expected.keys()
    for name, array in expected.items():
        assert np.array_equal(written[name], array) and written[name].dtype == array.dtype, name
    holding = random_layer(2)
    holding.blocks()
    (tmp_path / "copied").mkdir()
    holding.save_blocks(tmp_path / "copied", "blocks_")
    for name, array in expected.items():
        assert np.array_equal(np.load(tmp_path / "copied" / f"{name}.npy"), array), name
