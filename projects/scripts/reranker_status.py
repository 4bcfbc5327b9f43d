"""The reranker folder's status file: whether the workflow trained a reranker (vars.reranker) and where.

train_reranker.py always writes the folder, so later commands can list it in their deps whether or not
a reranker was trained; they ask `reranker_model()` before using it.
"""
from __future__ import annotations

import json
from pathlib import Path

STATUS_FILE = "status.json"
MODEL_DIR = "model-best"  # what `spacy-xmr train-reranker` writes below its output folder


def reranker_model(directory: Path) -> Path | None:
    """The trained reranker below `directory`, or None where the workflow ran with vars.reranker = 0."""
    status_path = Path(directory) / STATUS_FILE
    if not status_path.exists():
        raise SystemExit(f"{status_path} not found: run the train-reranker command of the project first")
    status = json.loads(status_path.read_text(encoding="utf8"))
    return Path(directory) / MODEL_DIR if status.get("enabled") else None


def write_status(directory: Path, enabled: bool, encoder: str | None = None) -> None:
    (Path(directory) / STATUS_FILE).write_text(json.dumps({"enabled": enabled, "encoder": encoder}, indent=2) + "\n", encoding="utf8")
