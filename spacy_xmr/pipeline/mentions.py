"""Which spans a component links, and their `Mention`s (the unit the XMR model and reranker read)."""
from __future__ import annotations

import itertools
from collections import Counter
from typing import Sequence

from spacy.tokens import Doc, Span

from ..corpus import NIL
from ..corpus.mention import Mention
from ..ontology import split_gold_ids

_DOCUMENT_NUMBERS = itertools.count()
CONTEXT_TOKENS = 48  # context on each side of a mention when the doc has no sentence boundaries


def spans_to_link(doc: Doc, spans_key: str | None, labels: list[str]) -> list[Span]:
    """`doc.ents` (or `doc.spans[spans_key]`, overlaps allowed) restricted to `labels` when given."""
    if spans_key is None:
        spans = list(doc.ents)
    else:
        spans = list(doc.spans[spans_key]) if spans_key in doc.spans else []
    if labels:
        wanted = set(labels)
        spans = [span for span in spans if span.label_ in wanted]
    return spans


def _context_bounds(span: Span, has_sentences: bool) -> tuple[int, int]:
    """Character bounds of the sentence(s) holding the span, or a token window around it."""
    doc = span.doc
    if has_sentences:
        first, last = doc[span.start].sent, doc[span.end - 1].sent
        return first.start_char, last.end_char
    window = doc[max(0, span.start - CONTEXT_TOKENS):min(len(doc), span.end + CONTEXT_TOKENS)]
    return window.start_char, window.end_char


def mention_from_span(span: Span, document_id: str, index: int, text: str, has_sentences: bool) -> Mention:
    """A mention with document-level offsets; the passage is the whole doc; gold ids from `kb_id_`.

    `text` (`doc.text`) and `has_sentences` (`doc.has_annotation("SENT_START")`) are passed in
    because spaCy computes each by walking every token of the doc.
    """
    sentence_start, sentence_end = _context_bounds(span, has_sentences)
    gold = [] if span.kb_id_ in ("", NIL) else split_gold_ids(span.kb_id_)
    return Mention(
        document_id=document_id,
        annotation_id=str(index),
        start=span.start_char,
        end=span.end_char,
        text=span.text,
        type=span.label_,
        gold_ids=gold,
        passage_index=0,
        passage_start=0,
        passage_end=len(text),
        sentence_start=sentence_start,
        sentence_end=sentence_end,
        document_text=text,
    )


def mentions_of_spans(spans: Sequence[Span]) -> list[Mention]:
    """The spans' mentions, in order. Each doc gets a document id of its own in this process, so that mentions made
    in different batches (a linker's, then a ranker's, of other sizes) never share one."""
    documents: dict[int, tuple[str, str, bool]] = {}
    per_document: Counter = Counter()
    mentions = []
    for span in spans:
        doc = span.doc
        if id(doc) not in documents:
            documents[id(doc)] = (f"doc{next(_DOCUMENT_NUMBERS)}", doc.text, doc.has_annotation("SENT_START"))
        document_id, text, has_sentences = documents[id(doc)]
        mentions.append(mention_from_span(span, document_id, per_document[document_id], text, has_sentences))
        per_document[document_id] += 1
    return mentions


def mentions_of_docs(docs: list[Doc], spans_key: str | None, labels: list[str]) -> tuple[list[list[Span]], list[Mention]]:
    """The spans of each doc and one flat list of their mentions (in doc, then span order)."""
    spans_per_doc = [spans_to_link(doc, spans_key, labels) for doc in docs]
    return spans_per_doc, mentions_of_spans([span for spans in spans_per_doc for span in spans])
