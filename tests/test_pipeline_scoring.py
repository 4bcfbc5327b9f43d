"""The registered scorer: candidate recall@k / MRR, and link P/R/F for span groups."""
from __future__ import annotations

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.scorer import Scorer
from spacy.tokens import Span
from spacy.training import Example

from spacy_xmr.pipeline.extensions import register_extensions, set_candidates
from spacy_xmr.pipeline.scoring import make_candidate_scorer, score_candidates, score_span_links

register_extensions()
NLP = spacy.blank("en")
TEXT = "alpha beta gamma delta epsilon zeta"


def _example(gold_ids: list[str], predicted: list[tuple[str, list[str]] | None], spans_key: str | None = None) -> Example:
    """One token per mention; `predicted[i]` is (kb_id, candidate ids) or None for no predicted span."""
    reference, doc = NLP.make_doc(TEXT), NLP.make_doc(TEXT)
    gold_spans = [Span(reference, i, i + 1, "D", kb_id=kb) for i, kb in enumerate(gold_ids)]
    pred_spans = []
    for i, prediction in enumerate(predicted):
        if prediction is not None:
            kb_id, candidates = prediction
            span = Span(doc, i, i + 1, "D", kb_id=kb_id)
            set_candidates(span, [(c, 1.0 / (rank + 1)) for rank, c in enumerate(candidates)])
            pred_spans.append(span)
    if spans_key is None:
        reference.ents, doc.ents = gold_spans, pred_spans
    else:
        reference.spans[spans_key], doc.spans[spans_key] = gold_spans, pred_spans
    return Example(doc, reference)


@pytest.mark.parametrize("spans_key", [None, "mentions"])
def test_recall_at_k_and_mrr(spans_key):
    example = _example(
        ["A", "B|C", "D", "E", "NIL"],
        [("A", ["A", "X"]), ("X", ["X", "Y", "C"]), ("X", ["X"] + [f"Y{i}" for i in range(8)] + ["D"]), None, ("NIL", [])],
        spans_key,
    )
    scores = score_candidates([example], spans_key=spans_key)
    # ranks: 1, 3 (composite gold: any id counts), 10, not predicted; the NIL gold is not counted
    assert scores["xmr_recall_at_1"] == pytest.approx(1 / 4)
    assert scores["xmr_recall_at_5"] == pytest.approx(2 / 4)
    assert scores["xmr_recall_at_10"] == pytest.approx(3 / 4)
    assert scores["xmr_mrr"] == pytest.approx((1 + 1 / 3 + 1 / 10) / 4)


def test_no_gold_links_gives_undefined_scores():
    scores = score_candidates([_example(["NIL", ""], [("A", ["A"]), None])])
    assert all(value is None for value in scores.values())


KB_IDS = st.sampled_from(["", "NIL", "A", "B"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KB_IDS, st.one_of(st.none(), KB_IDS)), min_size=1, max_size=6))
def test_span_group_links_are_scored_like_scorer_score_links(pairs):
    gold = [g for g, _ in pairs]
    predicted = [None if p is None else (p, []) for _, p in pairs]
    expected = Scorer.score_links([_example(gold, predicted)], negative_labels=["NIL", ""])
    actual = score_span_links([_example(gold, predicted, "mentions")], spans_key="mentions")
    for key in ("nel_micro_p", "nel_micro_r", "nel_micro_f"):
        assert actual[key] == pytest.approx(expected[key])


def test_registered_scorer_accepts_the_component_cfg():
    scorer = spacy.registry.scorers.get("spacy_xmr.candidate_scorer.v1")()
    assert scorer is make_candidate_scorer()
    scores = scorer([_example(["A"], [("A", ["A"])])], top_k=10, threshold=None, spans_key=None, labels=(), overwrite=True)
    assert scores["nel_micro_f"] == 1.0 and scores["xmr_recall_at_1"] == 1.0
