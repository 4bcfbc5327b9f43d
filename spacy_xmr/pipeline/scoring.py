"""Evaluation of linking components: link P/R/F plus candidate recall@k and MRR.

Ids are matched as `spacy-xmr evaluate` matches them (`corpus.gold_rank.rank_of`): leniently on any of a
composite gold id's parts (`D1|D2`), and, with the component's ontology, alt ids count as their concept.
Like `Scorer.score_links`, only predicted spans whose offsets match a gold span are scored. A pipeline
without an entity recogniser is evaluated on gold mentions with
`nlp.evaluate(examples_with_gold_entities(nlp, examples))`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from spacy.scorer import PRFScore
from spacy.tokens import Doc, Span
from spacy.training import Example

from ..corpus import NIL
from ..corpus.gold_rank import rank_of
from ..ontology import split_gold_ids
from .extensions import get_candidates
from .mentions import spans_to_link

if TYPE_CHECKING:
    from ..ontology import Ontology

NEGATIVE_LABELS = (NIL, "")  # an unlinked gold entity has kb_id_ == ""
RECALL_AT = (1, 5, 10)


def _gold_ids(kb_id: str) -> list[str]:
    return [] if kb_id in NEGATIVE_LABELS else split_gold_ids(kb_id)


def score_candidates(examples: Iterable[Example], *, spans_key: str | None = None, ontology: Ontology | None = None,
                     **_) -> dict[str, float | None]:
    """Recall@k and mean reciprocal rank of `_.xmr_candidates` over the gold-linked mentions.

    A gold mention counts as found at rank r when its lenient rank (`rank_of`) in the candidates of
    the predicted span with the same offsets is r; a gold mention without such a span is not found.
    """
    found_at = {k: 0 for k in RECALL_AT}
    reciprocal_ranks = 0.0
    n_gold = 0
    for example in examples:
        predicted = {(s.start_char, s.end_char): s for s in spans_to_link(example.predicted, spans_key, [])}
        for gold in spans_to_link(example.reference, spans_key, []):
            gold_ids = _gold_ids(gold.kb_id_)
            if not gold_ids:
                continue
            n_gold += 1
            span = predicted.get((gold.start_char, gold.end_char))
            rank = rank_of(get_candidates(span) if span is not None else [], gold_ids, ontology)
            if rank is None:
                continue
            reciprocal_ranks += 1.0 / rank
            for k in RECALL_AT:
                found_at[k] += rank <= k
    scores: dict[str, float | None] = {f"xmr_recall_at_{k}": (found_at[k] / n_gold if n_gold else None) for k in RECALL_AT}
    scores["xmr_mrr"] = reciprocal_ranks / n_gold if n_gold else None
    return scores


def score_links(examples: Iterable[Example], *, spans_key: str | None = None, ontology: Ontology | None = None,
                **_) -> dict[str, float]:
    """Micro link P/R/F of `doc.ents` (or `doc.spans[spans_key]`), NIL the negative class.

    `Scorer.score_links`'s rules and keys, except that a predicted `kb_id_` is right when it names any
    of the gold span's concepts; for plain ids without an ontology the two give the same figures.
    """
    prf = PRFScore()
    for example in examples:
        gold_by_offset = {}
        for span in spans_to_link(example.reference, spans_key, []):
            gold_by_offset.setdefault((span.start_char, span.end_char), span.kb_id_)
        for span in spans_to_link(example.predicted, spans_key, []):
            gold = gold_by_offset.get((span.start_char, span.end_char))
            if gold is None:
                continue
            pred_negative, gold_negative = span.kb_id_ in NEGATIVE_LABELS, gold in NEGATIVE_LABELS
            if gold_negative and pred_negative:
                continue
            if not pred_negative and rank_of([span.kb_id_], _gold_ids(gold), ontology) == 1:
                prf.tp += 1
                continue
            prf.fp += not pred_negative
            prf.fn += not gold_negative
    return {"nel_micro_p": prf.precision, "nel_micro_r": prf.recall, "nel_micro_f": prf.fscore}


def score_linking(examples: Iterable[Example], *, spans_key: str | None = None, ontology: Ontology | None = None,
                  **_) -> dict:
    """Link P/R/F and candidate recall@k / MRR; the components pass their model's `ontology`."""
    examples = list(examples)
    return {**score_links(examples, spans_key=spans_key, ontology=ontology),
            **score_candidates(examples, spans_key=spans_key, ontology=ontology)}


def make_candidate_scorer() -> Callable:
    """Registered as `spacy_xmr.candidate_scorer.v1`; takes `**kwargs` since `Pipe.score` passes its cfg."""
    return score_linking


def _copy_spans(source: Iterable[Span], doc: Doc) -> list[Span]:
    """The spans on `doc`'s tokens at the same character offsets, without their `kb_id_`."""
    copies = []
    for span in source:
        copy = doc.char_span(span.start_char, span.end_char, label=span.label_) or doc.char_span(
            span.start_char, span.end_char, label=span.label_, alignment_mode="expand"
        )
        if copy is not None:
            copies.append(copy)
    return copies


def examples_with_gold_entities(nlp, examples: Iterable[Example]) -> list[Example]:
    """Examples whose predicted docs already hold the gold entities and span groups (unlinked).

    For evaluating the linking components alone: `nlp.evaluate(examples_with_gold_entities(nlp,
    examples))`. Run it on a pipeline with no component that resets `doc.ents` (an NER or
    entity ruler would overwrite the gold mentions).
    """
    result = []
    for example in examples:
        predicted = nlp.make_doc(example.reference.text)
        predicted.ents = _copy_spans(example.reference.ents, predicted)
        for key, group in example.reference.spans.items():
            predicted.spans[key] = _copy_spans(group, predicted)
        result.append(Example(predicted, example.reference))
    return result
