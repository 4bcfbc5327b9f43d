"""`SharedEvidence`: what the linker keeps of a batch for the ranker after it, and when the ranker must not use it."""
from __future__ import annotations

import pickle

import spacy
from spacy.tokens import Span

from spacy_xmr.pipeline.mentions import mentions_of_spans
from spacy_xmr.pipeline.shared_evidence import SharedEvidence
from spacy_xmr.xmr import CandidateEvidence

nlp = spacy.blank("en")


def doc_with_entities(text: str, *token_spans: tuple[int, int]):
    doc = nlp(text)
    doc.ents = [Span(doc, start, end, label="Disease") for start, end in token_spans]
    return doc


def evidence_of(span) -> list[CandidateEvidence]:
    return [CandidateEvidence(f"C-{span.text}", 1.0, {"exact": 1.0})]


def test_the_ranker_takes_exactly_what_the_linker_kept_once():
    docs = [doc_with_entities("heart disease and liver failure", (0, 2), (3, 5)), doc_with_entities("renal failure", (0, 2))]
    spans = [span for doc in docs for span in doc.ents]
    shared = SharedEvidence(capacity=10)
    mentions = mentions_of_spans(spans)
    shared.keep(spans, mentions, [evidence_of(span) for span in spans], top_k=10)
    assert shared.take(spans, top_k=10) == (mentions, [evidence_of(span) for span in spans])
    assert shared.take(spans, top_k=10) is None  # taken: a second pass computes its own


def test_other_spans_another_top_k_or_an_unkept_doc_give_none():
    doc, other = doc_with_entities("heart disease and liver failure", (0, 2), (3, 5)), doc_with_entities("renal failure", (0, 2))
    shared = SharedEvidence(capacity=10)
    for spans, top_k in (([doc.ents[0]], 10), (list(doc.ents), 20), ([*doc.ents, *other.ents], 10)):
        shared.keep(list(doc.ents), mentions_of_spans(doc.ents), [evidence_of(span) for span in doc.ents], top_k=10)
        assert shared.take(spans, top_k=top_k) is None


def test_the_oldest_docs_go_first_beyond_the_capacity_and_dead_docs_go_at_once():
    shared = SharedEvidence(capacity=2)
    docs = [doc_with_entities(f"disease number {i}", (0, 1)) for i in range(3)]
    for doc in docs:
        shared.keep(list(doc.ents), mentions_of_spans(doc.ents), [evidence_of(doc.ents[0])], top_k=10)
    assert shared.take(list(docs[0].ents), top_k=10) is None
    assert shared.take(list(docs[2].ents), top_k=10) is not None
    del doc, docs
    assert len(shared._docs) == 0


def test_it_pickles_empty_for_worker_processes():
    doc = doc_with_entities("heart disease", (0, 2))
    shared = SharedEvidence(capacity=3)
    shared.keep(list(doc.ents), mentions_of_spans(doc.ents), [evidence_of(doc.ents[0])], top_k=10)
    copy = pickle.loads(pickle.dumps(shared))
    assert copy.capacity == 3 and copy.take(list(doc.ents), top_k=10) is None


def test_mentions_of_spans_give_each_doc_its_own_document_id_across_calls():
    """A ranker's batch may join docs of two linker batches: their mentions must not share a document id."""
    first, second = doc_with_entities("heart disease and liver failure", (0, 2), (3, 5)), doc_with_entities("renal failure", (0, 2))
    ids = [mention.document_id for mention in mentions_of_spans(first.ents)] + [m.document_id for m in mentions_of_spans(second.ents)]
    assert ids[0] == ids[1] and len(set(ids)) == 2
    assert [m.annotation_id for m in mentions_of_spans([*first.ents, *second.ents])] == ["0", "1", "0"]
