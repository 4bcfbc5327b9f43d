"""Input shards of an `annotate` run: which files, and the output file each one gets.

One input file is one shard and gives one output file, named after it, in the output folder; files
of the same name in different folders get a short hash of their path added so that no two collide.
"""
from __future__ import annotations

import glob
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import SpacyXmrError

OUTPUT_SUFFIXES = {"bioc": ".xml", "pubtator": ".pubtator", "jsonl": ".jsonl"}
_INPUT_SUFFIXES = {".gz", ".xml", ".json", ".jsonl", ".txt", ".pubtator", ".bioc"}


@dataclass(frozen=True)
class Shard:
    """One input file, its output file, and the input's size and modification time (a changed input is redone)."""

    input: str
    output: str
    input_size: int
    input_mtime_ns: int

    @property
    def name(self) -> str:
        return Path(self.input).name

    def to_dict(self) -> dict:
        return asdict(self)


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files named by paths or glob patterns (`**` allowed), sorted, each once; a pattern matching nothing is an error."""
    files: dict[Path, None] = {}
    for pattern in patterns:
        matches = sorted(glob.glob(str(pattern), recursive=True)) if glob.has_magic(str(pattern)) else [str(pattern)]
        matches = [m for m in matches if Path(m).is_file()]
        if not matches:
            raise SpacyXmrError(f"--input {pattern}: no such file (a glob pattern must match at least one file)")
        for match in matches:
            files.setdefault(Path(match).resolve(), None)
    return list(files)


def _stem(path: Path) -> str:
    name = path.name
    while Path(name).suffix.lower() in _INPUT_SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    return name or path.name


def plan_shards(inputs: list[Path], output_dir: Path, output_format: str) -> list[Shard]:
    """One Shard per input with its output path in `output_dir` (`<input name>.<format suffix>`)."""
    if output_format not in OUTPUT_SUFFIXES:
        raise SpacyXmrError(f"--format {output_format}: choose one of {', '.join(OUTPUT_SUFFIXES)}")
    stems = [_stem(path) for path in inputs]
    shards = []
    for path, stem in zip(inputs, stems):
        if stems.count(stem) > 1:
            stem = f"{stem}-{hashlib.sha1(str(path).encode('utf8')).hexdigest()[:8]}"
        stat = path.stat()
        output = Path(output_dir).resolve() / f"{stem}{OUTPUT_SUFFIXES[output_format]}"
        shards.append(Shard(str(path), str(output), stat.st_size, stat.st_mtime_ns))
    return shards
