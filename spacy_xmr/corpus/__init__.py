"""Corpora: readers of every corpus format (recognised by content, see `formats.py`), mentions in context,
candidate infons, BioC ⇄ spaCy Docs.

The `bioc` package's data model is used throughout; annotation infons follow one convention:
`type`, `identifier` (gold ids as written, `|`-joined, or `;`-joined when an id holds `|`), and for predictions `candidate_ids`,
`candidate_scores`, `predicted_id`, `confidence` (see `candidates.py`).
"""
from .bioc_io import filter_entity_types, read_bioc, write_bioc
from .bioc_json import read_bioc_json
from .formats import CORPUS_FORMATS, CorpusFormat, corpus_format, read_corpus, stream_corpus
from .candidates import NIL, get_candidates, get_confidence, set_candidates, write_candidates
from .spacy_docs import GOLD_SPANS_KEY, USER_DATA_KEY, collection_to_docs, docs_to_collection
from .bioc_documents import document_text
from .mention import Mention
from .mentions import document_mentions, documents_with_mentions, gold_ids, gold_linked_mentions, iter_mentions
from .pubtator import read_pubtator
from .sentences import split_sentences

__all__ = [
    "Mention", "NIL", "GOLD_SPANS_KEY", "USER_DATA_KEY",
    "read_pubtator", "read_bioc", "read_bioc_json", "write_bioc", "read_corpus", "stream_corpus", "filter_entity_types",
    "CORPUS_FORMATS", "CorpusFormat", "corpus_format",
    "iter_mentions", "gold_linked_mentions", "document_mentions", "documents_with_mentions", "gold_ids", "document_text", "split_sentences",
    "set_candidates", "get_candidates", "get_confidence", "write_candidates",
    "collection_to_docs", "docs_to_collection",
]
