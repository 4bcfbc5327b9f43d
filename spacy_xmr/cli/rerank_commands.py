"""`spacy-xmr train-reranker` and `spacy-xmr apply-reranker`: thin wrappers over `spacy_xmr.rerank`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app, fail

CROSSTYPE_HELP = ("What one transformer sequence holds: base = one (mention, candidate) pair; parallel = one mention "
                  "and all its candidates; multi = a sentence's mentions and their candidates; passage / document = "
                  "the same over a passage / a whole document.")


@app.command("train-reranker")
def train_reranker_command(
    crosstype: str = typer.Option("parallel", "--crosstype", help=CROSSTYPE_HELP),
    model: str = typer.Option(..., "--model", help="Hugging Face encoder to start from: hub name (e.g. "
                              "cambridgeltl/SapBERT-from-PubMedBERT-fulltext) or local directory."),
    train_corpus: Path = typer.Option(..., "--train-corpus", metavar="FILE", exists=True, dir_okay=False, help="Training corpus (BioC XML or PubTator) with gold ids."),
    val_corpus: Path = typer.Option(..., "--val-corpus", exists=True, dir_okay=False, help="Validation corpus: early stopping on its acc@1, the XMR score's weight, and "
                                    "the calibration of the confidence (fitted on its gold-linked mentions, at least 20, "
                                    "some ranked right and some wrong; the reranker never trains on them)."),
    candidates_from: Path = typer.Option(..., "--candidates-from", exists=True, help="XMR model directory (candidates predicted now) "
                                         "or a BioC corpus written by `spacy-xmr apply-xmr` (matched by document and annotation id)."),
    val_candidates_from: Optional[Path] = typer.Option(None, "--val-candidates-from", exists=True,
                                                       help="Candidates for the validation corpus, when not in --candidates-from."),
    ontology: Optional[Path] = typer.Option(None, "--ontology", exists=True, dir_okay=False,
                                            help="Ontology (.jsonl.gz, or MEDIC CTD_diseases.tsv.gz) the candidates were ranked "
                                                 "from; needed only when they come from corpora (an XMR model brings its own)."),
    output: Path = typer.Option(..., "--output", help="Output directory: model-best/, checkpoint/ and training.json."),
    top_k: int = typer.Option(10, "--top-k", help="Candidates per mention (K)."),
    epochs: int = typer.Option(3, "--epochs", help="Maximum number of epochs."),
    batch_size: int = typer.Option(16, "--batch-size", help="Mentions per optimisation step."),
    lr: float = typer.Option(3e-5, "--lr", help="Peak learning rate of the encoder (linear warmup and decay)."),
    loss: str = typer.Option("listwise", "--loss", help="listwise (softmax over a mention's candidates) or pointwise (BCE)."),
    attention: str = typer.Option("isolated", "--attention", help="isolated: packed candidates see the context, not each other; full: everything."),
    gold_policy: str = typer.Option("add", "--gold-policy", help="When XMR missed the gold concept: add it (teacher forcing) or skip the mention."),
    n_synonyms: int = typer.Option(2, "--n-synonyms", help="Synonyms shown after each candidate's name."),
    max_length: int = typer.Option(256, "--max-length", help="Tokens per sequence; longer inputs are split, never cut silently."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16/fp16 on CUDA, fp32 on CPU), fp32, bf16 or fp16."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUTPUT/checkpoint when it exists."),
) -> None:
    """Fine-tune a cross-encoder reranker on XMR candidates, and calibrate its confidence on the validation corpus."""
    from ..errors import SpacyXmrError
    from ..rerank import RerankerConfig
    from ..workflows.rerank import train_reranker_from_files

    try:
        config = RerankerConfig(crosstype=crosstype, model_name=model, top_k=top_k, epochs=epochs, batch_size=batch_size,
                                lr=lr, loss=loss, attention=attention, gold_policy=gold_policy, n_synonyms=n_synonyms,
                                max_length=max_length, precision=precision, seed=seed)
        summary = train_reranker_from_files(config, train_corpus, val_corpus, candidates_from, ontology, output,
                                            val_candidates_from=val_candidates_from, resume=resume, device=device)
    except (SpacyXmrError, OSError) as err:
        fail("Reranker training", err)
    msg.good(f"Best model (validation acc@1 {summary['best_val_acc_at_1']}) in {summary['model_dir']}",
             f"{summary['steps']} steps on {summary['device']} in {summary['train_seconds']:.0f} s; {summary['examples']}")
    if summary["calibration"] is None:
        msg.warn("No calibrated confidence (too few validation mentions, or all ranked right or all wrong): the "
                 "xmr_reranker component's threshold on the confidence will make no entity NIL; give a larger "
                 "--val-corpus, or set threshold_on = \"score\"")
    else:
        msg.info(f"Confidence calibrated on {summary['calibration']['n_mentions']} validation mentions "
                 f"(acc@1 among them {summary['calibration']['accuracy']:.3f})")


@app.command("apply-reranker")
def apply_reranker_command(
    model: Path = typer.Option(..., "--model", exists=True, help="Reranker directory (OUTPUT/model-best of train-reranker)."),
    in_corpus: Path = typer.Option(..., "--in-corpus", exists=True, dir_okay=False, help="BioC corpus with XMR candidates (output of apply-xmr)."),
    out_corpus: Path = typer.Option(..., "--out-corpus", dir_okay=False, help="Where to write the corpus with reranked candidates (BioC XML; .gz to compress)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(32, "--batch-size", help="Mentions per transformer batch (in tokens: sequences of similar length are batched together)."),
) -> None:
    """Re-sort the XMR candidates of a corpus by cross-encoder score, with the reranker's calibrated confidence."""
    from ..errors import SpacyXmrError
    from ..workflows.rerank import apply_reranker

    try:
        report = apply_reranker(model, in_corpus, out_corpus, device=device, batch_size=batch_size)
    except (SpacyXmrError, OSError) as err:
        fail("Reranking", err)
    msg.good(f"Reranked {report['n_mentions']} mentions on {report['device']}; wrote {out_corpus}",
             ("each reranked mention has the reranker's confidence" if report["calibrated"] else
              "no confidence: the reranker is not calibrated")
             + f"; {report['n_without_candidates']} annotations without candidates were left as they were")
