"""`spacy-xmr train-ranker` and `apply-ranker`: fit the learned ranker over the XMR stage's channels on out-of-fold
candidate lists, and write a corpus's candidates in its order."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..atomic import refuse_to_overwrite_input, refuse_to_replace_other_folder
from ..errors import SpacyXmrError
from ..model_kinds import RANKER_HEADER
from . import app, fail


def _trained_types(xmr) -> list[str] | None:
    """The entity types the XMR model's training mentions had (None: it saw none), said once: the ranker learns from
    the same mentions unless --entity-type says otherwise."""
    types = sorted(xmr.stats.get("mention_types", {}))
    if types:
        msg.info(f"Using the mentions of the types the XMR model was trained on: {', '.join(types)} (--entity-type to choose)")
    return types or None


@app.command("train-ranker")
def train_ranker_command(
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False,
                                  help="Ontology: spacy-xmr .jsonl.gz, or a MEDIC CTD_diseases.tsv(.gz) (as given to train-xmr)."),
    train_corpus: List[Path] = typer.Option(..., "--train-corpus", metavar="FILE", exists=True, dir_okay=False,
                                            help="Gold-linked training corpus (BioC XML or PubTator); repeatable. Use the XMR model's."),
    xmr_model: Path = typer.Option(..., "--xmr-model", exists=True, file_okay=False,
                                   help="The XMR model (from train-xmr) the ranker will reorder: its training config makes the "
                                        "out-of-fold models, and --val-corpus is linked with it."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Ranker directory to write (replaced atomically)."),
    config: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False, help="Ranker config JSON (partial is fine)."),
    folds: Optional[int] = typer.Option(None, "--folds", min=2, help="Document folds of the out-of-fold lists (overrides the config's)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=2, help="XMR candidates reranked per mention (overrides the config's)."),
    val_corpus: Optional[Path] = typer.Option(None, "--val-corpus", exists=True, dir_okay=False,
                                              help="Gold corpus to report acc@1 on, the XMR stage alone beside the ranker."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="Use only mentions of this type (repeatable; "
                                                     "default: the types of the XMR model's training mentions)."),
    reranker: Optional[Path] = typer.Option(None, "--reranker", exists=True, file_okay=False,
                                            help="Reranker directory from train-reranker: its cross-encoder's score becomes a "
                                                 "feature (a cross-encoder of its settings is trained per fold for the training "
                                                 "lists; the reranker is saved inside the ranker)."),
    device: str = typer.Option("auto", "--device", help="Where the cross-encoders train and score: auto, cpu, cuda[:N]."),
) -> None:
    """Train a LightGBM model (config `objective`: binary, lambdarank or rank_xendcg) that reorders the XMR model's
    top-k candidates from their channel scores, string overlaps, concept priors, document and ontology features; each
    training mention's list comes from an XMR model trained without its document (K-fold by document), so it is as
    hard as at test time. Its confidence (config `calibration_folds`) is calibrated on the same lists, each scored by
    a ranker trained without its documents."""
    from ..corpus import gold_linked_mentions
    from ..evaluation_checks import require_gold_mentions
    from ..ranking import RankerConfig
    from ..workflows.ranking import evaluate_ranker, train_ranker_from_files
    from ..xmr import XMRModel

    try:
        ranker_config = RankerConfig.from_json(config) if config else RankerConfig()
        overrides = {key: value for key, value in (("folds", folds), ("top_k", top_k)) if value is not None}
        ranker_config = RankerConfig.from_dict({**ranker_config.to_dict(), **overrides})
        refuse_to_overwrite_input(output, [ontology, *train_corpus, val_corpus, xmr_model, config, reranker])
        refuse_to_replace_other_folder(output, (RANKER_HEADER,))  # before the training, not after it
        xmr = XMRModel.load(xmr_model)
        entity_types = entity_types or _trained_types(xmr)
        if val_corpus is not None:  # before the training, not after it
            require_gold_mentions(gold_linked_mentions([val_corpus], entity_types or None), val_corpus, entity_types, "evaluate")
        start = time.perf_counter()
        ranker = train_ranker_from_files(ontology, train_corpus, xmr.config, ranker_config, entity_types or None,
                                         progress=msg.text, reranker=reranker, device=device)
        elapsed = time.perf_counter() - start
        ranker.save(output)
    except (SpacyXmrError, OSError) as err:
        fail("Ranker training", err)
    stats = ranker.stats
    msg.good(f"Trained on {stats['n_lists_used']} out-of-fold lists ({stats['n_lists_without_gold_candidate']} of "
             f"{stats['n_training_mentions']} mentions left out: no gold concept in their top {ranker_config.top_k}) in "
             f"{elapsed:.0f} s; saved to {output}")
    if ranker.calibrator is not None:
        fitted = ranker.calibrator.fitted_on
        msg.text(f"Confidence calibrated on {fitted['n_mentions']} out-of-fold lists (the ranker's first candidate right in "
                 f"{fitted['accuracy']:.3f}), each scored by a ranker trained without its documents")
    else:
        msg.warn("No confidence calibrator (calibration_folds = 0, or too few lists): ent._.xmr_confidence stays None")
    msg.table([(name, f"{share:.3f}") for name, share in list(ranker.importances().items())[:8]], header=("feature", "share of gain"),
              divider=True)
    if val_corpus is not None:
        try:
            metrics = evaluate_ranker(xmr, ranker, val_corpus, entity_types=entity_types or None)
        except (SpacyXmrError, OSError) as err:
            fail("Validation", err)
        rows = [(name, f"{result['acc_at_1']:.4f}", f"{result['mrr']:.4f}") for name, result in metrics.items()]
        msg.table(rows, header=(f"{val_corpus.name} ({metrics['xmr']['n_mentions']} mentions)", "acc@1", "MRR"), divider=True)


@app.command("apply-ranker")
def apply_ranker_command(
    xmr_model: Path = typer.Option(..., "--xmr-model", exists=True, file_okay=False, help="XMR model directory from train-xmr."),
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False, help="Ranker directory from train-ranker."),
    in_corpus: Path = typer.Option(..., "--in-corpus", exists=True, dir_okay=False, help="Corpus with mentions (BioC XML or PubTator)."),
    out_corpus: Path = typer.Option(..., "--out-corpus", dir_okay=False, help="BioC XML to write, with candidate infons."),
    beam_size: Optional[int] = typer.Option(None, "--beam-size", min=1, help="Tree nodes kept per level (default: the XMR model's)."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="Link only mentions of this type (repeatable)."),
) -> None:
    """Link every mention of a corpus: the XMR model's top-k candidates, reordered by the ranker; `spacy-xmr evaluate`
    reads the result."""
    from ..evaluation_checks import linked_annotations, model_warnings
    from ..ranking import LearnedRanker
    from ..workflows.ranking import apply_ranker_to_corpus
    from ..xmr import XMRModel

    try:
        refuse_to_overwrite_input(out_corpus, [in_corpus, xmr_model, model])  # before the (slow) model load
        ranker = LearnedRanker.load(model)
        written = apply_ranker_to_corpus(XMRModel.load(xmr_model), ranker, in_corpus, out_corpus, beam_size, entity_types or None)
    except (SpacyXmrError, OSError) as err:
        fail("apply-ranker", err)
    msg.good(f"Wrote the ranker's order of the top-{ranker.config.top_k} candidates for {len(linked_annotations(written.documents))} "
             f"mentions to {out_corpus}")
    for warning in model_warnings(written):
        msg.warn(warning)
