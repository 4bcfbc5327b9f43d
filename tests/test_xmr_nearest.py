"""The nearest-neighbour channel: the pruned term index and exact cosines for what it finds."""
from __future__ import annotations

import numpy as np
import pytest
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


def test_the_trees_candidates_get_their_best_strings_cosine_where_the_index_misses_them():
    examples, featurizer = examples_and_featurizer()
    texts = [normalize_text("breast neoplasm")]
    queries = featurizer.transform(texts)
    cosines = (queries @ examples.features.T).toarray()[0]
    proposed = sp.csr_matrix(np.array([[0.2, 0.9, 0.0, 0.5, 0.0]], dtype=np.float32))  # the tree's scores: concepts 1, 3, 0

    def scores(tree_candidates: int, earlier: dict) -> np.ndarray:  # the index finds one string, of concept 0
        channel = NearestChannel(examples, NearestConfig(top_aliases=1, query_terms=8, tree_candidates=tree_candidates))
        return channel.score(QueryBatch(texts, lambda: queries, top_k=10, beam_size=10, earlier=earlier)).toarray()[0]

    alone = scores(0, {"tree": proposed})
    assert np.flatnonzero(alone).tolist() == [0]
    assert np.array_equal(scores(2, {}), alone)  # no tree scores (its weight 0): the index alone
    helped = scores(2, {"tree": proposed})
    assert cosines[6] == 0  # concept 3's one string shares no n-gram with the query: the tree's proposal alone gives it no score
    assert np.flatnonzero(helped).tolist() == [0, 1]  # the tree's best two join, at their best string's cosine
    for concept in (0, 1):
        assert abs(helped[concept] - max(cosines[row] for row, of in enumerate(CONCEPT_OF) if of == concept)) < 1e-6


def test_the_model_hands_the_nearest_channel_the_trees_scores(synthetic_model):
    texts = ["cardiac disease", "nephritis syndrome type 2", "hepatomegaly"]
    scored = synthetic_model.configure(tree_candidates=5)._scored(texts, 10, None, with_channels=True)
    try:
        tree, nearest = scored.channels["tree"], scored.channels["nearest"]
        for row in range(len(texts)):
            best = top_k_per_row(tree[row], 5).indices
            assert set(best) <= set(nearest[row].indices)  # each of the tree's best five has its cosine
    finally:
        synthetic_model.configure()


@pytest.mark.parametrize("k", [1, 3, 40])
def test_the_cpu_shortlist_keeps_what_the_product_and_its_top_k_keep(k):
    """The merged posting lists give the product's sums to the bit and its top k, ties to the lowest strings: values
    on a grid of quarters tie often, and some queries share no term with any string."""
    from spacy_xmr.xmr.backend import CPU
    from spacy_xmr.xmr.channels.nearest import _shortlist

    for seed in range(4):
        rng = np.random.default_rng(seed)
        cut = sp.random(30, 50, density=0.1, format="csr", dtype=np.float32, random_state=rng)
        by_term = sp.random(50, 400, density=0.06, format="csr", dtype=np.float32, random_state=rng)
        cut.data, by_term.data = np.ceil(cut.data * 4) / 4, np.ceil(by_term.data * 4) / 4
        expected = top_k_per_row((cut @ by_term).tocsr(), k)
        got = _shortlist(CPU, cut, by_term, k, None)
        assert got.nnz == expected.nnz and (got != expected).nnz == 0
        assert np.array_equal(got.sorted_indices().data, expected.sorted_indices().data)


def test_the_cpu_shortlist_drops_a_sum_that_comes_back_to_zero_as_the_product_does():
    """A string whose running sum cancels to zero and then grows again is kept once, and one whose sum ends at zero is
    dropped: the running sums double as the record of the strings reached, and are left zero."""
    from spacy_xmr.xmr.backend import CPU
    from spacy_xmr.xmr.channels.nearest import SHORTLIST_SUMS, _shortlist
    from spacy_xmr.xmr.scratch import zeroed_float32

    cut = sp.csr_matrix(np.array([[1, 1, 1], [1, 1, 0]], dtype=np.float32))
    by_term = sp.csr_matrix(np.array([[1, 0, 0], [-1, 0, 0], [0.5, 0.25, 0]], dtype=np.float32))
    got = _shortlist(CPU, cut, by_term, 5, None)
    assert got.toarray().tolist() == [[0.5, 0.25, 0], [0, 0, 0]] and got.nnz == 2
    assert not zeroed_float32(SHORTLIST_SUMS, 3).any()  # left zero for the thread's next call
