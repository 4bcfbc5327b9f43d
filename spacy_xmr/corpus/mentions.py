"""Mentions in context from BioC collections: the input of candidate generation and reranking."""
from __future__ import annotations

import bisect
from pathlib import Path
from typing import Iterable, Iterator

import bioc

from ..errors import SpacyXmrError
from ..ontology import split_gold_ids
from .formats import read_corpus, warn_if_no_type
from .bioc_documents import annotation_span, annotation_types, document_text, iter_annotations, sorted_passages
from .mention import Mention
from .repeats import warn_of_repeats
from .sentences import split_sentences
from .types import type_matches

# BC5CDR's BioC release names the id scheme by the infon key (`MESH`: `D008107`) instead of an `identifier`.
SCHEME_ID_KEYS = ("MESH", "OMIM")


def gold_ids(annotation: bioc.BioCAnnotation) -> list[str]:
    """The gold ids of an annotation as written (empty when it has none or only `-1`)."""
    if "identifier" in annotation.infons:
        return split_gold_ids(annotation.infons["identifier"])
    return [
        raw if ":" in raw else f"{key}:{raw}" for key in SCHEME_ID_KEYS for raw in split_gold_ids(annotation.infons.get(key, ""))
    ]


def _passage_index(passage_starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(passage_starts, offset) - 1)


def document_mentions(document: bioc.BioCDocument, entity_types: list[str] | None = None) -> list[Mention]:
    """The document's mentions sorted by (start, end), every Mention field filled.

    Raises SpacyXmrError naming the document and annotation for a selected annotation without a location.
    """
    text = document_text(document)
    passages = sorted_passages(document)
    passage_starts = [p.offset for p in passages]
    selected = []
    for order, (passage_index, annotation) in enumerate(iter_annotations(document)):
        if not type_matches(annotation.infons.get("type", ""), entity_types):
            continue
        if not annotation.locations:
            raise SpacyXmrError(f"document {document.id}, annotation {annotation.id!r}: no location, so it is not a mention")
        start, end = annotation_span(annotation)
        if passage_index is None:
            passage_index = _passage_index(passage_starts, start)
        selected.append((start, end, order, passage_index, annotation))
    selected.sort(key=lambda item: item[:3])

    sentences: list[tuple[int, int]] = []
    for index, passage in enumerate(passages):
        spans = [(start, end) for start, end, _, p_index, _ in selected if p_index == index]
        sentences.extend(split_sentences(text, passage.offset, passage.offset + len(passage.text or ""), spans))
    sentence_starts = [s for s, _ in sentences]

    mentions = []
    for start, end, _, passage_index, annotation in selected:
        passage = passages[passage_index] if passages else None
        sentence_start, sentence_end = sentences[max(0, bisect.bisect_right(sentence_starts, start) - 1)] if sentences else (0, 0)
        mentions.append(
            Mention(
                document_id=document.id,
                annotation_id=annotation.id,
                start=start,
                end=end,
                text=annotation.text if annotation.text is not None else text[start:end],
                type=annotation.infons.get("type", ""),
                gold_ids=gold_ids(annotation),
                passage_index=passage_index,
                passage_start=passage.offset if passage else 0,
                passage_end=passage.offset + len(passage.text or "") if passage else len(text),
                sentence_start=min(sentence_start, start),
                sentence_end=max(sentence_end, end),
                document_text=text,
            )
        )
    return mentions


def iter_mentions(collection: bioc.BioCCollection, entity_types: list[str] | None = None) -> Iterator[Mention]:
    """Every mention of the collection, documents in order, mentions sorted by offsets within each."""
    for document in collection.documents:
        yield from document_mentions(document, entity_types)


def mentions_to_link(collection: bioc.BioCCollection, entity_types: list[str] | None, path: Path) -> list[Mention]:
    """The mentions of `entity_types` (all when None) that a command read from `path` links; it writes the others back
    as they are. Warns, as reading with `entity_types` does, when the file's mentions have none of those types."""
    mentions = list(iter_mentions(collection, entity_types))
    warn_if_no_type(path, annotation_types(collection), entity_types, bool(mentions))
    return mentions


def documents_with_mentions(
    collection: bioc.BioCCollection, entity_types: list[str] | None = None
) -> list[tuple[str, list[Mention]]]:
    """(document id, its mentions) for every document, including those without mentions."""
    return [(document.id, document_mentions(document, entity_types)) for document in collection.documents]


def gold_linked_mentions(paths: Iterable[str | Path], entity_types: list[str] | None = None) -> list[Mention]:
    """The mentions with gold ids of one or several corpus files (BioC XML or PubTator): training data. A document
    given twice (by its text) is warned about: its mentions count twice."""
    per_file = [(str(path), [m for m in iter_mentions(read_corpus(Path(path), entity_types)) if m.gold_ids]) for path in paths]
    warn_of_repeats(per_file)
    return [mention for _, mentions in per_file for mention in mentions]
