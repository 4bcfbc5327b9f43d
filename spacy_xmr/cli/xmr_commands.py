"""`spacy-xmr train-xmr`, `apply-xmr`, `upgrade-xmr` and `train-dense-encoder`: fit the XMR candidate generator, write
its candidates, save an older model folder as this version does, and fine-tune an encoder for its dense channel."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..atomic import refuse_to_overwrite_input
from ..errors import ConfigError, SpacyXmrError
from ..phase_log import phases_shown
from . import app, fail


@app.command("train-xmr")
def train_xmr_command(
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False,
                                  help="Ontology: spacy-xmr .jsonl.gz, or a MEDIC CTD_diseases.tsv(.gz)."),
    train_corpus: Optional[List[Path]] = typer.Option(None, "--train-corpus", metavar="FILE", exists=True, dir_okay=False,
                                                      help="Gold-linked training corpus (BioC XML or PubTator); repeat for "
                                                           "several. Default: the ontology's names and synonyms alone."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Model directory to write (replaced atomically)."),
    val_corpus: Optional[Path] = typer.Option(None, "--val-corpus", exists=True, dir_okay=False,
                                              help="Gold corpus to calibrate the confidence on (default: out-of-fold on the "
                                                   "training mentions) and to report acc@1 and R@k on after training."),
    config: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False, help="XMR config JSON (partial is fine)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the config's)."),
    dense_encoder: Optional[str] = typer.Option(None, "--dense-encoder",
                                                help="Encoder of the dense channel: name or folder (overrides dense.encoder; \"\" = none)."),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="Use only mentions of this type (repeatable)."),
    device: Optional[str] = typer.Option(None, "--device", help="Where the label tree is clustered: auto (a GPU when cupy sees "
                                         "one), cpu, cuda or cuda:N (overrides tree.device; the same tree, ties aside)."),
    work_dir: Optional[Path] = typer.Option(None, "--work-dir", file_okay=False,
                                            help="Disk folder for the training strings' memory-mapped features, removed "
                                                 "after training (about 8 bytes per n-gram of every string: ~13 GB at "
                                                 "UMLS size). Default: the system's temporary folder ($TMPDIR)."),
) -> None:
    """Train the hierarchical XMR candidate generator on an ontology's aliases and gold-linked mentions."""
    msg.info(f"Training an XMR model into {output}; each phase is shown as it starts")  # before the slow imports
    from ..xmr import XMRConfig
    from ..xmr.backend import array_backend
    from ..workflows.xmr import evaluate_model, train_from_files

    try:
        xmr_config = XMRConfig.from_json(config) if config else XMRConfig()
        overrides = xmr_config.to_dict()
        if seed is not None:
            overrides["seed"] = seed
        if dense_encoder is not None:
            overrides["dense"]["encoder"] = dense_encoder
        if device is not None:
            overrides["tree"]["device"] = device
        xmr_config = XMRConfig.from_dict(overrides)
        try:  # a device without cupy or a GPU fails now, not after the n-grams are counted
            array_backend(xmr_config.tree.device)
        except ConfigError as err:
            raise ConfigError(f"--device (tree.device) = {xmr_config.tree.device!r}: {err}") from None
        start = time.perf_counter()
        with phases_shown():
            model = train_from_files(ontology, train_corpus or [], xmr_config, entity_types or None, val_path=val_corpus,
                                     work_dir=work_dir, output=output)
        elapsed = time.perf_counter() - start
    except (SpacyXmrError, OSError) as err:
        fail("Training", err)
    stats = model.stats
    msg.good(
        f"Trained on {stats['n_examples']} strings for {stats['n_concepts']} concepts "
        f"({stats['n_corpus_concepts']} of them gold ids that only the training corpus names; "
        f"{stats['n_mentions_used']} mentions used, {stats['n_mentions_skipped']} skipped: gold id not in the ontology) "
        f"in {elapsed:.1f} s; saved to {output}"
    )
    if model.calibrator is None:
        msg.warn("No calibrated confidence (the reason is logged above): the linker's threshold on the confidence will make "
                 "no entity NIL; give a --val-corpus or --train-corpus with both right and wrong top candidates, or set "
                 "threshold_on = \"score\"")
    else:
        fitted_on = model.calibrator.fitted_on
        source = "validation mentions" if fitted_on["source"] == "validation" else "training mentions, out-of-fold"
        msg.info(f"Confidence calibrated on {fitted_on['n_mentions']} {source} "
                 f"(acc@1 among them {fitted_on['accuracy']:.3f})")
    if val_corpus is not None:
        msg.text(f"evaluating on {val_corpus}")
        try:
            metrics = evaluate_model(model, val_corpus, entity_types=entity_types or None)
        except (SpacyXmrError, OSError) as err:
            fail("Validation", err)
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
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="Link only mentions of this type (repeatable)."),
) -> None:
    """Rank candidate concepts for every mention of a corpus; `spacy-xmr evaluate` reads the result."""
    from ..xmr import XMRModel
    from ..evaluation_checks import linked_annotations, model_warnings
    from ..workflows.xmr import apply_to_corpus

    try:
        refuse_to_overwrite_input(out_corpus, [in_corpus, model])  # before the (slow) model load
        written = apply_to_corpus(XMRModel.load(model), in_corpus, out_corpus, top_k, beam_size, entity_types or None)
    except (SpacyXmrError, OSError) as err:
        fail("apply-xmr", err)
    msg.good(f"Wrote top-{top_k} candidates for {len(linked_annotations(written.documents))} mentions to {out_corpus}")
    for warning in model_warnings(written):
        msg.warn(warning)


