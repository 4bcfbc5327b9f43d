"""Convert MedMentions (PubTator + PMID split lists) to train/val/test BioC XML.

Reads, from the GitHub release layout `<dir>/<subset>/data/` (or `<dir>` itself):
`corpus_pubtator.txt[.gz]` and `corpus_pubtator_pmids_trng.txt`, `…_dev.txt`, `…_test.txt`. Mention
types are UMLS semantic type ids (`T047`, or `T116,T123` in `full`), ids are `UMLS:C…`. Gold ids are
resolved against an ontology file written by `prepare_umls.py`; it is not rewritten.

    python corpora_scripts/prepare_medmentions.py --medmentions-dir assets/MedMentions --subset st21pv \\
        --ontology corpus/umls.jsonl.gz --out-train corpus/mm_train.xml.gz --out-val corpus/mm_val.xml.gz \\
        --out-test corpus/mm_test.xml.gz
"""
from __future__ import annotations

import time
from enum import Enum
from pathlib import Path

import bioc
import typer
from _common import input_dir_option, input_file_option, output_option, user_errors

from spacy_xmr.corpus import read_pubtator
from spacy_xmr.corpus.conversion import convert_splits
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import Ontology

SPLIT_SUFFIXES = {"train": "trng", "val": "dev", "test": "test"}


class Subset(str, Enum):
    full = "full"
    st21pv = "st21pv"


app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


def _data_dir(directory: Path, subset: str) -> Path:
    for candidate in (directory / subset / "data", directory / subset, directory):
        if any((candidate / name).exists() for name in ("corpus_pubtator.txt", "corpus_pubtator.txt.gz")):
            return candidate
    raise InputFormatError(directory, f"corpus_pubtator.txt[.gz] not found in {directory / subset / 'data'} or {directory}")


def _read_ids(path: Path) -> list[str]:
    if not path.exists():
        raise InputFormatError(path, "MedMentions split list not found")
    return [line.strip() for line in path.read_text(encoding="utf8").splitlines() if line.strip()]


def split_collection(collection: bioc.BioCCollection, ids: list[str], id_file: Path) -> bioc.BioCCollection:
    """The documents of `collection` listed in `ids`, in list order; unknown ids raise."""
    by_id = {document.id: document for document in collection.documents}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise InputFormatError(id_file, f"{len(unknown)} listed PMIDs are not in the corpus, e.g. {', '.join(unknown[:5])}")
    split = bioc.BioCCollection()
    split.source = collection.source
    split.documents = [by_id[i] for i in ids]
    return split


@app.command()
def main(
    medmentions_dir: Path = input_dir_option("medmentions-dir", "MedMentions checkout (holds full/ and st21pv/)."),
    subset: Subset = typer.Option(Subset.st21pv, "--subset", help="Which MedMentions annotation set."),
    ontology_path: Path = input_file_option("ontology", "Ontology .jsonl.gz from prepare_umls.py (for id resolution)."),
    out_train: Path = output_option("train"),
    out_val: Path = output_option("val"),
    out_test: Path = output_option("test"),
) -> None:
    """MedMentions to BioC XML splits with UMLS ids resolved against a prepared ontology."""
    started = time.perf_counter()
    with user_errors():
        data = _data_dir(medmentions_dir, subset.value)
        corpus_path = next(p for p in (data / "corpus_pubtator.txt.gz", data / "corpus_pubtator.txt") if p.exists())
        collection = read_pubtator(corpus_path)
        outputs = {"train": out_train, "val": out_val, "test": out_test}
        splits, inputs = {}, [corpus_path, ontology_path]
        for split, suffix in SPLIT_SUFFIXES.items():
            id_file = data / f"corpus_pubtator_pmids_{suffix}.txt"
            splits[split] = (split_collection(collection, _read_ids(id_file), id_file), outputs[split])
            inputs.append(id_file)
        convert_splits(splits, Ontology.from_disk(ontology_path), None, inputs, started)


if __name__ == "__main__":
    app()
