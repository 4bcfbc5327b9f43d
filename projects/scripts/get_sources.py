"""Gather a dataset's source files into one folder, from a local copy or from the official downloads.

With `--sources DIR` (a folder laid out like ../shared/data, or the official releases unzipped) the files
are copied from there and no network is touched. Without it, `spacy project assets` downloads the
releases listed in project.yml into assets/downloads/, and the zips are unpacked there first.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import typer
from datasets import get_dataset
from wasabi import msg

from spacy_xmr.atomic import atomic_directory

DOWNLOADS = Path("assets/downloads")


def download_releases(project_dir: Path) -> Path:
    """Fetch the project's assets (skipped where present) and unpack the zips; returns the folder."""
    subprocess.run([sys.executable, "-m", "spacy", "project", "assets", str(project_dir)], check=True)
    for archive in sorted((project_dir / DOWNLOADS).rglob("*.zip")):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(archive.parent)
    return project_dir / DOWNLOADS


def find_source(root: Path, name: str) -> Path | None:
    """`root/name`, or a file of the same name anywhere below `root/<first folder of name>`."""
    path = root / name
    if path.exists():
        return path
    folder = root / Path(name).parts[0]
    found = sorted(folder.rglob(path.name)) if folder.is_dir() else []
    return found[0] if found else None


def main(
    dataset: str = typer.Argument(..., help="Dataset name (vars.dataset): ncbi_disease or bc5cdr_disease."),
    dest: Path = typer.Argument(..., help="Folder to write (replaced atomically)."),
    sources: str = typer.Option("", "--sources", help="Local folder laid out like ../shared/data; empty = download."),
) -> None:
    """Copy the dataset's corpus and MEDIC files into DEST, keeping the ../shared/data layout."""
    spec = get_dataset(dataset)
    if sources:
        root = Path(sources)
        if not root.is_dir():
            msg.fail(f"vars.sources = {sources!r}: no such folder (relative to {Path.cwd()})",
                     "Pass a folder laid out like ../shared/data, or leave vars.sources empty to download.", exits=1)
    else:
        root = download_releases(Path.cwd())
    with atomic_directory(dest) as tmp:
        for name in spec.files:
            source = find_source(root, name)
            if source is None and name == spec.test and not spec.test_required:
                msg.info(f"{root / name} not found: no test split, the project evaluates on the val split")
                continue
            if source is None:
                msg.fail(f"{root / name} not found", f"{root} must hold {', '.join(spec.files)}", exits=1)
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    msg.good(f"{dataset} sources from {root} in {dest}")


if __name__ == "__main__":
    typer.run(main)
