"""Convert the NCBI Disease corpus (PubTator) and CTD's MEDIC vocabulary to BioC XML + an ontology file.

    python corpora_scripts/prepare_ncbi_disease_and_medic.py --ncbidisease-dir ../shared/data/ncbi_disease \\
        --ctd-medic-diseases ../shared/data/medic/CTD_diseases.tsv.gz \\
        --out-train corpus/ncbi_train.xml.gz --out-val corpus/ncbi_val.xml.gz --out-test corpus/ncbi_test.xml.gz \\
        --out-ontology corpus/medic.jsonl.gz
"""
from __future__ import annotations

import time
from pathlib import Path

import typer
from _common import OUT_ONTOLOGY, input_dir_option, input_file_option, output_option, user_errors

from spacy_xmr.corpus import read_pubtator
from spacy_xmr.corpus.conversion import convert_splits
from spacy_xmr.corpus.pubtator import NCBI_PUBTATOR_IDS
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import read_medic

SPLIT_FILES = {"train": "NCBItrainset_corpus.txt", "val": "NCBIdevelopset_corpus.txt", "test": "NCBItestset_corpus.txt"}

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


@app.command()
def main(
    ncbidisease_dir: Path = input_dir_option("ncbidisease-dir", "Folder with NCBItrainset/developset/testset_corpus.txt."),
    ctd_medic_diseases: Path = input_file_option("ctd-medic-diseases", "CTD_diseases.tsv[.gz] (MEDIC)."),
    out_train: Path = output_option("train"),
    out_val: Path = output_option("val"),
    out_test: Path = output_option("test"),
    out_ontology: Path = OUT_ONTOLOGY,
) -> None:
    """NCBI Disease train/val/test to BioC XML with MEDIC-resolved ids, and MEDIC to an ontology file."""
    started = time.perf_counter()
    with user_errors():
        inputs = {split: ncbidisease_dir / name for split, name in SPLIT_FILES.items()}
        for path in inputs.values():
            if not path.exists():
                raise InputFormatError(path, "NCBI Disease file not found (unzip NCBItrainset_corpus.zip etc. into this folder)")
        ontology = read_medic(ctd_medic_diseases)
        outputs = {"train": out_train, "val": out_val, "test": out_test}
        # NCBI Disease writes MeSH ids and OMIM numbers without prefixes: give them MEDIC's `MESH:` / `OMIM:`.
        splits = {split: (read_pubtator(path, bare_ids=NCBI_PUBTATOR_IDS), outputs[split]) for split, path in inputs.items()}
        convert_splits(splits, ontology, out_ontology, [*inputs.values(), ctd_medic_diseases], started)


if __name__ == "__main__":
    app()
