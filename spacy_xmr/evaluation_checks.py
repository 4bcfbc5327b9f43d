"""Checks of what `spacy-xmr evaluate` (and `apply-xmr`) are given, for the mistakes that otherwise print plausible
scores: a gold file passed as predictions, or a corpus with entity types that the ontology or the model does not
cover (BC5CDR's chemicals linked by a disease model count as misses and halve acc@1), or documents the model learned
from."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import bioc

from .corpus.bioc_documents import annotation_types, iter_annotations
from .corpus.candidates import CANDIDATE_IDS, PREDICTED_ID
from .corpus.mention import Mention
from .corpus.repeats import few_named
from .corpus.types import counts_by_type, of_types, type_matches
from .errors import InputFormatError
from .ontology import Ontology
from .ontology.corpus_concepts import SPELLING_FIX, spelled_otherwise, spelling_example

if TYPE_CHECKING:
    from .xmr import XMRModel

MANY_OUT_OF_ONTOLOGY = 0.05  # warn from this share of evaluated mentions with a gold id outside the ontology
TRAINED_TYPES_INFON = "xmr_trained_entity_types"  # collection infon of apply-xmr's output: `|`-joined mention types
TRAINING_DOCUMENT_INFON = "xmr_training_document"  # document infons of apply-xmr's output: "true" where the model learned
CALIBRATION_DOCUMENT_INFON = "xmr_calibration_document"  # from the document, or calibrated its confidence on it


def require_candidate_infons(collection: bioc.BioCCollection, path: str | Path, entity_types: Sequence[str] | None = None) -> None:
    """Raise when annotations (of `entity_types`) are there but none carries the candidate infons that `apply-xmr` and
    `apply-reranker` write (no annotation at all is a pipeline that found no entity: it scores 0, honestly)."""
    n_annotations = 0
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            if CANDIDATE_IDS in annotation.infons or PREDICTED_ID in annotation.infons:
                return
            n_annotations += 1
    if n_annotations:
        raise InputFormatError(
            path, f"none of its {n_annotations} annotations{of_types(entity_types)} has a `{CANDIDATE_IDS}` (or `{PREDICTED_ID}`) infon: "
                  "expected predictions written by `spacy-xmr apply-xmr` or `spacy-xmr apply-reranker` (was the gold file "
                  "given as --pred, or were the predictions made for other entity types, with apply-xmr --entity-type?)"
        )


def require_gold_mentions(evaluated: Sequence[Mention], path: str | Path, entity_types: Sequence[str] | None,
                          purpose: str = "evaluate") -> None:
    """Raise when no gold mention has an id: every figure would be 0 of 0 (`purpose`: what the file was given for)."""
    if not evaluated:
        raise InputFormatError(path, f"no mention{of_types(entity_types)} has a gold id: there is nothing to {purpose}")


def require_shared_documents(gold_ids: set[str], predictions: bioc.BioCCollection, path: str | Path) -> None:
    """Raise when no predicted document is a gold document (`gold_ids`): predictions made from another corpus score 0
    everywhere."""
    predicted = [document.id for document in predictions.documents]
    if predicted and not gold_ids.intersection(predicted):
        raise InputFormatError(path, f"none of its {len(predicted):,} documents ({few_named(predicted)}) is a document of "
                                     f"the gold file ({few_named(sorted(gold_ids))}): were the predictions made from another corpus?")


def outside_gold_warning(gold_ids: set[str], predictions: bioc.BioCCollection) -> str | None:
    """A warning when predicted documents are not gold documents (`gold_ids`): their links are false positives end to
    end."""
    outside = [document for document in predictions.documents if document.id not in gold_ids]
    n_linked = len(linked_annotations(outside))
    if not n_linked:
        return None
    return (f"{len(outside):,} predicted documents ({few_named([d.id for d in outside])}) are not in the gold file: their "
            f"{n_linked:,} linked mentions count as false positives in the end-to-end precision; leave them out of --pred "
            "to score the gold documents alone")


def unlinked_types_warning(evaluated: Sequence[Mention], predictions: dict[tuple, Sequence]) -> str | None:
    """A warning when gold mentions of some types have no candidates at all while others have (apply-xmr run with
    --entity-type): they count as misses."""
    linked, unlinked = Counter(), Counter()
    for mention in evaluated:
        (linked if predictions.get(mention.location) else unlinked)[mention.type] += 1
    never = Counter({entity_type: n for entity_type, n in unlinked.items() if not linked[entity_type]})
    if not never or not linked:
        return None
    by_type = counts_by_type(never)
    options = " ".join(f"--entity-type {t}" for t in sorted(linked) if t)
    return (f"the predictions link no gold mention of some types ({by_type}): they count as misses"
            + (f"; to score only the linked types, evaluate with {options}" if options else ""))


def out_of_ontology_warning(gold: list[Mention], ontology: Ontology) -> str | None:
    """A warning when many evaluated mentions have a gold id the ontology lacks, with the types to keep."""
    evaluated = [mention for mention in gold if mention.gold_ids]
    per_type = Counter(mention.type for mention in evaluated)
    missing = Counter(mention.type for mention in evaluated
                      if any(ontology.resolve(concept_id) is None for concept_id in mention.gold_ids))
    n_missing = sum(missing.values())
    if not evaluated or n_missing < MANY_OUT_OF_ONTOLOGY * len(evaluated):
        return None
    by_type = counts_by_type(missing)
    message = (f"{n_missing:,} of {len(evaluated):,} evaluated mentions ({n_missing / len(evaluated):.1%}) have a gold id "
               f"outside the ontology (by type: {by_type}); only a model that learned those ids from its training corpus "
               "can link them, else they count as misses.")
    covered = sorted(t for t, n in per_type.items() if t and missing[t] < MANY_OUT_OF_ONTOLOGY * n)
    if covered and len(covered) < len(per_type):
        options = " ".join(f"--entity-type {t}" for t in covered)
        message += f" To score only the types the ontology covers, run apply-xmr and evaluate with {options}."
    return message


def spelled_otherwise_warning(gold: list[Mention], ontology: Ontology) -> str | None:
    """A warning when gold ids are in the ontology spelled otherwise (another prefix, none, another case), however few."""
    respelled = spelled_otherwise(ontology, {concept_id for mention in gold for concept_id in mention.gold_ids})
    if not respelled:
        return None
    return (f"of the gold ids, {len(respelled):,} are in the ontology spelled otherwise ({spelling_example(respelled)}): "
            f"{SPELLING_FIX}.")


def short_lists_warning(predictions: dict[tuple, Sequence], ks: Sequence[int]) -> str | None:
    """A warning when some recall cut-offs are longer than every candidate list: those R@k only repeat a shorter one."""
    longest = max((len(candidates) for candidates in predictions.values()), default=0)
    beyond = sorted(k for k in ks if k > longest)
    if not predictions or not beyond:
        return None
    return (f"the candidate lists hold at most {longest} candidates, so {', '.join(f'R@{k}' for k in beyond)} count only those; "
            f"to measure them, write longer lists (apply-xmr --top-k {max(beyond)}; a ranker or reranker orders the lists "
            "it was trained on).")


def untrained_types_warning(predictions: bioc.BioCCollection) -> str | None:
    """A warning when the predictions link mentions of types the model saw no training mention of.

    Silent when the file does not say what the model was trained on (not apply-xmr's output, or a model
    trained on the ontology alone).
    """
    trained = [t for t in (predictions.infons.get(TRAINED_TYPES_INFON) or "").split("|") if t]  # BioC reads an empty infon back as None
    if not trained:
        return None
    unseen = Counter(annotation.infons.get("type", "") for annotation in linked_annotations(predictions.documents)
                     if not type_matches(annotation.infons.get("type", ""), trained))
    if not unseen:
        return None
    by_type = counts_by_type(unseen)
    message = (f"the predictions link {sum(unseen.values()):,} mentions of types the model was not trained on ({by_type}; "
               f"trained on {', '.join(trained)}); ")
    in_file = annotation_types(predictions)
    known = [t for t in trained if any(type_matches(a, [t]) for a in in_file)]  # the --entity-type options that link something
    if known:
        return message + f"to link only the types it knows, run apply-xmr with {' '.join(f'--entity-type {t}' for t in known)}."
    return message + ("none of them is in this file: if they are the same entities under other type names (NCBI Disease's "
                      "SpecificDisease, DiseaseClass, … are BC5CDR's Disease), the links may serve, else train on mentions "
                      "of these types.")


def linked_annotations(documents: Iterable[bioc.BioCDocument]) -> list[bioc.BioCAnnotation]:
    """The annotations of `documents` that carry candidates."""
    return [annotation for document in documents for _, annotation in iter_annotations(document) if CANDIDATE_IDS in annotation.infons]


def mark_what_the_model_learned(collection: bioc.BioCCollection, mentions: Sequence[Mention], model: "XMRModel",
                                confidence_is_the_models: bool = True) -> None:
    """Record in apply-xmr's (or apply-ranker's) output what `evaluate` checks the predictions against: the entity
    types the model was trained on (TRAINED_TYPES_INFON) and, on each document whose text the model learned from or
    calibrated its confidence on, TRAINING_DOCUMENT_INFON or CALIBRATION_DOCUMENT_INFON (none for a model saved
    before it kept them; the latter only where the output's confidence is the model's, not a ranker's);
    `model_warnings` reads them."""
    collection.infons[TRAINED_TYPES_INFON] = "|".join(sorted(t for t in model.stats.get("mention_types", {}) if t))
    texts = {mention.document_id: mention.document_text for mention in mentions}
    marks = [(model.training_documents, TRAINING_DOCUMENT_INFON)]
    if confidence_is_the_models:
        marks.append((model.calibration_documents, CALIBRATION_DOCUMENT_INFON))
    for documents, infon in marks:
        if not documents:
            continue
        held = {document_id for document_id, text in texts.items() if documents.holds(text)}
        for document in collection.documents:
            if document.id in held:
                document.infons[infon] = "true"


def _marked_warning(predictions: bioc.BioCCollection, gold_ids: set[str] | None, infon: str, what: str, meaning: str) -> str | None:
    """Which documents (of the gold ones, when `gold_ids` is given) apply-xmr or apply-ranker marked with `infon`, and what
    it means."""
    documents = [document for document in predictions.documents if document.infons.get(infon) == "true"
                 and (gold_ids is None or document.id in gold_ids)]
    if not documents:
        return None
    n_linked = len(linked_annotations(documents))
    among = f"{len(gold_ids):,} gold" if gold_ids is not None else f"{len(predictions.documents):,} predicted"
    return (f"{len(documents):,} of the {among} documents ({few_named([d.id for d in documents])}, {n_linked:,} linked mentions) "
            f"are documents {what} (the infon {infon} marks them): {meaning}; leave them out of the "
            "evaluated files for held-out figures")


def model_warnings(predictions: bioc.BioCCollection, gold_ids: set[str] | None = None) -> list[str]:
    """What the predictions' infons (`mark_what_the_model_learned`) say would mislead in the figures of the gold
    documents `gold_ids` (all predicted documents when None)."""
    warnings = [untrained_types_warning(predictions),
                _marked_warning(predictions, gold_ids, TRAINING_DOCUMENT_INFON, "the model learned from",
                                "the links there are not held-out figures"),
                _marked_warning(predictions, gold_ids, CALIBRATION_DOCUMENT_INFON, "the model's confidence was calibrated on",
                                "the calibration figures there (ECE, coverage at a precision) are not held-out, though "
                                "acc@1 and R@k are")]
    return [warning for warning in warnings if warning]
