"""Convert a UMLS Metathesaurus release (MRCONSO.RRF + MRSTY.RRF [+ MRDEF.RRF]) to an ontology file.

English, non-suppressed strings only; semantic type ids go to each concept's `types`.

    python corpora_scripts/prepare_umls.py --umls assets/umls/2017AA --out corpus/umls.jsonl.gz
"""
from __future__ import annotations

import time
from pathlib import Path

import typer
from _common import input_dir_option, user_errors
from wasabi import msg

from spacy_xmr.atomic import refuse_to_overwrite_input
from spacy_xmr.ontology import read_umls

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


@app.command()
def main(
    umls: Path = input_dir_option("umls", "UMLS release folder: the one holding META/, or META/ itself "
                                        "(MRCONSO.RRF and MRSTY.RRF, MRDEF.RRF optional; gzipped or not)."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Output ontology (.jsonl.gz; written atomically)."),
) -> None:
    """UMLS concepts with English names, synonyms, semantic types and definitions to an ontology file."""
    started = time.perf_counter()
    with user_errors():
        refuse_to_overwrite_input(out, [p for p in umls.rglob("*.RRF*")])
        ontology = read_umls(umls)
        ontology.to_disk(out)
    msg.good(f"wrote {len(ontology)} concepts, {ontology.n_aliases()} aliases to {out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    app()
