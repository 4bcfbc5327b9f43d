"""The prediction path's batch shortcuts give exactly what one item at a time gives: the XMR stage scores each
distinct key of a batch once, the ranker's string and stem features compare each distinct (keys, concept) pair once, and
the ranker's list shares and confidence features are computed a block of equal-length lists at a time."""
from __future__ import annotations

import numpy as np
import pytest

from spacy_xmr.ranking import LearnedRanker, RankerConfig
from spacy_xmr.ranking.confidence import FEATURE_NAMES, feature_matrix, list_probabilities
from spacy_xmr.ranking.names import NameIndex, string_features
from spacy_xmr.ranking.pairs import DistinctPairs, factorize
from spacy_xmr.ranking.stems import StemIndex, stem_features
from spacy_xmr.xmr import CandidateEvidence, normalize_text


def test_a_batch_with_repeated_texts_scores_each_key_once_and_each_row_as_alone(synthetic_model, synthetic_mentions, monkeypatch):
    texts = [mention.text for mention in synthetic_mentions["dev"][:40]]
    texts = texts + texts[::3] + [texts[0].upper()]  # repeats, one only after normalisation
    scored_keys = []
    score_keys = synthetic_model._scored_keys
    monkeypatch.setattr(synthetic_model, "_scored_keys", lambda keys, *args: scored_keys.append(len(keys)) or score_keys(keys, *args))
    batch = synthetic_model.score_matrix(texts, top_k=10)
    assert scored_keys == [len({normalize_text(text) for text in texts})] < [len(texts)]
    for row, text in enumerate(texts):
        alone = synthetic_model.score_matrix([text], top_k=10)
        assert (batch[row] != alone).nnz == 0 and batch[row].nnz == alone.nnz, text


def test_a_documents_evidence_is_the_same_in_a_batch_where_other_mentions_expand_abbreviations(synthetic_model, synthetic_mentions):
    mentions = synthetic_mentions["dev"]
    by_document: dict[str, list] = {}
    for mention in mentions:
        by_document.setdefault(mention.document_id, []).append(mention)
    whole = dict(zip((m.location for m in mentions), synthetic_model.channel_scores(mentions, top_k=10)))
    offered_evidence = 0
    for document_mentions in by_document.values():
        for mention, alone in zip(document_mentions, synthetic_model.channel_scores(document_mentions, top_k=10)):
            assert whole[mention.location] == alone, mention.location
            offered_evidence += sum(len(c.channels) > 1 for c in alone if "document" in c.channels)
    assert offered_evidence  # document candidates that carry channel scores too: what a merge once dropped


@pytest.mark.parametrize("features, index", [(string_features, NameIndex), (stem_features, StemIndex)])
def test_string_and_stem_features_of_repeated_pairs_equal_those_of_each_row_alone(synthetic_model, synthetic_mentions, features, index):
    mentions = synthetic_mentions["dev"][:30]
    keys = [[normalize_text(m.text)] for m in mentions] * 2 + [[normalize_text(mentions[0].text), "a long form"]]
    candidates = synthetic_model.channel_scores(mentions, top_k=10)
    concept_ids = list(dict.fromkeys(c.concept_id for listed in candidates for c in listed))[:12]
    owners = np.repeat(np.arange(len(keys)), len(concept_ids))
    rows = [concept_ids[i % len(concept_ids)] for i in range(len(owners))]
    pairs = DistinctPairs.of(keys, owners, *factorize(rows))
    assert len(pairs) < len(rows)
    batch = features(index(synthetic_model.ontology), pairs)[pairs.of_row]
    alone = np.vstack([features(index(synthetic_model.ontology), DistinctPairs.of([keys[owner]], np.zeros(1, dtype=np.int64), [concept], np.zeros(1, dtype=np.int64)))
                       for owner, concept in zip(owners, rows)])
    assert np.array_equal(batch, alone)
    assert len(np.unique(batch, axis=0)) > 2  # varied rows, not a trivial agreement


def _lists(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=sum(sizes)).round(1)  # rounded: ties occur
    return raw, rng.uniform(size=sum(sizes))


@pytest.mark.parametrize("sizes", [[10, 3, 0, 10, 1, 7, 3], [0, 0], [2]])
def test_confidence_features_of_a_batch_equal_those_of_each_list_alone(sizes):
    raw, fused = _lists(sizes)
    got = feature_matrix(raw, fused, sizes)
    bounds = np.cumsum([0, *sizes])
    expected = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi > lo:
            scores = raw[lo:hi]
            order = np.argsort(-scores, kind="stable")
            second = scores[order[1]] if hi - lo > 1 else scores[order[0]]
            shifted = np.exp(scores - scores.max())
            expected.append([scores[order[0]], scores[order[0]] - second, (shifted / shifted.sum())[order[0]], fused[lo:hi][order[0]],
                             float(order[0] == 0)])
    assert got.shape == (sum(1 for size in sizes if size), len(FEATURE_NAMES))
    assert np.array_equal(got, np.array(expected).reshape(got.shape))


def test_the_ranker_orders_a_batch_as_it_orders_each_list_alone():
    sizes = [10, 3, 0, 10, 1, 7, 3]
    raw, _ = _lists(sizes, seed=1)
    evidence = [[CandidateEvidence(f"C{i}:{j}", 1.0, {}) for j in range(size)] for i, size in enumerate(sizes)]
    ranked = LearnedRanker(RankerConfig(), None, [], {}).order(raw, evidence)
    start = 0
    for candidates, got in zip(evidence, ranked):
        if not candidates:
            assert got == []
            continue
        shares = list_probabilities(raw[start:start + len(candidates)])
        order = np.argsort(-shares, kind="stable")
        assert got == [(candidates[i].concept_id, float(shares[i])) for i in order]
        start += len(candidates)
    assert [len(got) for got in ranked] == sizes
