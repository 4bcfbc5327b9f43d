"""Documents given more than once, known by their text: PubTator's `PMID-2` repeats, a file given twice, a validation
corpus that shares documents with the training corpus.

A repeated document's mentions count twice in training, and out-of-fold models (calibration, the learned ranker)
would see a held-out mention through its repeat in another fold; a validation document that the model trained on
makes the calibrated confidence too high on new text. So the folds group documents by text, and training says
when either happens.
"""
from __future__ import annotations

import logging
from typing import Sequence

from .mention import Mention

logger = logging.getLogger(__name__)

SHOWN_IDS = 5  # document ids named in a warning


def _text_key(mention: Mention) -> tuple[str, str]:
    """What makes two mentions' documents the same: their text (their id where a caller gave no text)."""
    return (mention.document_text, "" if mention.document_text else mention.document_id)


def document_identities(mentions: Sequence[Mention]) -> list[str]:
    """Each mention's document, named by the first document id given with the same text, so that a repeat under
    another id (or the same id from another file) falls in the fold of the document it repeats."""
    first_id: dict[tuple[str, str], str] = {}
    return [first_id.setdefault(_text_key(mention), mention.document_id) for mention in mentions]


def _mention_key(mention: Mention) -> tuple:
    return (*_text_key(mention), mention.start, mention.end, mention.type, tuple(mention.gold_ids))


def few_named(ids: Sequence[str]) -> str:
    """The first SHOWN_IDS distinct ids, and how many more: for messages about many documents."""
    unique = list(dict.fromkeys(ids))
    shown = ", ".join(unique[:SHOWN_IDS])
    return shown + (f" and {len(unique) - SHOWN_IDS} more" if len(unique) > SHOWN_IDS else "")


def warn_of_repeats(sources: Sequence[tuple[str, Sequence[Mention]]]) -> None:
    """Warn, for each source (a file; the sources in the order given), of its mentions that repeat a mention of the
    same document text given earlier, in it or in an earlier source, naming their documents."""
    first_given: dict[tuple, int] = {}  # a mention's key → the index of the source that first gave it
    for index, (source, mentions) in enumerate(sources):
        repeats: dict[int, list[str]] = {}  # the source that first gave them → the documents of the repeats
        for mention in mentions:
            key = _mention_key(mention)
            if key in first_given:
                repeats.setdefault(first_given[key], []).append(mention.document_id)
            else:
                first_given[key] = index
        for earlier, documents in repeats.items():
            earlier_source = sources[earlier][0]
            where = ("earlier in this file" if earlier == index else
                     "of this same file, given before" if earlier_source == source else f"of {earlier_source}")
            logger.warning(f"{source}: {len(documents)} gold-linked mention(s), in {len(set(documents))} document(s) "
                           f"({few_named(documents)}), repeat a document {where} (the same text): they count twice, "
                           "in training and in any evaluation of these files. Leave the repeats out if that is not meant "
                           "(out-of-fold models keep a document and its repeats in one fold)")


def shared_documents_warning(training: Sequence[Mention], validation: Sequence[Mention]) -> str | None:
    """Says which validation documents are also training documents, by their text."""
    trained_on = {_text_key(mention) for mention in training}
    shared = [mention.document_id for mention in validation if _text_key(mention) in trained_on]
    if not shared:
        return None
    n_documents = len({mention.document_id for mention in validation})
    return (f"{len(set(shared))} of the validation corpus's {n_documents} document(s) ({few_named(shared)}) are training "
            f"documents too, by their text: the confidence is calibrated on {len(shared)} mention(s) the model learned "
            "from and will be too high on new text. Give a validation corpus apart from the training corpus")
