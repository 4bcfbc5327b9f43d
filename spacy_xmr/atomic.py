"""Atomic file and directory writes: a crash or Ctrl-C never leaves a half-written output."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

# mkstemp/mkdtemp create private (0600/0700) files; outputs get the permissions a plain open() would give.
_UMASK = os.umask(0)
os.umask(_UMASK)

def refuse_to_overwrite_input(output: Path, inputs: list[Path]) -> None:
    """Raise if `output` is one of `inputs` (the same file through any path)."""
    out = Path(output).resolve()
    for path in inputs:
        if path is not None and Path(path).resolve() == out:
            raise FileExistsError(f"{output}: refusing to overwrite the input file {path}; choose another output path")


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
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside `path` that replaces `path` (if any) only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp_dir, 0o777 & ~_UMASK)
        yield tmp_dir
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
            os.replace(tmp_dir, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp_dir, path)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
