"""Candidate-generation and linking metrics over gold mentions.

`evaluate_candidates` and `evaluate_files` return a plain dict (written as JSON by `spacy-xmr evaluate`):

- `n_mentions`: gold mentions with at least one gold id (the denominator of every ranking metric);
  `n_without_gold_id`: gold mentions with none (BC5CDR's `-1`), left out; `n_multi_id`: mentions with
  several gold ids (distinct concepts after resolution); `n_without_prediction`: evaluated mentions that no prediction names, or whose prediction lists no candidate
  (counted as misses).
- `acc_at_1`, `recall_at_k` (`{"1": …, "5": …}`, keys are strings), `mrr`: LENIENT ranking metrics. A
  mention's rank is the position (1-based) of the first candidate equal to ANY of its gold ids
  (`corpus.gold_rank.rank_of`); MRR averages 1/rank, with 0 for a mention whose gold ids are all missing.
- `strict`: the same three metrics where a mention needs ALL its gold ids (`corpus.gold_rank.strict_rank_of`:
  the shortest prefix holding every gold id, minus (|gold ids| − 1)). For single-id mentions strict equals lenient.
- `n_gold_missing_from_ontology`: evaluated mentions with a gold id the ontology does not know (neither id
  nor alt id); `gold_ids_missing_from_ontology`: up to 20 such ids, most frequent first. Both 0/[] without an ontology.
- `e2e` (only when predictions are matched by span, else null): `precision`, `recall`, `f1`,
  `n_predicted`, `n_true_positive` of (document, start, end, top-1 id) against the gold mentions with ids;
  a top-1 is a true positive when its span equals a gold span and it matches any of that mention's ids;
  predictions on other spans are false positives; a `NIL` or empty prediction is no prediction.
- `ks`: the cut-offs used.
- `calibration` (`evaluate_files` only; null when no prediction carries a `confidence` infon): how far the
  confidence of the predictions on gold spans can be trusted, over the mentions that have one ("correct": the
  lenient rank is 1): `calibration_metrics.calibration_summary` (n, accuracy, expected calibration error with its
  bins, reliability bins, precision-coverage curve, coverage at precision 0.9 / 0.95, links kept per threshold).
- `warnings` (`evaluate_files` only): what makes the figures misleading, e.g. many gold ids outside the
  ontology or entity types the model was not trained on (`evaluation_checks`).

With an ontology, gold and predicted ids are mapped to their concept through `Ontology.resolve` (alt ids
count as their concept) before matching, and repeated concepts in a candidate list keep their first place.
Predictions are matched to gold mentions by `Mention.key` (`match_by="annotation"`: predictions made on the
gold annotations) or by `Mention.location` (`match_by="span"`: predictions on any spans, e.g. from an NER).
"""
from __future__ import annotations

from collections import Counter
from operator import attrgetter
from pathlib import Path
from typing import Sequence

from .calibration_metrics import calibration_summary
from .corpus import NIL, Mention, get_candidates, get_confidence, iter_mentions, read_corpus
from .corpus.bioc_documents import annotation_span, iter_annotations
from .corpus.mention import Candidates
from .corpus.gold_rank import gold_concepts, rank_of, ranked_concepts, strict_rank_of
from .errors import SpacyXmrError
from .evaluation_checks import (model_warnings, out_of_ontology_warning, outside_gold_warning, require_candidate_infons,
                                require_gold_mentions, require_shared_documents, short_lists_warning, spelled_otherwise_warning,
                                unlinked_types_warning)
from .ontology import Ontology, read_ontology_file

DEFAULT_KS = (1, 5, 10, 20, 50)
MAX_LISTED_MISSING = 20
MATCH_KEYS = {"annotation": attrgetter("key"), "span": attrgetter("location")}


def _ranking_metrics(ranks: list[int | None], ks: Sequence[int]) -> dict:
    n = len(ranks)
    if n == 0:
        return {"acc_at_1": 0.0, "recall_at_k": {str(k): 0.0 for k in ks}, "mrr": 0.0}
    return {
        "acc_at_1": sum(r == 1 for r in ranks) / n,
        "recall_at_k": {str(k): sum(r is not None and r <= k for r in ranks) / n for k in ks},
        "mrr": sum(1.0 / r for r in ranks if r is not None) / n,
    }


def _e2e(evaluated: list[Mention], predictions: dict[tuple, Candidates | Sequence[str]], ontology: Ontology | None) -> dict:
    gold_by_location = {mention.location: mention.gold_ids for mention in evaluated}
    n_predicted = n_true_positive = 0
    for location, candidates in predictions.items():
        if not ranked_concepts(candidates, ontology):
            continue
        n_predicted += 1
        n_true_positive += rank_of(candidates, gold_by_location.get(location, ()), ontology) == 1
    precision = n_true_positive / n_predicted if n_predicted else 0.0
    recall = n_true_positive / len(evaluated) if evaluated else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_predicted": n_predicted, "n_true_positive": n_true_positive}


def evaluate_candidates(
    gold: list[Mention],
    predictions: dict[tuple, Candidates | Sequence[str]],
    ontology: Ontology | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    match_by: str = "annotation",
) -> dict:
    """Score ranked candidates against gold mentions (keys and definitions: module docstring).

    `predictions` maps each mention's `key` (`match_by="annotation"`) or `location` (`match_by="span"`,
    which also gives the `e2e` figures) to a ranked list of ids or of (id, score) pairs.
    """
    if match_by not in MATCH_KEYS:
        raise SpacyXmrError(f"match_by={match_by!r}: use one of {sorted(MATCH_KEYS)}")
    key_of = MATCH_KEYS[match_by]
    if any(int(k) < 1 for k in ks):
        raise SpacyXmrError(f"recall cut-offs {list(ks)}: each k must be >= 1 (R@k: the gold id is among the top k candidates)")
    ks = sorted(set(int(k) for k in ks))
    evaluated = [mention for mention in gold if mention.gold_ids]
    missing: Counter = Counter()
    n_mentions_with_missing = 0
    if ontology is not None:
        for mention in evaluated:
            unknown = [concept_id for concept_id in mention.gold_ids if ontology.resolve(concept_id) is None]
            missing.update(unknown)
            n_mentions_with_missing += bool(unknown)

    lenient, strict = [], []
    for mention in evaluated:
        candidates = predictions.get(key_of(mention), [])
        lenient.append(rank_of(candidates, mention.gold_ids, ontology))
        strict.append(strict_rank_of(candidates, mention.gold_ids, ontology))

    return {
        "n_mentions": len(evaluated),
        "n_without_gold_id": len(gold) - len(evaluated),
        "n_multi_id": sum(len(gold_concepts(mention.gold_ids, ontology)) > 1 for mention in evaluated),
        "n_without_prediction": sum(not predictions.get(key_of(mention)) for mention in evaluated),
        **_ranking_metrics(lenient, ks),
        "strict": _ranking_metrics(strict, ks),
        "n_gold_missing_from_ontology": n_mentions_with_missing,
        "gold_ids_missing_from_ontology": [concept_id for concept_id, _ in missing.most_common(MAX_LISTED_MISSING)],
        "e2e": _e2e(evaluated, predictions, ontology) if match_by == "span" else None,
        "ks": ks,
    }


def predictions_by_span(collection) -> dict[tuple[str, int, int], Candidates]:
    """(document id, start, end) → candidates of every annotation of a prediction collection.

    Uses the `candidate_ids`/`candidate_scores` infons, else `predicted_id` alone (score 1.0).
    """
    predictions: dict[tuple[str, int, int], Candidates] = {}
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


def confidences_by_span(collection) -> dict[tuple[str, int, int], float]:
    """(document id, start, end) → the `confidence` infon of every annotation of a prediction collection that has one."""
    confidences = {}
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            confidence = get_confidence(annotation)
            if annotation.locations and confidence is not None:
                confidences[(document.id, *annotation_span(annotation))] = confidence
    return confidences


def calibration_of(gold: list[Mention], predictions: dict[tuple, Candidates], confidences: dict[tuple, float],
                   ontology: Ontology | None) -> dict | None:
    """`calibration_summary` of the confidences on gold mentions with ids (keyed by location); None without any."""
    pairs = [(confidences[m.location], rank_of(predictions.get(m.location, []), m.gold_ids, ontology) == 1)
             for m in gold if m.gold_ids and m.location in confidences]
    return calibration_summary(*zip(*pairs)) if pairs else None


def evaluate_files(
    gold_path: str | Path,
    pred_path: str | Path,
    ontology_path: str | Path | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    entity_types: list[str] | None = None,
) -> dict:
    """Evaluate a prediction corpus file against a gold one, matching annotations by (document, start, end)."""
    gold_collection = read_corpus(gold_path, entity_types)
    gold = list(iter_mentions(gold_collection))
    evaluated = [mention for mention in gold if mention.gold_ids]
    require_gold_mentions(evaluated, gold_path, entity_types)
    prediction_collection = read_corpus(pred_path, entity_types)
    require_candidate_infons(prediction_collection, pred_path, entity_types)
    gold_ids = {document.id for document in gold_collection.documents}
    require_shared_documents(gold_ids, prediction_collection, pred_path)
    ontology = read_ontology_file(ontology_path) if ontology_path else None
    predictions = predictions_by_span(prediction_collection)
    metrics = evaluate_candidates(gold, predictions, ontology, ks, match_by="span")
    calibration = calibration_of(gold, predictions, confidences_by_span(prediction_collection), ontology)
    warnings = [out_of_ontology_warning(gold, ontology) if ontology else None,
                spelled_otherwise_warning(gold, ontology) if ontology else None,
                *model_warnings(prediction_collection, gold_ids), outside_gold_warning(gold_ids, prediction_collection),
                unlinked_types_warning(evaluated, predictions),
                short_lists_warning(predictions, metrics["ks"])]
    return {**metrics, "calibration": calibration, "warnings": [warning for warning in warnings if warning]}
