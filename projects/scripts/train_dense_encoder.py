"""Align an encoder on the ontology for the XMR model's dense channel when `vars.dense` is 1; otherwise leave
OUTPUT empty, which `step.py --dense-from OUTPUT` reads as "no dense channel".

Alignment (`spacy-xmr train-dense-encoder`) takes seconds per epoch on a GPU, about 25 minutes on 2 CPU cores
for MEDIC; an encoder already aligned elsewhere (SapBERT) still gains from the ontology's own synonyms.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer
from default_encoder import default_encoder
from wasabi import msg


def main(
    output: Path = typer.Argument(..., file_okay=False, help="Encoder folder to write (replaced)."),
    ontology: Path = typer.Option(..., "--ontology", exists=True, dir_okay=False),
    train_corpus: Path = typer.Option(..., "--train-corpus", exists=True, dir_okay=False),
    enabled: int = typer.Option(0, "--enabled", help="vars.dense: 1 aligns an encoder, 0 leaves the channel out."),
    encoder: str = typer.Option("", "--encoder", help="vars.dense_model: encoder name or folder; empty = MiniLM-L6."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
) -> None:
    """Write the aligned encoder into OUTPUT, or leave OUTPUT empty."""
    shutil.rmtree(output, ignore_errors=True)  # this step reruns only when its inputs changed: start afresh
    if not enabled:
        output.mkdir(parents=True)
        msg.info(f"No dense channel (vars.dense = 0): {output} stays empty")
        return
    command = ["spacy-xmr", "train-dense-encoder", "--ontology", str(ontology), "--train-corpus", str(train_corpus),
               "--model", encoder or str(default_encoder()), "--output", str(output), "--device", device]
    msg.info(" ".join(command))
    sys.exit(subprocess.run(command).returncode)


if __name__ == "__main__":
    typer.run(main)
