"""Atomic file and directory writes: a crash, Ctrl-C or SIGKILL never leaves a half-written output.

The new output is written to a hidden temporary sibling (`.NAME.*.tmp`) that replaces the output only once
complete, so a killed process leaves the previous output as it was (plus that temporary sibling, which a
SIGKILL gives no chance to remove). A folder is swapped in two renames: a kill between them (microseconds)
leaves the previous folder at `.NAME.old`, which the next write to the same path puts back first.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator

# mkstemp/mkdtemp create private (0600/0700) files; outputs get the permissions a plain open() would give.
_UMASK = os.umask(0)
os.umask(_UMASK)

# Test hook of the kill-safety tests: when set to a file path, every atomic write creates that file once its
# temporary output is complete, then sleeps instead of replacing the output, so that a test can SIGKILL it there.
PAUSE_BEFORE_REPLACE_ENV = "SPACY_XMR_TEST_PAUSE_BEFORE_REPLACE"


def _pause_if_testing(temporary: Path) -> None:
    signal_file = os.environ.get(PAUSE_BEFORE_REPLACE_ENV)
    if signal_file:
        Path(signal_file).write_text(str(temporary), encoding="utf8")
        time.sleep(600)


def refuse_to_overwrite_input(output: Path, inputs: list[Path], replaced_whole: bool = True) -> None:
    """Raise if writing `output` would change or delete an input: `output` is one of `inputs` (through any path), lies
    inside an input folder (a model's), or, when it is `replaced_whole` (a file, a model folder; not a folder that a
    command only adds files to), is a folder that holds one."""
    out = Path(output).resolve()
    for path in inputs:
        if path is None:
            continue
        source = Path(path).resolve()
        if source == out:
            raise FileExistsError(f"{output}: refusing to overwrite the input {path}; choose another output path")
        if replaced_whole and out in source.parents:
            raise FileExistsError(f"{output}: refusing to write there: it holds the input {path}, which replacing it would "
                                  "delete; choose another output path")
        if source.is_dir() and source in out.parents:
            raise FileExistsError(f"{output}: refusing to write inside the input folder {path}; choose an output path outside it")


def refuse_to_replace_other_folder(path: Path, markers: tuple[str, ...]) -> None:
    """Raise unless the folder `path` may be replaced whole: it does not exist, is empty, or holds one of `markers`
    (the files that mark an earlier output of the same kind). A mistyped output path then never deletes a folder of
    the user's."""
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path}: a file, not a folder; choose another output path")
    if any((path / marker).is_file() for marker in markers) or next(path.iterdir(), None) is None:
        return
    raise FileExistsError(f"{path}: an existing folder that is not an earlier output of this kind (it has no "
                          f"{' or '.join(markers)}); the output would replace or mix with what it holds: remove it or "
                          "choose another output path")


def temporary_paths(path: str | os.PathLike) -> list[Path]:
    """The hidden temporary siblings of `path` that its atomic writes have open now or left behind."""
    path = Path(path)
    return list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))


def remove_leftover_temporaries(path: str | os.PathLike) -> None:
    """Delete the temporary siblings that killed writes of `path` left behind; call it only where no other process can
    be writing `path` now (e.g. the one worker that redoes a shard)."""
    for leftover in temporary_paths(path):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf8") -> Iterator[IO]:
    """Open a temporary file beside `path`; it replaces `path` only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        os.chmod(tmp_name, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
        _pause_if_testing(Path(tmp_name))
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, replaces: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary directory beside `path` that replaces `path` (if any) only on success.

    `replaces`: the marker files of the folders this output may replace (`refuse_to_replace_other_folder`); empty
    for a folder that only this code writes (a component's folder inside a saved pipeline)."""
    path = Path(os.path.abspath(path))  # "." and "x/.." have no name to put a sibling beside
    if replaces:
        refuse_to_replace_other_folder(path, replaces)
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = path.with_name(f".{path.name}.old")
    if backup.is_dir() and not path.exists():  # a previous write was killed between its two renames
        os.replace(backup, path)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp_dir, 0o777 & ~_UMASK)
        yield tmp_dir
        _pause_if_testing(tmp_dir)
        if path.exists():
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
            os.replace(tmp_dir, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp_dir, path)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise

