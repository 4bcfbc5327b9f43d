"""Fusion: the weighted sum of the channels, and `channel_scores`, whose per-channel scores give the fused score."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.xmr import XMRConfig, channel_weights, fused_score
from spacy_xmr.xmr.fusion import fuse, raise_to


def test_fuse_is_the_weighted_sum_and_raise_to_the_maximum():
    rng = np.random.default_rng(0)
    scores = {name: sp.random(5, 7, density=0.4, format="csr", dtype=np.float32, random_state=i)
              for i, name in enumerate(("tree", "exact", "nearest"))}
    weights = {"tree": 1.5, "exact": 1.0, "nearest": 0.5, "parent": 0.7}
    fused = fuse(scores, weights, (5, 7))
    expected = sum(weights[name] * matrix.toarray() for name, matrix in scores.items())
    np.testing.assert_allclose(fused.toarray(), expected, rtol=1e-6)
    other = sp.csr_matrix(rng.random((5, 7)).astype(np.float32))
    np.testing.assert_allclose(raise_to(fused, other, 0.7).toarray(), np.maximum(expected, 0.7 * other.toarray()), rtol=1e-6)


def test_channel_weights_name_every_weighted_channel():
    weights = channel_weights(XMRConfig().fusion)
    assert weights == {"tree": 1.5, "exact": 1.0, "word_key": 2.0, "nearest": 1.0, "dense": 3.0, "parent": 0.7}


def test_fused_score_of_a_candidate():
    weights = {"tree": 2.0, "exact": 1.0, "parent": 0.5}
    assert fused_score({"tree": 0.5, "exact": 1.0}, weights) == 2.0
    assert fused_score({"tree": 0.1, "parent": 3.0}, weights) == 1.5  # the parent channel raises it
    assert fused_score({"tree": 0.1, "document": 0.9}, weights) == 0.9  # offered by its document


def check_evidence(model, rankings, evidence) -> set[str]:
    """Same candidates and scores; the channel scores, weighted and fused, give the fused score. Returns the channels seen."""
    weights = channel_weights(model.prediction_config.fusion)
    seen = set()
    assert len(rankings) == len(evidence)
    for ranking, candidates in zip(rankings, evidence):
        assert ranking == [(c.concept_id, c.score) for c in candidates]
        for candidate in candidates:
            assert candidate.channels and all(score > 0 for score in candidate.channels.values())
            assert fused_score(candidate.channels, weights) == pytest.approx(candidate.score, rel=1e-5)
            seen |= set(candidate.channels)
    return seen


def test_channel_scores_of_texts_match_predict(synthetic_model, synthetic_mentions):
    texts = [m.text for m in synthetic_mentions["dev"]] + ["", "--"]
    evidence = synthetic_model.channel_scores(texts, top_k=20)
    seen = check_evidence(synthetic_model, synthetic_model.predict(texts, top_k=20), evidence)
    assert {"tree", "exact", "word_key", "nearest", "parent"} <= seen and "document" not in seen
    assert evidence[-1] == evidence[-2] == []


def test_channel_scores_of_mentions_match_predict_mentions(synthetic_model, synthetic_mentions):
    mentions = synthetic_mentions["dev"]
    evidence = synthetic_model.channel_scores(mentions, top_k=12)
    seen = check_evidence(synthetic_model, synthetic_model.predict_mentions(mentions, top_k=12), evidence)
    assert {"tree", "exact", "nearest", "parent", "document"} <= seen
    for candidates in evidence:  # the document's concepts come last, in the slots of the last quarter
        assert all(i >= 12 - 3 for i, c in enumerate(candidates) if "document" in c.channels)


def test_channel_scores_follow_the_long_form_where_it_scores_higher(synthetic_model, synthetic_mentions):
    """A defined abbreviation is linked by its long form too; its candidates keep the evidence of that form."""
    from spacy_xmr.xmr import texts_to_link

    mentions = [m for m in synthetic_mentions["dev"] + synthetic_mentions["train"]]
    long_forms = texts_to_link(mentions)
    short = [m for m, long_form in zip(mentions, long_forms) if long_form != m.text]
    assert short, "the synthetic corpus defines abbreviations"
    evidence = synthetic_model.channel_scores(short, top_k=10)
    check_evidence(synthetic_model, synthetic_model.predict_mentions(short, top_k=10), evidence)
    raw = synthetic_model.channel_scores(short, top_k=10, resolve_abbreviations=False)
    assert [[c.concept_id for c in r] for r in raw] != [[c.concept_id for c in r] for r in evidence]


def test_long_forms_join_the_texts_call_and_score_as_alone(synthetic_model, synthetic_mentions, monkeypatch):
    """One pass of the channels per batch: the long forms are scored with the texts, as two calls would score them."""
    from spacy_xmr.xmr import texts_to_link

    mentions = synthetic_mentions["dev"] + synthetic_mentions["train"]
    texts, long_forms = [m.text for m in mentions], texts_to_link(mentions)
    changed = [i for i, (text, long_form) in enumerate(zip(texts, long_forms)) if long_form != text]
    assert changed, "the synthetic corpus defines abbreviations"
    alone = synthetic_model._scored(texts, 10, None, True)
    expanded = synthetic_model._scored([long_forms[i] for i in changed], 10, None, True)
    expected = alone.merged(expanded.placed(np.asarray(changed), len(texts)), 10)
    calls, scored = [], synthetic_model._scored
    monkeypatch.setattr(synthetic_model, "_scored", lambda *args: calls.append(args[0]) or scored(*args))
    got = synthetic_model._scored_mentions(mentions, 10, None, True, True)
    assert len(calls) == 1 and len(calls[0]) == len(texts) + len(changed)
    assert (got.fused != expected.fused).nnz == 0
    assert got.channels.keys() == expected.channels.keys()
    assert all((got.channels[name] != expected.channels[name]).nnz == 0 for name in expected.channels)
