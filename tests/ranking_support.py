"""Shared by the learned ranker's tests: a ranker trained on the synthetic corpus through `spacy-xmr train-ranker`.

Holds no tests."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from spacy_xmr.cli import app

runner = CliRunner()


def train_ranker_with_cli(directory: Path, ontology_path: Path, corpus_dir: Path, xmr_model_dir: Path, *options: str) -> tuple[Path, str]:
    """`train-ranker` with a small LightGBM (40 trees) and 2 folds on the synthetic train split, plus `options`: the
    ranker's folder and the command's output (the test fails if the command does)."""
    config = directory / "ranker.json"
    config.write_text(json.dumps({"n_estimators": 40, "min_data_in_leaf": 5}))
    result = runner.invoke(app, [
        "train-ranker", "--ontology", str(ontology_path), "--train-corpus", str(corpus_dir / "train.xml"),
        "--xmr-model", str(xmr_model_dir), "--output", str(directory / "model"), "--config", str(config), "--folds", "2", *options,
    ])
    assert result.exit_code == 0, result.output
    return directory / "model", result.output
