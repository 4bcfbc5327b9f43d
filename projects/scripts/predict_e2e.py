"""Run an assembled pipeline (NER + linker [+ reranker]) on a corpus's raw texts and write its predictions.

The output is BioC XML with the same document ids, one passage per document (the document's text at
offset 0, so offsets match the gold corpus) and one annotation per predicted entity carrying its
candidates; `spacy-xmr evaluate --gold CORPUS --pred OUTPUT` then scores end-to-end linking.
"""
from __future__ import annotations

import time
from pathlib import Path

import bioc
import spacy
import typer
from tqdm import tqdm
from wasabi import msg

from spacy_xmr.corpus import docs_to_collection, document_text, read_corpus, set_candidates, write_bioc


def predictions_collection(document_ids: list[str], docs: list) -> bioc.BioCCollection:
    """The Docs' entities as BioC annotations with their candidates, under the gold documents' ids.

    `docs_to_collection` turns a Doc made from raw text into one passage at offset 0 whose annotations
    are its `doc.ents` in order; the ids and candidates are added here.
    """
    collection = docs_to_collection(docs)
    for document, document_id, doc in zip(collection.documents, document_ids, docs):
        document.id = document_id
        for annotation, ent in zip(document.passages[0].annotations, doc.ents):
            set_candidates(annotation, ent._.xmr_candidates)
    return collection


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False, help="Pipeline folder."),
    in_corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help="Corpus whose texts are linked (gold ignored)."),
    out_corpus: Path = typer.Argument(..., dir_okay=False, help="BioC XML to write (.gz to compress)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Docs per nlp.pipe batch."),
) -> None:
    """Predict entities and candidates for every document of IN_CORPUS."""
    nlp = spacy.load(pipeline)
    documents = read_corpus(in_corpus).documents
    started = time.perf_counter()
    texts = (document_text(document) for document in documents)
    docs = list(tqdm(nlp.pipe(texts, batch_size=batch_size), total=len(documents), desc="linking", disable=None))
    elapsed = time.perf_counter() - started
    collection = predictions_collection([document.id for document in documents], docs)
    collection.source = f"spacy-xmr pipeline {pipeline}"
    write_bioc(collection, out_corpus)
    n_ents = sum(len(doc.ents) for doc in docs)
    msg.good(f"{n_ents} entities in {len(documents)} docs linked in {elapsed:.1f} s "
             f"({len(documents) / elapsed:.1f} docs/s); wrote {out_corpus}")


if __name__ == "__main__":
    typer.run(main)
