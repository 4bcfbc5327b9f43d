"""Append the trained cross-encoder (`xmr_reranker`) to an assembled pipeline, saving it in place.

`spacy assemble` builds NER + linker from projects/configs/pipeline.cfg; the reranker is optional
(vars.reranker), so it is added here rather than in that config.
"""
from __future__ import annotations

from pathlib import Path

import spacy
import typer
from wasabi import msg

from spacy_xmr.atomic import atomic_directory


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False, help="Pipeline folder (rewritten atomically)."),
    reranker: Path = typer.Argument(..., exists=True, file_okay=False, help="Reranker folder (train-reranker's model-best)."),
    device: str = typer.Option("auto", "--device", help="Device the packaged reranker uses: auto, cpu, cuda, cuda:N."),
) -> None:
    """Load PIPELINE, add `xmr_reranker` after `xmr_linker`, save it back."""
    nlp = spacy.load(pipeline)
    nlp.add_pipe("xmr_reranker", after="xmr_linker", config={"model": str(reranker), "device": device})
    with atomic_directory(pipeline) as tmp:
        nlp.to_disk(tmp)
    msg.good(f"{pipeline}: pipeline {nlp.pipe_names}")


if __name__ == "__main__":
    typer.run(main)
