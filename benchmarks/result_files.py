"""A benchmark's JSON result, written atomically (a run stopped midway leaves the committed file as it was)."""
from __future__ import annotations

import json
from pathlib import Path

from spacy_xmr.atomic import atomic_open


def write_result(result: dict, out: Path) -> None:
    with atomic_open(out) as handle:
        handle.write(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
