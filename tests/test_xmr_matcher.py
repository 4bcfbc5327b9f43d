"""The matchers' liblinear fit per parent: one weight vector per child, hard negatives included."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spacy_xmr.xmr.config import MatcherConfig
from spacy_xmr.xmr.matcher import _fit_block, _per_child


def test_per_child_keeps_children_in_order_and_reads_two_classes_as_one_vector():
    coef, bias = _per_child(np.array([0, 1]), np.array([[2.0, -1.0]]), np.array([0.5]), 2)
    assert np.array_equal(coef, [[-2.0, 1.0], [2.0, -1.0]]) and np.array_equal(bias, [-0.5, 0.5])
    three = np.arange(6.0).reshape(3, 2)
    coef, bias = _per_child(np.array([0, 1, 2]), three, np.array([1.0, 2.0, 3.0]), 3)
    assert np.array_equal(coef, three) and np.array_equal(bias, [1.0, 2.0, 3.0])


def test_per_child_drops_the_hard_negative_class_and_silences_a_child_without_examples():
    # children 0..2; class 3 holds the hard negatives; child 1 had no example (sampled out)
    coef, bias = _per_child(np.array([0, 2, 3]), np.array([[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]), np.array([0.1, 0.2, 0.3]), 3)
    assert np.array_equal(coef, [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    assert np.array_equal(bias, [0.1, -1.0, 0.2])


def _block(rows: list[list[int]], n_features: int) -> sp.csr_matrix:
    data = sp.lil_matrix((len(rows), n_features))
    for i, columns in enumerate(rows):
        data[i, columns] = 1.0
    return data.tocsr().astype(np.float64)


def test_a_hard_negative_row_pushes_every_child_down_on_its_features():
    """Feature 2 appears only in rows that belong to no child: with them as hard negatives, both children
    learn to score it below zero; without them, it carries no weight."""
    features = _block([[0], [0], [1], [1], [2], [2]], 3)
    positives = sp.csr_matrix((np.ones(4), [0, 0, 1, 1], [0, 1, 2, 3, 4, 4, 4]), shape=(6, 2))
    config = MatcherConfig(max_iter=200, tolerance=1e-4)
    used, coef, _ = _fit_block(features, positives, np.ones(6), config)
    assert coef.shape == (2, 3) and np.array_equal(used, [0, 1, 2])
    assert coef[0, 0] > 0 and coef[1, 1] > 0
    assert (coef[:, 2] < 0).all()
    used, coef, _ = _fit_block(features[:4], positives[:4], np.ones(4), config)
    assert np.array_equal(used, [0, 1])  # feature 2 unseen: no weight at all
