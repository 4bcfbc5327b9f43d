"""Options and error handling shared by the corpora scripts (the conversion itself is in spacy_xmr)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import typer
from wasabi import msg

from spacy_xmr.errors import SpacyXmrError


def output_option(split: str, required: bool = True):
    """`--out-<split>` / `--out_<split>`: where a split's BioC XML (`.xml` or `.xml.gz`) goes."""
    dashed = split.replace("_", "-")
    return typer.Option(
        ... if required else None, f"--out-{dashed}", f"--out_{split}", dir_okay=False,
        help=f"Output BioC XML for the {split} split (.xml or .xml.gz; written atomically).",
    )


def _spellings(name: str) -> list[str]:
    """`--mesh-dir` and `--mesh_dir`; a name without a dash has one spelling."""
    return list(dict.fromkeys([f"--{name}", f"--{name.replace('-', '_')}"]))


def input_dir_option(name: str, help_text: str):
    return typer.Option(..., *_spellings(name), exists=True, file_okay=False, help=help_text)


def input_file_option(name: str, help_text: str, required: bool = True):
    return typer.Option(... if required else None, *_spellings(name), exists=True, dir_okay=False, help=help_text)


OUT_ONTOLOGY = typer.Option(
    ..., "--out-ontology", "--out_ontology", dir_okay=False, help="Output ontology (gzipped JSON lines whatever the name, e.g. .jsonl.gz; written atomically)."
)


def find_file(directory: Path, names: list[str]) -> Path | None:
    """The first of `names` found in `directory` or any folder below it (release zips nest folders)."""
    for name in names:
        found = sorted(directory.rglob(name))
        if found:
            return found[0]
    return None


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into a one-line `msg.fail` and exit code 1 instead of a traceback."""
    try:
        yield
    except (SpacyXmrError, FileExistsError, FileNotFoundError) as err:
        msg.fail(str(err), exits=1)
