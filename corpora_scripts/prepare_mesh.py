"""Convert a MeSH release (descriptors, and supplementary concept records unless told not to) to an ontology file.

The release folder holds NLM's XML (`desc2024.xml[.gz]`, `supp2024.xml[.gz]`) or ASCII (`d2024.bin`, `c2024.bin`)
files, as downloaded from https://nlmpubs.nlm.nih.gov/projects/mesh/MESH_FILES/ (xmlmesh/ or asciimesh/).

    python corpora_scripts/prepare_mesh.py --mesh-dir assets/mesh --out corpus/mesh.jsonl.gz
"""
from __future__ import annotations

import time
from pathlib import Path

import typer
from _common import input_dir_option, user_errors
from wasabi import msg

from spacy_xmr.atomic import refuse_to_overwrite_input
from spacy_xmr.ontology import read_mesh
from spacy_xmr.ontology.mesh import mesh_files

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


@app.command()
def main(
    mesh_dir: Path = input_dir_option("mesh-dir", "MeSH release folder (desc/supp XML or d/c ASCII files, gzipped or not)."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Output ontology (.jsonl.gz; written atomically)."),
    supplementary: bool = typer.Option(True, "--supplementary/--no-supplementary",
                                       help="Include the supplementary concept records (chemicals, rare diseases)."),
) -> None:
    """MeSH descriptors (and supplementary concepts) with names, entry terms, tree numbers and parents to an ontology file."""
    started = time.perf_counter()
    with user_errors():
        descriptors, supplements, _ = mesh_files(mesh_dir)
        refuse_to_overwrite_input(out, [*descriptors, *supplements])
        ontology = read_mesh(mesh_dir, include_supplementary=supplementary)
        ontology.to_disk(out)
    msg.good(f"wrote {len(ontology)} concepts, {ontology.n_aliases()} aliases to {out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    app()
