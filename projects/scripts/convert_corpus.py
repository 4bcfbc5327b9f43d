"""Run the dataset's converter from corpora_scripts/: BioC train/val[/test] and the ontology file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from datasets import get_dataset
from wasabi import msg


def main(
    dataset: str = typer.Argument(..., help="Dataset name (vars.dataset)."),
    sources: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder written by get_sources.py."),
    out_dir: Path = typer.Argument(..., file_okay=False, help="Where train/val/test.xml.gz and ontology.jsonl.gz go."),
    corpora_scripts: Path = typer.Option(Path("corpora_scripts"), "--corpora-scripts", exists=True, file_okay=False,
                                         help="The repository's corpora_scripts/ folder."),
) -> None:
    """Convert the sources with the dataset's corpora script (each output is written atomically)."""
    spec = get_dataset(dataset)
    command = [sys.executable, str(corpora_scripts / spec.converter), *spec.converter_args(sources, out_dir)]
    msg.info(" ".join(command))
    sys.exit(subprocess.run(command).returncode)


if __name__ == "__main__":
    typer.run(main)
