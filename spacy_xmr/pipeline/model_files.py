"""A saved model directory as plain bytes and back: what `to_bytes`/`from_bytes` carry (no pickle)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ModelLoadError


def directory_to_files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, keyed by its POSIX path relative to it."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def files_to_directory(files: dict[str, bytes], directory: Path) -> None:
    """Write what `directory_to_files` returned; refuse paths that would leave `directory`."""
    root = directory.resolve()
    for relative, data in files.items():
        target = (directory / relative).resolve()
        if root not in target.parents:
            raise ModelLoadError(f"serialised model file {relative!r} points outside the model directory; the bytes are corrupt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def copy_directory(source: Path, target: Path) -> None:
    """Copy a model directory into a pipeline directory (nothing to do when they are the same)."""
    if target.exists() and target.resolve() == source.resolve():
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
