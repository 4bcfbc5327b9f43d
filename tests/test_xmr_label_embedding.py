"""Label embeddings: PIFA, and its convex combination with each concept's own name features."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spacy_xmr.ontology import Concept, Ontology
from spacy_xmr.xmr.config import TrainingDataConfig
from spacy_xmr.xmr.label_embedding import label_embeddings, pifa_embeddings
from spacy_xmr.xmr.training_data import build_training_data

# examples × features: rows 0-1 are concept 0's examples, row 2 concept 1's, row 3 both concepts'
FEATURES = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [3.0, 4.0, 0]], dtype=np.float32))
LABELS = sp.csr_matrix(np.array([[2.0, 0], [1.0, 0], [0, 1.0], [1.0, 1.0]], dtype=np.float32))


def test_pifa_is_the_normalised_sum_of_a_concepts_examples_whatever_their_support():
    pifa = pifa_embeddings(FEATURES, LABELS).toarray()
    assert np.allclose(pifa[0], np.array([4.0, 5.0, 0]) / np.sqrt(41))
    assert np.allclose(pifa[1], np.array([3.0, 4.0, 1.0]) / np.sqrt(26))


def test_name_features_are_mixed_in_by_weight_and_a_nameless_concept_keeps_pifa():
    pifa = pifa_embeddings(FEATURES, LABELS).toarray()
    assert np.array_equal(label_embeddings(FEATURES, LABELS, np.array([0, 2]), 0.0).toarray(), pifa)
    mixed = label_embeddings(FEATURES, LABELS, np.array([3, -1]), 0.25).toarray()
    assert np.allclose(mixed[0], 0.75 * pifa[0] + 0.25 * np.array([0.6, 0.8, 0]))
    assert np.allclose(mixed[1], 0.75 * pifa[1])  # no name row: only PIFA's share (the tree normalises rows)


def test_training_data_points_each_concept_at_its_normalised_name():
    ontology = Ontology([Concept(id="C1", name="Breast Cancers", synonyms=["mammary carcinoma"]), Concept(id="C2", name="!!!")])
    data = build_training_data(ontology, [], TrainingDataConfig())
    assert data.keys[data.name_rows[0]] == "breast cancers" and data.name_rows[1] == -1
