"""The nearest-neighbour channel: the pruned term index and exact cosines for what it finds."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spacy_xmr.xmr.channels import NearestChannel, QueryBatch
from spacy_xmr.xmr.config import FeatureConfig, NearestConfig
from spacy_xmr.xmr.example_strings import ExampleStrings
from spacy_xmr.xmr.features import Featurizer
from spacy_xmr.xmr.normalize import normalize_text
from spacy_xmr.xmr.sparse_ops import top_k_per_row

KEYS = ["breast neoplasms", "breast cancer", "lung neoplasms", "small cell lung carcinoma", "colon cancer",
        "hereditary nonpolyposis colorectal cancer", "adenomatous polyposis coli", "g6pd deficiency"]
CONCEPT_OF = [0, 0, 1, 1, 2, 2, 3, 4]


def examples_and_featurizer() -> tuple[ExampleStrings, Featurizer]:
    labels = sp.csr_matrix((np.ones(len(KEYS), np.float32), (np.arange(len(KEYS)), CONCEPT_OF)), shape=(len(KEYS), 5))
    featurizer, features = Featurizer.fit_transform(KEYS, FeatureConfig())
    return ExampleStrings(KEYS, labels, features), featurizer


def test_term_index_keeps_each_strings_heaviest_terms():
    examples, _ = examples_and_featurizer()
    pruned = NearestChannel(examples, NearestConfig(index_terms=6)).term_index()
    assert pruned.shape == examples.features.T.shape
    assert (pruned != top_k_per_row(examples.features, 6).T).nnz == 0
    assert np.diff(pruned.tocsc().indptr).tolist() == [6] * len(KEYS)
    assert NearestChannel(examples, NearestConfig(index_terms=10**6)).term_index().nnz == examples.features.nnz  # every term


def test_pruned_index_finds_misspellings_and_scores_exact_cosines():
    examples, featurizer = examples_and_featurizer()
    texts = [normalize_text(t) for t in ("breast neoplasm", "hereditary non-polyposis colorectal cancers", "G6PD-deficiency")]
    queries = featurizer.transform(texts)
    cosines = (queries @ examples.features.T).toarray()
    for index_terms in (10**6, 16):
        channel = NearestChannel(examples, NearestConfig(top_aliases=3, query_terms=8, index_terms=index_terms))
        scores = channel.score(QueryBatch(texts, lambda: queries, top_k=10, beam_size=10)).toarray()
        assert scores.argmax(axis=1).tolist() == [0, 2, 4]
        for query, concept in enumerate(scores.argmax(axis=1)):  # a concept's score is its best string's exact cosine
            best = max(cosines[query, row] for row, of in enumerate(CONCEPT_OF) if of == concept)
            assert abs(scores[query, concept] - best) < 1e-6
