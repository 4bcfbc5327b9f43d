"""`spacy-xmr train-xmr` and `apply-xmr`: fit the XMR candidate generator and write its candidates."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..atomic import refuse_to_overwrite_input
from ..errors import SpacyXmrError
from . import app


@app.command("train-xmr")
def train_xmr_command(
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False,
                                  help="Ontology: spacy-xmr .jsonl.gz, or a MEDIC CTD_diseases.tsv(.gz)."),
    train_corpus: List[Path] = typer.Option(..., "--train-corpus", exists=True, dir_okay=False,
                                            help="Training corpus (BioC XML or PubTator); repeat for several."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Model directory to write (replaced atomically)."),
    val_corpus: Optional[Path] = typer.Option(None, "--val-corpus", exists=True, dir_okay=False,
                                              help="Gold corpus to report acc@1 and R@k on after training."),
    config: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False, help="XMR config JSON (partial is fine)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the config's)."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", help="Use only mentions of this type (repeatable)."),
) -> None:
    """Train the hierarchical XMR candidate generator on an ontology's aliases and gold-linked mentions."""
    from ..xmr import XMRConfig
    from ..xmr.workflows import evaluate_model, train_from_files

    try:
        xmr_config = XMRConfig.from_json(config) if config else XMRConfig()
        if seed is not None:
            xmr_config = XMRConfig.from_dict({**xmr_config.to_dict(), "seed": seed})
        start = time.perf_counter()
        model = train_from_files(ontology, train_corpus, xmr_config, entity_types or None)
        elapsed = time.perf_counter() - start
        model.save(output)
    except (SpacyXmrError, OSError) as err:
        msg.fail("Training failed", str(err), exits=1)
    stats = model.stats
    msg.good(
        f"Trained on {stats['n_examples']} strings for {stats['n_concepts']} concepts "
        f"({stats['n_mentions_used']} mentions used, {stats['n_mentions_skipped']} skipped: gold id not in the ontology) "
        f"in {elapsed:.1f} s; saved to {output}"
    )
    if val_corpus is not None:
        try:
            metrics = evaluate_model(model, val_corpus, entity_types=entity_types or None)
        except (SpacyXmrError, OSError) as err:
            msg.fail("Validation failed", str(err), exits=1)
        rows = [("acc@1", f"{metrics['acc_at_1']:.4f}")]
        rows += [(f"R@{k}", f"{v:.4f}") for k, v in metrics["recall_at_k"].items()]
        rows.append(("MRR", f"{metrics['mrr']:.4f}"))
        msg.table(rows, header=(f"{val_corpus.name} ({metrics['n_mentions']} mentions)", "lenient"), divider=True)


@app.command("apply-xmr")
def apply_xmr_command(
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False, help="Model directory from train-xmr."),
    in_corpus: Path = typer.Option(..., "--in-corpus", exists=True, dir_okay=False, help="Corpus with mentions (BioC XML or PubTator)."),
    out_corpus: Path = typer.Option(..., "--out-corpus", dir_okay=False, help="BioC XML to write, with candidate infons."),
    top_k: int = typer.Option(10, "--top-k", min=1, help="Candidates kept per mention."),
    beam_size: int = typer.Option(10, "--beam-size", min=1, help="Tree nodes kept per level of the beam search."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", help="Link only mentions of this type (repeatable)."),
) -> None:
    """Rank candidate concepts for every mention of a corpus; `spacy-xmr evaluate` reads the result."""
    from ..xmr import XMRModel
    from ..xmr.workflows import apply_to_corpus

    try:
        refuse_to_overwrite_input(out_corpus, [in_corpus])  # before the (slow) model load
        n_mentions = apply_to_corpus(XMRModel.load(model), in_corpus, out_corpus, top_k, beam_size, entity_types or None)
    except (SpacyXmrError, OSError) as err:
        msg.fail("apply-xmr failed", str(err), exits=1)
    msg.good(f"Wrote top-{top_k} candidates for {n_mentions} mentions to {out_corpus}")
