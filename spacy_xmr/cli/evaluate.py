"""`spacy-xmr evaluate`: score a prediction corpus against a gold corpus and write the metrics as JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..atomic import atomic_open, refuse_to_overwrite_input
from ..errors import SpacyXmrError
from ..evaluation import DEFAULT_KS, evaluate_files
from . import app, fail


def metrics_table(metrics: dict) -> list[tuple[str, str, str]]:
    """(metric, lenient, strict) rows for printing."""
    rows = [("acc@1", f"{metrics['acc_at_1']:.4f}", f"{metrics['strict']['acc_at_1']:.4f}")]
    rows += [
        (f"R@{k}", f"{value:.4f}", f"{metrics['strict']['recall_at_k'][k]:.4f}")
        for k, value in metrics["recall_at_k"].items()
    ]
    rows.append(("MRR", f"{metrics['mrr']:.4f}", f"{metrics['strict']['mrr']:.4f}"))
    return rows


@app.command("evaluate")
def evaluate_command(
    gold: Path = typer.Option(..., "--gold", exists=True, dir_okay=False, help="Gold corpus (BioC XML or PubTator)."),
    pred: Path = typer.Option(..., "--pred", exists=True, dir_okay=False,
                              help="Predictions: BioC XML with candidate_ids/candidate_scores or predicted_id infons."),
    ontology: Optional[Path] = typer.Option(None, "--ontology", exists=True, dir_okay=False,
                                            help="Ontology (.jsonl.gz, or a MEDIC CTD_diseases.tsv[.gz] release file): resolves alt ids "
                                                 "and counts gold ids it lacks."),
    metric_file: Optional[Path] = typer.Option(None, "--metric-file", "--metric_file", dir_okay=False,
                                               help="Write the metrics here as JSON."),
    ks: List[int] = typer.Option(list(DEFAULT_KS), "--k", metavar="K", help="Recall cut-offs, each >= 1 (repeat the option for several)."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", "--entity_type", metavar="TYPE",
                                                     help="Evaluate only mentions of this type (repeatable)."),
) -> None:
    """Score candidate lists (acc@1, R@k, MRR; lenient and strict) and end-to-end top-1 linking."""
    try:
        if metric_file is not None:  # refused before the evaluation, not after it
            refuse_to_overwrite_input(metric_file, [gold, pred, ontology])
        metrics = evaluate_files(gold, pred, ontology, ks=ks, entity_types=entity_types or None)
    except (SpacyXmrError, OSError) as err:
        fail("Evaluation", err)
    msg.info(
        f"{metrics['n_mentions']} gold mentions with ids ({metrics['n_multi_id']} with several, "
        f"{metrics['n_without_gold_id']} without an id left out, {metrics['n_without_prediction']} without a prediction)"
    )
    msg.table(metrics_table(metrics), header=("metric", "lenient", "strict"), divider=True)
    if metrics["e2e"] is not None:
        e2e = metrics["e2e"]
        msg.text(f"end-to-end top-1: P {e2e['precision']:.4f}  R {e2e['recall']:.4f}  F1 {e2e['f1']:.4f}")
    if metrics["calibration"] is not None:
        calibration = metrics["calibration"]
        msg.text(f"confidence on {calibration['n']} mentions: expected calibration error {calibration['expected_calibration_error']:.4f} "
                 f"({calibration['bins']['n_bins']} bins), accuracy {calibration['accuracy']:.4f}, mean confidence "
                 f"{calibration['mean_confidence']:.4f}")
    for warning in metrics["warnings"]:
        msg.warn(warning)
    if ontology is None:
        msg.text("Without --ontology, gold and predicted ids are compared as written: a gold alt id (NCBI Disease's OMIM "
                 "ids) does not match its concept's main id, and gold ids outside the ontology are not counted")
    if metric_file is not None:
        with atomic_open(metric_file, "w") as handle:
            json.dump(metrics, handle, indent=2)
        msg.good(f"Metrics written to {metric_file}")
