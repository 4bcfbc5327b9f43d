"""BioC collections ⇄ spaCy Docs that share the Mention layer's text and offsets.

`collection_to_docs` makes one Doc per BioC document with `nlp.make_doc(document_text)`:
- `doc.spans["xmr_gold"]` holds EVERY gold annotation of the document (label = type, `kb_id_` = its gold
  ids `|`-joined, as scorers and training split them, or ""); a discontiguous annotation is one span from its
  first to its last location;
- `doc.ents` holds the contiguous annotations that do not overlap a longer one (spaCy's `filter_spans`);
- `doc.user_data["spacy_xmr.bioc"]` keeps, as plain JSON-like values (they survive `DocBin`), the document
  id and infons, the passage offsets and infons, each annotation's id, text, infons and locations, the
  relations, and the collection's source/date/key/infons.

Spans whose offsets fall inside a token are widened to token boundaries (`alignment_mode="expand"`) and
logged as misaligned; the exact offsets stay in user_data, so `docs_to_collection` round-trips text,
offsets, ids and all infons. A Doc without that user_data (e.g. raw text run through a pipeline) becomes
a one-passage document whose annotations are its `doc.ents` (`identifier` = `kb_id_`).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import bioc

from ..errors import SpacyXmrError
from .bioc_documents import document_text, iter_annotations, sorted_passages
from .mentions import document_mentions

if TYPE_CHECKING:  # spaCy (and through thinc, torch) is imported only when Docs are made
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

USER_DATA_KEY = "spacy_xmr.bioc"
GOLD_SPANS_KEY = "xmr_gold"


def _collection_record(collection: bioc.BioCCollection) -> dict:
    return {"source": collection.source, "date": collection.date, "key": collection.key, "infons": dict(collection.infons)}


def _document_record(document: bioc.BioCDocument, collection: dict) -> dict:
    passages = sorted_passages(document)
    annotations = []
    for passage_index, annotation in iter_annotations(document):
        annotations.append(
            {
                "id": annotation.id,
                "text": annotation.text,
                "infons": dict(annotation.infons),
                "locations": [[location.offset, location.length] for location in annotation.locations],
                "passage": passage_index,
            }
        )
    relations = [
        {"id": r.id, "infons": dict(r.infons), "nodes": [[n.refid, n.role] for n in r.nodes], "passage": passage_index}
        for passage_index, holder in [(None, document), *enumerate(passages)]
        for r in holder.relations
    ]
    return {
        "document_id": document.id,
        "infons": dict(document.infons),
        "passages": [{"offset": p.offset, "length": len(p.text or ""), "infons": dict(p.infons)} for p in passages],
        "annotations": annotations,
        "relations": relations,
        "collection": collection,
    }


def _document_to_doc(document: bioc.BioCDocument, nlp: Language, collection_record: dict) -> tuple[Doc, list[str]]:
    """One BioC document as a Doc, and the ids of the annotations whose spans had to be widened."""
    from spacy.util import filter_spans

    mentions = document_mentions(document)
    text = document_text(document)
    if len(text) > nlp.max_length:  # spaCy's own error (E088) would name neither the document nor the way out
        raise SpacyXmrError(f"document {document.id}: {len(text):,} characters, more than the pipeline's nlp.max_length "
                            f"({nlp.max_length:,}); split it, or raise nlp.max_length where memory allows (spaCy's parser "
                            f"and NER need about 1 GB per 100,000 characters)")
    doc = nlp.make_doc(text)
    spans, contiguous, misaligned = [], [], []
    for mention, annotation in zip(mentions, _annotations_by_id(document, mentions)):
        kb_id = "|".join(mention.gold_ids)
        span = doc.char_span(mention.start, mention.end, label=mention.type, kb_id=kb_id, alignment_mode="expand")
        if span is None:
            raise SpacyXmrError(f"document {document.id}, annotation {mention.annotation_id!r}: no tokens at {mention.start}-{mention.end}")
        if (span.start_char, span.end_char) != (mention.start, mention.end):
            misaligned.append(mention.annotation_id)
        spans.append(span)
        if len(annotation.locations) == 1:
            contiguous.append(span)
    doc.spans[GOLD_SPANS_KEY] = spans
    doc.ents = filter_spans(contiguous)
    doc.user_data[USER_DATA_KEY] = _document_record(document, collection_record)
    return doc, misaligned


def _annotations_by_id(document: bioc.BioCDocument, mentions) -> list[bioc.BioCAnnotation]:
    by_id = {annotation.id: annotation for _, annotation in iter_annotations(document)}
    return [by_id[mention.annotation_id] for mention in mentions]


def collection_to_docs(collection: bioc.BioCCollection, nlp: Language) -> list[Doc]:
    """One Doc per document; `doc.text` equals `Mention.document_text` of the same document.

    Logs one warning summarising the annotations whose offsets fall inside a token.
    """
    record = _collection_record(collection)
    docs, misaligned = [], []
    for document in collection.documents:
        doc, widened = _document_to_doc(document, nlp, record)
        docs.append(doc)
        misaligned.extend(f"{document.id}/{annotation_id}" for annotation_id in widened)
    if misaligned:
        logger.warning(
            "%d annotation span(s) do not align with %s's token boundaries and were widened in doc.ents/doc.spans "
            "(exact offsets kept in doc.user_data); first: %s",
            len(misaligned), nlp.lang, ", ".join(misaligned[:10]),
        )
    return docs


def _annotation_from_record(record: dict) -> bioc.BioCAnnotation:
    annotation = bioc.BioCAnnotation()
    annotation.id = record["id"]
    annotation.text = record["text"]
    annotation.infons = dict(record["infons"])
    for offset, length in record["locations"]:
        annotation.add_location(bioc.BioCLocation(offset, length))
    return annotation


def _document_from_record(doc: Doc, record: dict) -> bioc.BioCDocument:
    document = bioc.BioCDocument()
    document.id = record["document_id"]
    document.infons = dict(record["infons"])
    for passage_record in record["passages"]:
        offset, length = passage_record["offset"], passage_record["length"]
        passage = bioc.BioCPassage.of_text(doc.text[offset:offset + length], offset)
        passage.infons = dict(passage_record["infons"])
        document.add_passage(passage)
    for annotation_record in record["annotations"]:
        holder = document if annotation_record["passage"] is None else document.passages[annotation_record["passage"]]
        holder.add_annotation(_annotation_from_record(annotation_record))
    for relation_record in record["relations"]:
        relation = bioc.BioCRelation()
        relation.id = relation_record["id"]
        relation.infons = dict(relation_record["infons"])
        for refid, role in relation_record["nodes"]:
            relation.add_node(bioc.BioCNode(refid, role))
        holder = document if relation_record["passage"] is None else document.passages[relation_record["passage"]]
        holder.add_relation(relation)
    return document


def _document_from_ents(doc: Doc, index: int) -> bioc.BioCDocument:
    document = bioc.BioCDocument()
    document.id = str(index)
    passage = bioc.BioCPassage.of_text(doc.text, 0)
    for ent_index, ent in enumerate(doc.ents):
        annotation = bioc.BioCAnnotation()
        annotation.id = str(ent_index)
        annotation.text = ent.text
        annotation.infons["type"] = ent.label_
        if ent.kb_id_:
            annotation.infons["identifier"] = ent.kb_id_
        annotation.add_location(bioc.BioCLocation(ent.start_char, ent.end_char - ent.start_char))
        passage.add_annotation(annotation)
    document.add_passage(passage)
    return document


def docs_to_collection(docs: list[Doc]) -> bioc.BioCCollection:
    """The BioC collection the Docs came from (see the module docstring for Docs without BioC user_data)."""
    collection = bioc.BioCCollection()
    for index, doc in enumerate(docs):
        record = doc.user_data.get(USER_DATA_KEY)
        if record is None:
            collection.add_document(_document_from_ents(doc, index))
            continue
        if index == 0 and record.get("collection"):
            meta = record["collection"]
            collection.source, collection.date, collection.key = meta["source"], meta["date"], meta["key"]
            collection.infons = dict(meta["infons"])
        collection.add_document(_document_from_record(doc, record))
    return collection
