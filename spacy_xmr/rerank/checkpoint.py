"""Training state on disk, so an interrupted `train_reranker` resumes where it stopped."""
from __future__ import annotations

from pathlib import Path

import torch

from ..atomic import atomic_directory
from ..errors import ConfigError, ModelLoadError

CHECKPOINT_DIR, STATE_FILE = "checkpoint", "state.pt"
# Settings that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = {"epochs", "patience", "checkpoint_every"}


def save_checkpoint(output_dir: Path, state: dict) -> None:
    """Write model, optimizer, scheduler, scaler and loop state atomically."""
    with atomic_directory(Path(output_dir) / CHECKPOINT_DIR) as tmp:
        torch.save(state, tmp / STATE_FILE)


def load_checkpoint(output_dir: Path, config: dict) -> dict | None:
    """The saved state, or None when there is none; raises when it was written with other settings."""
    path = Path(output_dir) / CHECKPOINT_DIR / STATE_FILE
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise ModelLoadError(f"{path}: unreadable checkpoint ({err}); delete it or train with resume=False (--no-resume)") from err
    saved = state.get("config", {})
    changed = sorted(k for k in set(saved) | set(config) if k not in RESUMABLE_CHANGES and saved.get(k) != config.get(k))
    if changed:
        raise ConfigError(f"{path} was written with other settings ({', '.join(f'{k}={saved.get(k)!r}' for k in changed)}); "
                          "use another output directory or train with resume=False (--no-resume)")
    return state
