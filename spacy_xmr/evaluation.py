"""Candidate-generation and linking metrics over gold mentions.

`evaluate_candidates` and `evaluate_files` return a plain dict (written as JSON by `spacy-xmr evaluate`):

- `n_mentions`: gold mentions with at least one gold id (the denominator of every ranking metric);
  `n_without_gold_id`: gold mentions with none (BC5CDR's `-1`), left out; `n_multi_id`: mentions with
  several gold ids (distinct concepts after resolution); `n_without_prediction`: evaluated mentions that no prediction names (counted as misses).
- `acc_at_1`, `recall_at_k` (`{"1": …, "5": …}`, keys are strings), `mrr`: LENIENT ranking metrics. A
  mention's rank is the position (1-based) of the first candidate equal to ANY of its gold ids;
  MRR averages 1/rank, with 0 for a mention whose gold ids are all missing from the list.
- `strict`: the same three metrics where a mention needs ALL its gold ids. Its strict rank is the
  length of the shortest prefix of the list that contains every gold id, minus (|gold ids| − 1), so a
  list that starts with all the gold ids (in any order) has rank 1. For single-id mentions strict equals lenient.
- `n_gold_missing_from_ontology`: evaluated mentions with a gold id the ontology does not know (neither id
  nor alt id); `gold_ids_missing_from_ontology`: up to 20 such ids, most frequent first. Both 0/[] without an ontology.
- `e2e` (only when predictions are keyed by span, else null): `precision`, `recall`, `f1`,
  `n_predicted`, `n_true_positive` of (document, start, end, top-1 id) against the gold mentions with ids;
  a top-1 is a true positive when its span equals a gold span and it matches any of that mention's ids;
  predictions on other spans are false positives; a `NIL` or empty prediction is no prediction.
- `ks`: the cut-offs used.

With an ontology, gold and predicted ids are mapped to their concept through `Ontology.resolve` (alt ids
count as their concept) before matching, and repeated concepts in a candidate list keep their first place.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from .corpus import NIL, Mention, get_candidates, iter_mentions, read_corpus
from .corpus.documents import annotation_span, iter_annotations
from .ontology import Ontology

DEFAULT_KS = (1, 5, 10, 20, 50)
MAX_LISTED_MISSING = 20

Prediction = Sequence[str] | Sequence[tuple[str, float]]


def _candidate_ids(candidates: Prediction) -> list[str]:
    return [c[0] if isinstance(c, tuple) else c for c in candidates]


def _resolver(ontology: Ontology | None):
    if ontology is None:
        return lambda concept_id: concept_id
    return lambda concept_id: ontology.resolve(concept_id) or concept_id


def _ranked(candidates: Iterable[str], resolve) -> list[str]:
    """Resolved candidate ids without NIL, each concept at its first place."""
    seen: dict[str, None] = {}
    for concept_id in candidates:
        if concept_id and concept_id != NIL:
            seen.setdefault(resolve(concept_id), None)
    return list(seen)


def lenient_rank(ranked: list[str], gold: set[str]) -> int | None:
    """1-based position of the first candidate in `gold`, or None."""
    return next((i for i, concept_id in enumerate(ranked, start=1) if concept_id in gold), None)


def strict_rank(ranked: list[str], gold: set[str]) -> int | None:
    """Shortest prefix holding every gold id, minus (len(gold) - 1); None when some gold id is absent."""
    positions = {concept_id: i for i, concept_id in enumerate(ranked, start=1) if concept_id in gold}
    if len(positions) < len(gold):
        return None
    return max(positions.values()) - (len(gold) - 1)


def _ranking_metrics(ranks: list[int | None], ks: Sequence[int]) -> dict:
    n = len(ranks)
    if n == 0:
        return {"acc_at_1": 0.0, "recall_at_k": {str(k): 0.0 for k in ks}, "mrr": 0.0}
    return {
        "acc_at_1": sum(r == 1 for r in ranks) / n,
        "recall_at_k": {str(k): sum(r is not None and r <= k for r in ranks) / n for k in ks},
        "mrr": sum(1.0 / r for r in ranks if r is not None) / n,
    }


def _e2e(evaluated: list[tuple[Mention, set[str]]], predictions: dict, resolve) -> dict:
    gold_by_span = {(m.document_id, m.start, m.end): gold for m, gold in evaluated}
    n_predicted = n_true_positive = 0
    for key, candidates in predictions.items():
        ranked = _ranked(_candidate_ids(candidates), resolve)
        if not ranked:
            continue
        n_predicted += 1
        n_true_positive += ranked[0] in gold_by_span.get(key, ())
    precision = n_true_positive / n_predicted if n_predicted else 0.0
    recall = n_true_positive / len(evaluated) if evaluated else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_predicted": n_predicted, "n_true_positive": n_true_positive}


def evaluate_candidates(
    gold: list[Mention],
    predictions: dict[tuple, Prediction],
    ontology: Ontology | None = None,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict:
    """Score ranked candidates against gold mentions (keys and definitions: module docstring).

    `predictions` maps (document id, annotation id) — or (document id, start, end), which also enables
    the `e2e` figures — to a ranked list of ids or of (id, score) pairs.
    """
    ks = sorted(set(int(k) for k in ks))
    resolve = _resolver(ontology)
    by_span = bool(predictions) and len(next(iter(predictions))) == 3
    missing: Counter = Counter()
    n_mentions_with_missing = 0
    evaluated: list[tuple[Mention, set[str]]] = []
    for mention in gold:
        if not mention.gold_ids:
            continue
        if ontology is not None:
            unknown = [concept_id for concept_id in mention.gold_ids if ontology.resolve(concept_id) is None]
            missing.update(unknown)
            n_mentions_with_missing += bool(unknown)
        evaluated.append((mention, {resolve(concept_id) for concept_id in mention.gold_ids}))

    lenient, strict, n_without_prediction = [], [], 0
    for mention, gold_set in evaluated:
        key = (mention.document_id, mention.start, mention.end) if by_span else (mention.document_id, mention.annotation_id)
        if key not in predictions:
            n_without_prediction += 1
        ranked = _ranked(_candidate_ids(predictions.get(key, [])), resolve)
        lenient.append(lenient_rank(ranked, gold_set))
        strict.append(strict_rank(ranked, gold_set))

    return {
        "n_mentions": len(evaluated),
        "n_without_gold_id": len(gold) - len(evaluated),
        "n_multi_id": sum(len(gold_set) > 1 for _, gold_set in evaluated),
        "n_without_prediction": n_without_prediction,
        **_ranking_metrics(lenient, ks),
        "strict": _ranking_metrics(strict, ks),
        "n_gold_missing_from_ontology": n_mentions_with_missing,
        "gold_ids_missing_from_ontology": [concept_id for concept_id, _ in missing.most_common(MAX_LISTED_MISSING)],
        "e2e": _e2e(evaluated, predictions, resolve) if by_span else None,
        "ks": ks,
    }


def predictions_by_span(collection) -> dict[tuple[str, int, int], list[tuple[str, float]]]:
    """(document id, start, end) → candidates of every annotation of a prediction collection.

    Uses the `candidate_ids`/`candidate_scores` infons, else `predicted_id` alone (score 1.0).
    """
    predictions: dict[tuple[str, int, int], list[tuple[str, float]]] = {}
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            if not annotation.locations:
                continue
            start, end = annotation_span(annotation)
            candidates = get_candidates(annotation)
            if not candidates and annotation.infons.get("predicted_id", NIL) != NIL:
                candidates = [(annotation.infons["predicted_id"], 1.0)]
            predictions[(document.id, start, end)] = candidates
    return predictions


def evaluate_files(
    gold_path: str | Path,
    pred_path: str | Path,
    ontology_path: str | Path | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    entity_types: list[str] | None = None,
) -> dict:
    """Evaluate a prediction corpus file against a gold one, matching annotations by (document, start, end)."""
    gold = list(iter_mentions(read_corpus(gold_path, entity_types)))
    predictions = predictions_by_span(read_corpus(pred_path, entity_types))
    ontology = Ontology.from_disk(ontology_path) if ontology_path else None
    return evaluate_candidates(gold, predictions, ontology, ks)
