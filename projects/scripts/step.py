"""Run one workflow command at the size that `vars.smoke` asks for, and only where it applies.

    python step.py --smoke 1 -- python -m spacy train ner.cfg --training.max_steps {ner_max_steps}

`{name}` placeholders in the command are filled from SIZES (full or smoke); the command, as run, is
printed first; a leading `python` is this interpreter, as in `spacy project run`. With `--if-reranker DIR`
the command runs only when DIR holds a trained reranker (see train_reranker.py), so the same project.yml
serves `vars.reranker` 0 and 1; when skipped, the files named by `--output` are removed, so that no
result of an earlier run with a reranker is left to be mistaken for a current one. With `--dense-from DIR`
the command gets `--dense-encoder DIR` when DIR holds an encoder (train_dense_encoder.py), for `vars.dense`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import typer
from reranker_status import reranker_model
from wasabi import msg

SIZES = {
    "full": {"ner_max_steps": "4000", "ner_eval_frequency": "200", "xmr_config": "xmr.json", "reranker_epochs": "3"},
    "smoke": {"ner_max_steps": "300", "ner_eval_frequency": "100", "xmr_config": "xmr_smoke.json", "reranker_epochs": "1"},
}


def sized_command(command: list[str], smoke: bool) -> list[str]:
    """The command with its `{name}` placeholders filled for the full or the smoke size."""
    values = SIZES["smoke" if smoke else "full"]
    if command and command[0] in ("python", "python3"):
        command = [sys.executable, *command[1:]]
    try:
        return [part.format_map(values) for part in command]
    except KeyError as err:
        raise SystemExit(f"unknown placeholder {err} in {' '.join(command)}; known: {', '.join(values)}") from err


def main(
    command: List[str] = typer.Argument(..., help="The command to run, after `--`."),
    smoke: int = typer.Option(0, "--smoke", help="1 = smoke size (vars.smoke)."),
    if_reranker: Optional[Path] = typer.Option(None, "--if-reranker", help="Run only when this reranker folder holds a model."),
    outputs: List[Path] = typer.Option([], "--output", help="A file the command writes: removed when it is skipped."),
    dense_from: Optional[Path] = typer.Option(None, "--dense-from", help="Add --dense-encoder DIR when this folder holds an encoder."),
) -> None:
    """Fill the size placeholders, then run the command (or say why it is skipped)."""
    if if_reranker is not None and reranker_model(if_reranker) is None:
        for path in outputs:
            path.unlink(missing_ok=True)
        msg.info(f"Skipped (no reranker in {if_reranker}; set vars.reranker = 1 to train one): {' '.join(command)}")
        return
    command = sized_command(command, bool(smoke))
    if dense_from is not None and (dense_from / "config.json").is_file():
        command += ["--dense-encoder", str(dense_from)]
    msg.info(" ".join(command))
    sys.exit(subprocess.run(command).returncode)


if __name__ == "__main__":
    typer.run(main)