@app.command("upgrade-xmr")
def upgrade_xmr_command(
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False,
                               help="An XMR model folder (train-xmr) or a spaCy pipeline folder with xmr_linker components."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Folder to write (replaced atomically; never the input)."),
) -> None:
    """Save an older model or pipeline folder as this version does: the arrays memory-mapped, and the indexes that an
    older folder makes each loading process build for itself stored with it, so that processes share them."""
    from ..workflows.upgrade import upgrade_folder

    try:
        added = upgrade_folder(model, output)
    except (SpacyXmrError, OSError) as err:
        fail("upgrade-xmr", err)
    msg.good(f"Wrote {output}", f"new files in: {', '.join(added)}" if added else "no new files: the folder was up to date")


@app.command("train-dense-encoder")
def train_dense_encoder_command(
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False,
                                  help="Ontology: spacy-xmr .jsonl.gz, or a MEDIC CTD_diseases.tsv(.gz)."),
    model: str = typer.Option(..., "--model", help="Encoder to start from: Hugging Face name or local folder."),
    output: Path = typer.Option(..., "--output", file_okay=False, help="Encoder folder to write (replaced atomically)."),
    train_corpus: Optional[List[Path]] = typer.Option(None, "--train-corpus", metavar="FILE", exists=True, dir_okay=False,
                                                      help="Gold-linked mentions to align too (repeatable; default: the ontology alone)."),
    epochs: int = typer.Option(1, "--epochs", min=1),
    lr: float = typer.Option(1e-4, "--lr", min=0.0, help="Peak learning rate (linear warmup, then decay)."),
    batch_size: int = typer.Option(128, "--batch-size", min=2, help="Pairs per step; the other pairs are the negatives."),
    pooling: str = typer.Option("mean", "--pooling", help="mean or cls: set the same dense.pooling in the XMR config."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N (a GPU takes seconds per epoch, 2 CPU cores 25 min)."),
    seed: int = typer.Option(0, "--seed", min=0),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-type", metavar="TYPE", help="Use only mentions of this type (repeatable)."),
) -> None:
    """Fine-tune an encoder for the XMR model's dense channel on the ontology's synonyms (SapBERT's self-alignment);
    then train the XMR model with `dense.encoder` (or `train-xmr --dense-encoder`) set to the output folder."""
    from ..workflows.xmr import train_dense_encoder_from_files
    from ..xmr import DenseConfig
    from ..xmr.dense_training import DenseTrainingConfig

    try:
        dense_config = DenseConfig(encoder=model, pooling=pooling, device=device)
        training = DenseTrainingConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
        summary = train_dense_encoder_from_files(ontology, output, dense_config, training, train_corpus or [], entity_types or None)
    except (SpacyXmrError, OSError) as err:
        fail("Dense encoder training", err)
    losses = ", ".join(f"{loss:.3f}" for loss in summary["epoch_losses"])
    msg.good(f"Aligned {summary['n_pairs_per_epoch']} pairs per epoch in {summary['seconds']:.0f} s (mean loss per epoch: {losses}); "
             f"saved to {output}")
