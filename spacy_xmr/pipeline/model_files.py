"""The `model` folder of a component: checked at `add_pipe`, and carried as plain bytes by `to_bytes`/`from_bytes`
(no pickle)."""
from __future__ import annotations

import inspect
import shutil
from pathlib import Path

from spacy import util

from ..atomic import atomic_directory
from ..errors import ConfigError, ModelLoadError
from ..model_kinds import written_by, wrong_kind
from . import config_validation as check


def checked_model_setting(component: str, value: str | None, header: str) -> str | None:
    """`value` when it names a folder of the kind that `header` marks (or is null), else a one-line ConfigError with
    the fix (a folder of another kind is named for what it is: see `model_kinds`).

    Not checked inside `spacy.load`: the saved config keeps the path the pipeline was built with (maybe on
    another machine), and `from_disk` then loads the copy saved in the pipeline's own folder.
    """
    value = check.optional_str(component, "model", value, f"the path of a folder written by {written_by(header)}, or null")
    if value is None or _inside_spacy_load():
        return value
    path = Path(value)
    if path.is_dir():
        problem = wrong_kind(path, header)
        if problem is None:
            return value
        raise ConfigError(f"[components.{component}] model = {value!r}: {problem}")
    problem = "is a file, not a model folder" if path.exists() else "does not exist"
    raise ConfigError(f"[components.{component}] model = {value!r}: {problem}; give a folder written by {written_by(header)}")


def _inside_spacy_load() -> bool:
    """True when spaCy's `load_model_from_path` (behind `spacy.load` of folders and packages) is on the call stack."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code is util.load_model_from_path.__code__:
            return True
        frame = frame.f_back
    return False


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
    """Copy a model directory into a pipeline directory, atomically (nothing to do when they are the same)."""
    if target.exists() and target.resolve() == source.resolve():
        return
    with atomic_directory(target) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
