"""`_manifest.jsonl`: one line per finished shard, appended by the driver only; what makes a run resumable.

A line holds the shard (input, output, input size and mtime), documents, mentions, `seconds` (wall),
`cpu_seconds` (the worker's user + system), worker, status (`ok` or `failed`), error and, for bad input,
the line of the input file. A shard is complete when its latest line says `ok` for the same input size
and mtime, output path and settings (`--mentions`, `--entity-type` and the pipeline's fingerprint; a line
written before settings were recorded matches any), and the output exists; a rerun skips exactly those. A
line cut short by a crash is ignored (that shard is redone).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .shards import MANIFEST_NAME, Shard

OK, FAILED = "ok", "failed"


class Manifest:
    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / MANIFEST_NAME
        self._latest: dict[str, dict] = {}
        if self.path.exists():
            with open(self.path, encoding="utf8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash
                    if isinstance(record, dict) and "input" in record:
                        self._latest[record["input"]] = record

    def reset(self) -> None:
        """Forget every shard (for --overwrite): the next lines start a new manifest."""
        self._latest = {}
        self.path.unlink(missing_ok=True)

    def is_complete(self, shard: Shard) -> bool:
        record = self._latest.get(shard.input)
        return (
            record is not None
            and record.get("status") == OK
            and record.get("output") == shard.output
            and (record.get("input_size"), record.get("input_mtime_ns")) == (shard.input_size, shard.input_mtime_ns)
            and record.get("settings", shard.settings) == shard.settings
            and Path(shard.output).is_file()
        )

    def recorded_outputs(self) -> dict[str, str]:
        """Input -> the output path its latest line names (a rerun keeps those names)."""
        return {input_path: record["output"] for input_path, record in self._latest.items()
                if isinstance(record.get("output"), str)}

    def append(self, record: dict) -> None:
        """Add one line and flush it to disk before the next shard is reported."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a line cut short by a crash: start on a new line
                    handle.write(b"\n")
            handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf8"))
            handle.flush()
            os.fsync(handle.fileno())
        self._latest[record["input"]] = record

    def records(self) -> list[dict]:
        """The latest line of each input."""
        return list(self._latest.values())
