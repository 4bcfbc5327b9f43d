"""Input shards of an `annotate` run: which files, and the output file each one gets.

One input file is one shard and gives one output file, named after it, in the output folder; files
of the same name in different folders get a short hash of their path added so that no two collide. An input
keeps the output name that the folder's manifest records for it, so that a rerun with more inputs never
renames (and so redoes) a finished shard; no output may be the manifest, or any input of the run.
"""
from __future__ import annotations

import glob
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..corpus.formats import ANNOTATE_MANIFEST
from ..errors import SpacyXmrError

MANIFEST_NAME = ANNOTATE_MANIFEST
OUTPUT_SUFFIXES = {"bioc": ".xml", "pubtator": ".pubtator", "jsonl": ".jsonl"}
_INPUT_SUFFIXES = {".gz", ".xml", ".json", ".jsonl", ".txt", ".pubtator", ".bioc"}


@dataclass(frozen=True)
class Shard:
    """One input file, its output file, the input's size and modification time (a changed input is redone) and
    the run's settings that shape the output (`--mentions`, `--entity-type`, the pipeline's fingerprint: changed ones
    redo it)."""

    input: str
    output: str
    input_size: int
    input_mtime_ns: int
    settings: str = ""

    @property
    def name(self) -> str:
        return Path(self.input).name

    def to_dict(self) -> dict:
        return asdict(self)


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files named by paths or glob patterns (`**` allowed), sorted, each once; a pattern matching nothing is an error.
    A glob never matches a run's manifest (`out/*` re-annotates an earlier run's outputs, not its manifest)."""
    files: dict[Path, None] = {}
    for pattern in patterns:
        if not glob.has_magic(str(pattern)):
            if Path(pattern).is_dir():
                raise SpacyXmrError(f"--input {pattern}: a folder; name its files, e.g. --input '{Path(pattern) / '*.xml.gz'}'")
            matches = [str(pattern)] if Path(pattern).is_file() else []
        else:
            found = sorted(glob.glob(str(pattern), recursive=True))
            matches = [m for m in found if Path(m).is_file() and Path(m).name != MANIFEST_NAME]
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


def plan_shards(inputs: list[Path], output_dir: Path, output_format: str, settings: str = "",
                recorded: dict[str, str] | None = None) -> list[Shard]:
    """One Shard per input with its output path in `output_dir` (`<input name>.<format suffix>`, or the path that
    `recorded`, input -> output from the folder's manifest, holds for it); SpacyXmrError when an output would be an
    input."""
    if output_format not in OUTPUT_SUFFIXES:
        raise SpacyXmrError(f"--format {output_format}: choose one of {', '.join(OUTPUT_SUFFIXES)}")
    output_dir, suffix = Path(output_dir).resolve(), OUTPUT_SUFFIXES[output_format]
    recorded = {i: Path(o) for i, o in (recorded or {}).items() if Path(o).parent == output_dir and o.endswith(suffix)}
    taken = {output_dir / MANIFEST_NAME, *recorded.values()}  # names no newly named output may take
    stems = [_stem(path) for path in inputs]
    shards = []
    for path, stem in zip(inputs, stems):
        output = recorded.get(str(path))
        if output is None:
            output = output_dir / f"{stem}{suffix}"
            if stems.count(stem) > 1 or output in taken:
                output = output_dir / f"{stem}-{hashlib.sha1(str(path).encode('utf8')).hexdigest()[:8]}{suffix}"
        stat = path.stat()
        shards.append(Shard(str(path), str(output), stat.st_size, stat.st_mtime_ns, settings))
    input_paths = set(inputs)
    written_over = next((shard for shard in shards if Path(shard.output) in input_paths), None)
    if written_over is not None:
        raise SpacyXmrError(f"--output {output_dir}: the output of {written_over.input} would be {written_over.output}, "
                            f"an input of this run; choose another output folder")
    return shards
