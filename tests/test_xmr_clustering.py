"""The label tree: leaves read off the 2-means splits, balanced sizes, and the PECOS chain built from them."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.xmr import clustering, sparse_ops
from spacy_xmr.xmr.clustering import binary_leaves, build_cluster_chain, cluster_chain, tree_depth


def random_embeddings(n_labels: int, seed: int = 0, n_features: int = 40) -> sp.csr_matrix:
    """Non-negative sparse rows (PIFA-like), none of them empty."""
    rng = np.random.default_rng(seed)
    noise = sp.random(n_labels, n_features, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    anchor = sp.csr_matrix((np.ones(n_labels, dtype=np.float32), (np.arange(n_labels), rng.integers(0, n_features, n_labels))),
                           shape=(n_labels, n_features))
    return (noise + anchor).tocsr()


def recorded_splits(monkeypatch) -> list[np.ndarray]:
    """Every mask `_balanced_split` returns, in call order (breadth first: depth by depth, nodes left to right)."""
    masks: list[np.ndarray] = []
    split = clustering._balanced_split

    def recording(*args, **kwargs):
        masks.append(split(*args, **kwargs))
        return masks[-1]

    monkeypatch.setattr(clustering, "_balanced_split", recording)
    return masks


def label_nodes(chain: list[sp.csr_matrix]) -> list[np.ndarray]:
    """Per level, top first: the node each label sits in, read from the chain's matrices alone."""
    to_level = chain[-1]
    nodes = [to_level.indices.copy()]
    for matrix in reversed(chain[1:-1]):
        to_level = (to_level @ matrix).tocsr()
        nodes.append(to_level.indices.copy())
    return nodes[::-1]


def assert_leaves_follow_the_splits(leaf: np.ndarray, depth: int, masks: list[np.ndarray]) -> None:
    """Call k at depth t split node j = k - (2^t - 1), whose labels (ascending) are those with that ancestor;
    each label must sit below child 2j where its mask said left, below child 2j + 1 where it said right."""
    assert len(masks) == 2**depth - 1
    for k, mask in enumerate(masks):
        t = int(math.log2(k + 1))
        j = k - (2**t - 1)
        labels = np.flatnonzero(leaf >> (depth - t) == j)
        assert labels.size == mask.size
        children = leaf[labels] >> (depth - t - 1)
        np.testing.assert_array_equal(children, np.where(mask, 2 * j, 2 * j + 1))


def test_eleven_labels_at_depth_three_sit_where_their_splits_put_them(monkeypatch):
    masks = recorded_splits(monkeypatch)
    # max_leaf_size 2 gives depth 3 for 11 labels; a binary chain keeps every depth as a level
    chain = build_cluster_chain(random_embeddings(11), max_leaf_size=2, branching_factor=2, iterations=10, seed=0)
    leaf = label_nodes(chain)[-1]
    assert_leaves_follow_the_splits(leaf, 3, masks)
    # 11 -> 6, 5 -> 3, 3, 3, 2 -> the extra label of each odd split goes left
    assert np.bincount(leaf, minlength=8).tolist() == [2, 1, 2, 1, 2, 1, 1, 1]


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(0, 5), extra=st.integers(0, 90), seed=st.integers(0, 2**16), data=st.data())
def test_every_label_sits_in_the_block_its_two_means_chose(depth, extra, seed, data):
    n_labels = 2**depth + extra  # every split needs two labels to seed its centroids
    with pytest.MonkeyPatch.context() as monkeypatch:
        masks = recorded_splits(monkeypatch)
        leaf = binary_leaves(random_embeddings(n_labels, seed), depth, iterations=5, seed=seed)
    assert_leaves_follow_the_splits(leaf, depth, masks)
    sizes = np.bincount(leaf, minlength=2**depth)
    assert set(sizes.tolist()) <= {n_labels // 2**depth, -(-n_labels // 2**depth)}  # balanced: floor or ceil
    branching_factor = data.draw(st.sampled_from([2, 4, 16]))
    nodes = label_nodes(cluster_chain(leaf, depth, branching_factor))
    levels = sorted(range(depth, 0, -int(math.log2(branching_factor))))
    assert len(nodes) == max(1, len(levels))
    for t, node in zip(levels, nodes):
        np.testing.assert_array_equal(node, leaf >> (depth - t))


@pytest.mark.parametrize("n_labels, max_leaf_size", [(11, 2), (100, 16), (257, 16), (16, 16), (17, 16)])
def test_tree_depth_bounds_the_leaves(n_labels, max_leaf_size):
    depth = tree_depth(n_labels, max_leaf_size)
    assert -(-n_labels // 2**depth) <= max_leaf_size  # the largest leaf fits
    assert depth == 0 or -(-n_labels // 2 ** (depth - 1)) > max_leaf_size  # and one level less would not


@pytest.mark.parametrize("n_labels, branching_factor", [(300, 4), (300, 16), (37, 2), (5, 4)])
def test_chain_shapes_and_one_parent_per_node(n_labels, branching_factor):
    chain = build_cluster_chain(random_embeddings(n_labels), max_leaf_size=8, branching_factor=branching_factor, iterations=5,
                                seed=1)
    assert chain[0].shape[1] == 1
    for upper, lower in zip(chain, chain[1:]):
        assert lower.shape[1] == upper.shape[0]
    assert chain[-1].shape[0] == n_labels
    for matrix in chain:
        assert np.diff(matrix.indptr).tolist() == [1] * matrix.shape[0]
        assert set(matrix.data.tolist()) == {1.0}
    assert all(matrix.shape[0] <= branching_factor * matrix.shape[1] for matrix in chain[:-1])
    root = chain[-1]
    for matrix in reversed(chain[:-1]):
        root = root @ matrix
    assert root.toarray().ravel().tolist() == [1.0] * n_labels  # every label reaches the one root once


def test_a_seed_gives_the_same_tree_and_another_seed_another():
    def leaves(seed):
        return binary_leaves(random_embeddings(64), depth=3, iterations=10, seed=seed)

    np.testing.assert_array_equal(leaves(5), leaves(5))
    assert not np.array_equal(leaves(5), leaves(6))


def test_binary_leaves_normalises_the_rows_it_is_given():
    embeddings = random_embeddings(20)
    binary_leaves(embeddings, depth=2, iterations=5, seed=0)
    np.testing.assert_allclose(sp.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


def test_splits_by_blocks_of_rows_give_the_same_tree_and_leave_the_columns_as_they_were(monkeypatch):
    embeddings = random_embeddings(300, seed=2, n_features=400)  # sparse enough that deeper nodes leave columns unused
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 10**9)
    whole = binary_leaves(embeddings.copy(), depth=4, iterations=10, seed=1)
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 7)  # every product and renumbering a few rows at a time
    given = embeddings.copy()
    np.testing.assert_array_equal(binary_leaves(given, depth=4, iterations=10, seed=1), whole)
    np.testing.assert_array_equal(given.indices, embeddings.indices)  # the nodes' gathered copies were renumbered, not the matrix
