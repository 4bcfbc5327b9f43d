"""The packed n-gram counter (`ngram_counts.py`) gives scikit-learn's counts over a fitted vocabulary, to the bit:
on the real names and mentions, on texts made to hit its edges (whitespace, unseen characters, words shorter than
the shortest n-gram, repeats), and through its fallback where an alphabet is too large to pack."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.corpus import iter_mentions, read_corpus
from spacy_xmr.xmr.features import _canonical
from spacy_xmr.xmr.ngram_counts import PackedNgramCounter, ngram_counter, sklearn_counter
from spacy_xmr.xmr.normalize import normalize_text

FITTED = ["renal disease", "type 2 diabetes", "breast cancer", "cancer of the breast", "g6pd deficiency", "a b c",
          "x", "café au lait spots", "αβ thalassemia", "ataxia-telangiectasia", "hereditary non polyposis colorectal cancer"]
EDGES = ["", "   ", "\t\n", "a", "x y z", "ab\tcd  ef\n", "renal  renal renal", "cancer cancer of the the breast",
         "unseen qqq words", "日本語 テキスト", "αβ αβγ", "café naïve", "\ud800 lone surrogate", "type 1 diabetes 2", "b a c a b"]
SETTINGS = [("char_wb", (2, 5)), ("char_wb", (4, 5)), ("char_wb", (1, 3)), ("word", (1, 2)), ("word", (2, 3)), ("word", (1, 1))]


def assert_same_counts(analyzer, ngram_range, fitted, texts, counter=None):
    vocabulary = sklearn_counter(analyzer, ngram_range).fit(fitted).get_feature_names_out().tolist()
    expected = sklearn_counter(analyzer, ngram_range, {term: column for column, term in enumerate(vocabulary)}).transform(texts)
    expected.sort_indices()
    got = (counter or PackedNgramCounter.for_vocabulary(analyzer, ngram_range, vocabulary)).transform(texts)
    assert got.shape == expected.shape and got.dtype == expected.dtype == np.float32
    assert got.indptr.dtype == expected.indptr.dtype and got.indices.dtype == expected.indices.dtype
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)


@pytest.mark.parametrize("analyzer, ngram_range", SETTINGS)
def test_packed_counts_equal_scikit_learns_on_edge_texts(analyzer, ngram_range):
    assert_same_counts(analyzer, ngram_range, FITTED, EDGES + FITTED)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abc xy\t-é", max_size=14), min_size=1, max_size=6), st.sampled_from(SETTINGS))
def test_packed_counts_equal_scikit_learns_on_any_text(texts, setting):
    assert_same_counts(*setting, FITTED + ["abc ab", "xyx y"], texts)


@pytest.mark.parametrize("analyzer, ngram_range", [("char_wb", (2, 5)), ("word", (1, 2))])
def test_packed_counts_equal_scikit_learns_on_medic_and_ncbi(medic, ncbi_dir, analyzer, ngram_range):
    names = _canonical([normalize_text(alias) for concept_id in medic.ids[:4000] for alias in medic[concept_id].aliases])
    mentions = _canonical([normalize_text(m.text) for m in iter_mentions(read_corpus(ncbi_dir / "NCBIdevelopset_corpus.txt"))])
    assert_same_counts(analyzer, ngram_range, names, mentions + names[:500])


def test_an_alphabet_too_large_to_pack_falls_back_to_scikit_learn():
    fitted = ["".join(chr(0x4E00 + (7 * i + j) % 9000) for j in range(5)) for i in range(3000)]  # 9,000 characters: 14 bits
    vocabulary = sklearn_counter("char_wb", (2, 5)).fit(fitted).get_feature_names_out().tolist()
    assert PackedNgramCounter.for_vocabulary("char_wb", (2, 5), vocabulary) is None
    counter = ngram_counter("char_wb", (2, 5), vocabulary)
    assert not isinstance(counter, PackedNgramCounter)
    assert_same_counts("char_wb", (2, 5), fitted, fitted[:50] + EDGES, counter)
    assert isinstance(ngram_counter("char_wb", (2, 5), sklearn_counter("char_wb", (2, 5)).fit(FITTED).get_feature_names_out().tolist()),
                      PackedNgramCounter)


def test_an_empty_vocabulary_counts_nothing():
    counts = PackedNgramCounter.for_vocabulary("char_wb", (2, 5), []).transform(["renal disease", ""])
    assert counts.shape == (2, 0) and counts.nnz == 0 and isinstance(counts, sp.csr_matrix)
