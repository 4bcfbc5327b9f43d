"""BioC corpus → spaCy DocBin for `spacy train`: gold entities as doc.ents, one label for all types.

NCBI Disease's four mention classes (SpecificDisease, DiseaseClass, …) all mark diseases, and the
linker links every entity, so the NER learns one label (`--label`); `--label ""` keeps the types.
"""
from __future__ import annotations

from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin, Span
from wasabi import msg

from spacy_xmr.atomic import atomic_open
from spacy_xmr.corpus import collection_to_docs, read_corpus


def main(
    in_corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help="BioC XML (or PubTator) corpus."),
    out_file: Path = typer.Argument(..., dir_okay=False, help="DocBin (.spacy) to write."),
    lang: str = typer.Option("en", "--lang", help="Language of the tokenizer (must match the NER config)."),
    label: str = typer.Option("Disease", "--label", help="Entity label for every mention; empty keeps the corpus types."),
) -> None:
    """Write the corpus's documents with their gold entities as a DocBin."""
    docs = collection_to_docs(read_corpus(in_corpus), spacy.blank(lang))
    if label:
        for doc in docs:
            doc.ents = [Span(doc, ent.start, ent.end, label=label, kb_id=ent.kb_id_) for ent in doc.ents]
    with atomic_open(out_file, "wb") as handle:
        handle.write(DocBin(docs=docs, attrs=["ORTH", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID"]).to_bytes())
    msg.good(f"{len(docs)} docs with {sum(len(doc.ents) for doc in docs)} entities in {out_file}")


if __name__ == "__main__":
    typer.run(main)
