"""Corpora: BioC and PubTator readers, mentions in context, candidate infons, BioC ⇄ spaCy Docs.

The `bioc` package's data model is used throughout; annotation infons follow one convention:
`type`, `identifier` (gold ids, normalised, `|`-joined), and for predictions `candidate_ids`,
`candidate_scores`, `predicted_id` (see `candidates.py`).
"""
from .bioc_io import filter_entity_types, read_bioc, read_corpus, write_bioc
from .candidates import NIL, get_candidates, set_candidates, write_candidates
from .docs import GOLD_SPANS_KEY, USER_DATA_KEY, collection_to_docs, docs_to_collection
from .documents import document_text
from .mention import Mention
from .mentions import document_mentions, documents_with_mentions, gold_ids, gold_linked_mentions, iter_mentions
from .pubtator import read_pubtator
from .sentences import split_sentences

__all__ = [
    "Mention", "NIL", "GOLD_SPANS_KEY", "USER_DATA_KEY",
    "read_pubtator", "read_bioc", "write_bioc", "read_corpus", "filter_entity_types",
    "iter_mentions", "gold_linked_mentions", "document_mentions", "documents_with_mentions", "gold_ids", "document_text", "split_sentences",
    "set_candidates", "get_candidates", "write_candidates",
    "collection_to_docs", "docs_to_collection",
]
