"""What `annotate` writes for a shard: the input documents with the linked spans as BioC annotations.

With `--mentions ner` the input's own annotations are dropped before the pipeline runs and the output
annotations are the spans the pipeline found (`doc.ents`, or `doc.spans[spans_key]`), ids `0`, `1`, ….
With `--mentions gold` the output keeps the input's annotations (ids and infons) and adds to each the
candidate infons. Either way an annotation carries `candidate_ids`, `candidate_scores`, `confidence` (the calibrated
probability that the prediction is right, where the pipeline gives one) and, as `predicted_id`, the span's `kb_id_`
(NIL when the confidence is under the pipeline's threshold, or no candidate); spans that no linker
handled (e.g. of a label the linker skips) get no candidate infons. With `--mentions gold` the gold ids
are removed from the spans before the pipeline runs (`without_gold_ids`), so they never pass for predictions.
"""
from __future__ import annotations

import copy

import bioc

from ..corpus import GOLD_SPANS_KEY, docs_to_collection, document_mentions, set_candidates
from ..corpus.bioc_documents import sorted_passages
from ..corpus.bioc_io import BIOC_XML_OUTPUT
from ..corpus.candidates import PREDICTED_ID
from ..corpus.jsonl import JSONL_OUTPUT
from ..corpus.pubtator_writer import PUBTATOR_OUTPUT

OUTPUT_FORMATS = {output.name: output for output in (BIOC_XML_OUTPUT, PUBTATOR_OUTPUT, JSONL_OUTPUT)}


def without_annotations(collection: bioc.BioCCollection) -> bioc.BioCCollection:
    """A copy with the documents' passages, ids and infons but no annotations or relations (input to NER)."""
    result = copy.deepcopy(collection)
    for document in result.documents:
        for holder in [document, *document.passages]:
            holder.annotations = []
            holder.relations = []
    return result


def without_gold_ids(docs: list) -> list:
    """The Docs with the `kb_id_` of their gold spans (`doc.spans["xmr_gold"]`, `doc.ents`) cleared, in place."""
    from spacy.tokens import Span

    for doc in docs:
        doc.spans[GOLD_SPANS_KEY] = [Span(doc, s.start, s.end, label=s.label) for s in doc.spans[GOLD_SPANS_KEY]]
        doc.ents = [Span(doc, e.start, e.end, label=e.label) for e in doc.ents]
    return docs


def _linked_spans(doc, spans_key: str | None) -> list:
    if spans_key is None:
        return list(doc.ents)
    return list(doc.spans[spans_key]) if spans_key in doc.spans else []


def _store_prediction(annotation: bioc.BioCAnnotation, span) -> None:
    """The span's candidates and decision; nothing for a span no linker handled (no `kb_id_`, e.g. another label)."""
    if span.kb_id_:
        set_candidates(annotation, span._.xmr_candidates, span._.xmr_confidence)
        annotation.infons[PREDICTED_ID] = span.kb_id_


def _add_found_spans(document: bioc.BioCDocument, spans: list) -> None:
    passages = sorted_passages(document)
    for index, span in enumerate(spans):
        annotation = bioc.BioCAnnotation()
        annotation.id = str(index)
        annotation.text = span.text
        annotation.infons["type"] = span.label_
        annotation.add_location(bioc.BioCLocation(span.start_char, span.end_char - span.start_char))
        _store_prediction(annotation, span)
        holder = next((p for p in reversed(passages) if p.offset <= span.start_char), document)
        holder.add_annotation(annotation)


def linked_collection(docs: list, mentions: str, spans_key: str | None) -> bioc.BioCCollection:
    """The BioC collection of annotated Docs made by `collection_to_docs` (see the module docstring)."""
    collection = docs_to_collection(docs)
    for document, doc in zip(collection.documents, docs):
        if mentions == "gold":
            by_id = {a.id: a for holder in [document, *document.passages] for a in holder.annotations}
            for mention, span in zip(document_mentions(document), doc.spans[GOLD_SPANS_KEY]):
                _store_prediction(by_id[mention.annotation_id], span)
        else:
            _add_found_spans(document, _linked_spans(doc, spans_key))
    return collection


def count_mentions(collection: bioc.BioCCollection) -> int:
    """Annotations that received a prediction."""
    return sum(
        PREDICTED_ID in annotation.infons
        for document in collection.documents
        for holder in [document, *document.passages]
        for annotation in holder.annotations
    )
