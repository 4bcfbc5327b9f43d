"""Shared steps of the corpora scripts: resolve gold ids against an ontology, keep splits apart,
write the splits and the ontology atomically, and summarise what was read and written."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import bioc
from wasabi import msg

from ..atomic import refuse_to_overwrite_input
from ..ontology import BareIdRule, Ontology, apply_bare_id_rules, join_gold_ids, split_gold_ids
from .bioc_io import write_bioc
from .bioc_documents import iter_annotations
from .mentions import gold_ids

MAX_LISTED_MISSING = 20


@dataclass
class SplitSummary:
    name: str
    documents: int = 0
    passages: int = 0
    mentions: int = 0
    mentions_without_id: int = 0
    alt_ids_resolved: int = 0
    missing: Counter = field(default_factory=Counter)  # gold id → mentions, for ids the ontology lacks


def resolve_gold_ids(collection: bioc.BioCCollection, ontology: Ontology, name: str = "") -> SplitSummary:
    """Rewrite each annotation's `identifier` infon with ids resolved through the ontology (in place).

    Alt ids become their concept's id (`MESH:D…` listed as a MEDIC AltDiseaseID → the MEDIC concept);
    ids the ontology lacks stay as they are and are counted in `missing`.
    """
    summary = SplitSummary(name, documents=len(collection.documents))
    for document in collection.documents:
        summary.passages += len(document.passages)
        for _, annotation in iter_annotations(document):
            summary.mentions += 1
            ids = gold_ids(annotation)
            if not ids:
                summary.mentions_without_id += 1
                continue
            resolved: dict[str, None] = {}
            for concept_id in ids:
                target = ontology.resolve(concept_id)
                if target is None:
                    summary.missing[concept_id] += 1
                elif target != concept_id:
                    summary.alt_ids_resolved += 1
                resolved.setdefault(target or concept_id, None)
            annotation.infons["identifier"] = join_gold_ids(resolved)
    return summary


def prefix_bare_ids(collection: bioc.BioCCollection, rules: Iterable[BareIdRule]) -> bioc.BioCCollection:
    """Apply a source format's bare-id convention to every annotation's `identifier` infon (in place)."""
    rules = tuple(rules)
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            if "identifier" in annotation.infons:
                entity_type = annotation.infons.get("type", "")
                ids = [apply_bare_id_rules(i, entity_type, rules) for i in split_gold_ids(annotation.infons["identifier"])]
                annotation.infons["identifier"] = join_gold_ids(ids)
    return collection


def remove_documents(collection: bioc.BioCCollection, document_ids: set[str]) -> list[str]:
    """Drop (in place) the documents whose ids are in `document_ids`; returns the ids dropped."""
    dropped = [d.id for d in collection.documents if d.id in document_ids]
    collection.documents = [d for d in collection.documents if d.id not in document_ids]
    return dropped


def print_summary(summaries: list[SplitSummary], ontology: Ontology, started: float) -> None:
    """The figures every script reports: per split, then the ontology, then the time taken."""
    rows = [
        (s.name, s.documents, s.passages, s.mentions, s.mentions_without_id, s.alt_ids_resolved,
         sum(s.missing.values()), len(s.missing))
        for s in summaries
    ]
    msg.table(rows, header=("split", "documents", "passages", "mentions", "no id", "alt ids resolved",
                            "mentions w/ missing id", "distinct missing ids"), divider=True)
    msg.info(f"ontology {ontology.name}: {len(ontology)} concepts, {ontology.n_aliases()} aliases")
    for summary in summaries:
        if summary.missing:
            listed = ", ".join(concept_id for concept_id, _ in summary.missing.most_common(MAX_LISTED_MISSING))
            msg.warn(f"{summary.name}: {len(summary.missing)} gold ids missing from the ontology: {listed}")
    msg.good(f"done in {time.perf_counter() - started:.1f} s")


def drop_leaked_documents(splits: dict[str, bioc.BioCCollection]) -> dict[str, list[str]]:
    """Remove from each split the documents that a later split also holds (in place).

    Splits are given in the order train, val, test: a document in both train and val stays in val only.
    (The BC5CDR training file in ../shared/data also holds the 500 development documents.)
    """
    dropped: dict[str, list[str]] = {}
    later_ids: set[str] = set()
    for name in reversed(list(splits)):
        dropped[name] = remove_documents(splits[name], later_ids)
        later_ids |= {document.id for document in splits[name].documents}
    return {name: ids for name, ids in dropped.items() if ids}


def convert_splits(
    splits: dict[str, tuple[bioc.BioCCollection, Path | None]],
    ontology: Ontology,
    ontology_path: Path | None,
    inputs: list[Path],
    started: float,
) -> list[SplitSummary]:
    """Drop leaked documents, resolve gold ids, write splits (and ontology) atomically, print the summary."""
    outputs = [path for _, path in splits.values() if path is not None] + ([ontology_path] if ontology_path else [])
    for output in outputs:
        refuse_to_overwrite_input(output, inputs)
    for name, ids in drop_leaked_documents({name: c for name, (c, _) in splits.items()}).items():
        msg.warn(f"{name}: dropped {len(ids)} documents that a later split also holds (e.g. {', '.join(ids[:5])})")
    summaries = [resolve_gold_ids(collection, ontology, name) for name, (collection, _) in splits.items()]
    for name, (collection, path) in splits.items():
        if path is not None:
            write_bioc(collection, path)
            msg.good(f"{name}: wrote {len(collection.documents)} documents to {path}")
    if ontology_path is not None:
        ontology.to_disk(ontology_path)
        msg.good(f"ontology: wrote {len(ontology)} concepts to {ontology_path}")
    print_summary(summaries, ontology, started)
    return summaries
