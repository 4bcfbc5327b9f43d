"""Train the cross-encoder reranker when `vars.reranker` is 1; otherwise record that there is none.

Either way OUTPUT holds a status file (reranker_status.py), so the later commands' deps exist.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer
from default_encoder import default_encoder
from reranker_status import write_status
from step import sized_command
from wasabi import msg


def main(
    output: Path = typer.Argument(..., file_okay=False, help="Reranker folder to write (replaced)."),
    train_corpus: Path = typer.Option(..., "--train-corpus", exists=True, dir_okay=False),
    val_corpus: Path = typer.Option(..., "--val-corpus", exists=True, dir_okay=False),
    xmr_model: Path = typer.Option(..., "--xmr-model", exists=True, file_okay=False, help="XMR model: the candidates."),
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False),
    enabled: int = typer.Option(0, "--enabled", help="vars.reranker: 1 trains a reranker, 0 skips it."),
    encoder: str = typer.Option("", "--encoder", help="vars.reranker_model: encoder name or folder; empty = MiniLM-L6."),
    top_k: int = typer.Option(10, "--top-k", help="Candidates per mention."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    smoke: int = typer.Option(0, "--smoke", help="1 = one epoch (vars.smoke)."),
) -> None:
    """Train `spacy-xmr train-reranker` into OUTPUT, or leave OUTPUT with a 'no reranker' status."""
    shutil.rmtree(output, ignore_errors=True)  # this step reruns only when its inputs changed: start afresh
    output.mkdir(parents=True)
    if not enabled:
        write_status(output, enabled=False)
        msg.info(f"No reranker (vars.reranker = 0): {output} records that")
        return
    encoder = encoder or str(default_encoder())
    command = sized_command([
        "spacy-xmr", "train-reranker", "--crosstype", "parallel", "--model", encoder,
        "--train-corpus", str(train_corpus), "--val-corpus", str(val_corpus), "--candidates-from", str(xmr_model),
        "--ontology", str(ontology), "--output", str(output), "--top-k", str(top_k), "--epochs", "{reranker_epochs}",
        "--device", device, "--no-resume",
    ], bool(smoke))
    msg.info(" ".join(command))
    returncode = subprocess.run(command).returncode
    if returncode:
        sys.exit(returncode)
    write_status(output, enabled=True, encoder=encoder)


if __name__ == "__main__":
    typer.run(main)
