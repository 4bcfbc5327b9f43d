"""Convert the NLM-Chem corpus (BioC XML full texts) to train/val/test BioC XML with MeSH-resolved ids.

Two release layouts are read (the folder is searched recursively):
- BioCreative VII track 2: one BioC file per split, named `*train*.BioC.xml[.gz]`, `*dev*…`, `*test*…`;
- the NLM-Chem corpus zip: one BioC file per article (`PMC….xml`) plus `pmcids_train.txt`,
  `pmcids_dev.txt`, `pmcids_test.txt` listing each split's document ids.
Only `Chemical` mentions are kept (the document-level `MeSH_Indexing_Chemical` annotations have no
location); NLM-Chem's `-` identifier means no id.

    python corpora_scripts/prepare_nlmchem_and_mesh.py --nlmchem-dir assets/nlmchem --mesh-dir assets/mesh \\
        --out-train corpus/nlmchem_train.xml.gz --out-val corpus/nlmchem_val.xml.gz \\
        --out-test corpus/nlmchem_test.xml.gz --out-ontology corpus/mesh.jsonl.gz
"""
from __future__ import annotations

import copy
import re
import time
from pathlib import Path

import bioc
import typer
from _common import OUT_ONTOLOGY, input_dir_option, output_option, user_errors

from spacy_xmr.corpus import filter_entity_types, read_bioc
from spacy_xmr.corpus.conversion import convert_splits, prefix_bare_ids
from spacy_xmr.corpus.pubtator import NCBI_PUBTATOR_IDS
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import read_mesh

SPLITS = {"train": "train", "val": "dev", "test": "test"}
ENTITY_TYPES = ["Chemical"]

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


def _split_files(directory: Path) -> dict[str, Path]:
    files = {}
    for split, tag in SPLITS.items():
        found = sorted(p for p in directory.rglob("*.xml*") if re.search(rf"[-_.]{tag}[-_.]", p.name, re.IGNORECASE))
        if found:
            files[split] = found[0]
    return files


def _pmc_key(document_id: str) -> str:
    """Match `PMC1234` and `1234`: the id lists and the BioC files need not spell PMC ids alike."""
    return document_id.strip().removeprefix("PMC")


def _split_by_id_lists(directory: Path) -> tuple[dict[str, bioc.BioCCollection], list[Path]]:
    """Per-article BioC files grouped into splits by the `pmcids_<split>.txt` lists."""
    documents: dict[str, bioc.BioCDocument] = {}
    inputs = []
    for path in sorted(directory.rglob("*.xml*")):
        inputs.append(path)
        for document in read_bioc(path).documents:
            documents[_pmc_key(document.id)] = document
    splits = {}
    for split, tag in SPLITS.items():
        id_file = next(iter(sorted(directory.rglob(f"pmcids_{tag}.txt"))), None)
        if id_file is None:
            raise InputFormatError(directory, f"neither a *{tag}*.BioC.xml file nor pmcids_{tag}.txt found")
        inputs.append(id_file)
        ids = [line.strip() for line in id_file.read_text(encoding="utf8").splitlines() if line.strip()]
        unknown = [i for i in ids if _pmc_key(i) not in documents]
        if unknown:
            raise InputFormatError(id_file, f"{len(unknown)} listed documents have no BioC file, e.g. {', '.join(unknown[:5])}")
        collection = bioc.BioCCollection()
        collection.documents = [copy.deepcopy(documents[_pmc_key(i)]) for i in ids]
        splits[split] = collection
    return splits, inputs


@app.command()
def main(
    nlmchem_dir: Path = input_dir_option("nlmchem-dir", "NLM-Chem release folder (split BioC files or per-article files + pmcids lists)."),
    mesh_dir: Path = input_dir_option("mesh-dir", "MeSH release folder (desc/supp XML or d/c ASCII)."),
    out_train: Path = output_option("train"),
    out_val: Path = output_option("val"),
    out_test: Path = output_option("test"),
    out_ontology: Path = OUT_ONTOLOGY,
) -> None:
    """NLM-Chem chemical mentions to BioC XML splits, and MeSH to an ontology file."""
    started = time.perf_counter()
    with user_errors():
        files = _split_files(nlmchem_dir)
        if len(files) == len(SPLITS):
            collections = {split: read_bioc(path) for split, path in files.items()}
            inputs = list(files.values())
        else:
            collections, inputs = _split_by_id_lists(nlmchem_dir)
        ontology = read_mesh(mesh_dir)
        outputs = {"train": out_train, "val": out_val, "test": out_test}
        # NLM-Chem, like NCBI's PubTator corpora, writes some MeSH ids without their `MESH:` prefix.
        splits = {
            split: (prefix_bare_ids(filter_entity_types(c, ENTITY_TYPES), NCBI_PUBTATOR_IDS), outputs[split])
            for split, c in collections.items()
        }
        convert_splits(splits, ontology, out_ontology, inputs, started)


if __name__ == "__main__":
    app()
