"""Convert the BioCreative V CDR corpus to BioC XML, with ids resolved against MeSH or MEDIC.

The release folder (`CDR_Data/CDR.Corpus.v010516/` after unzipping, searched recursively) may hold the
PubTator files (`CDR_TrainingSet.PubTator.txt`, `CDR_DevelopmentSet…`, `CDR_TestSet…`) or their BioC XML
twins (`….BioC.xml`); PubTator is used where both exist. The test set is optional: without it (or without
`--out-test`) no test file is written, and the script says so. With MEDIC (diseases only) a gold MeSH id
that is a MEDIC AltDiseaseID resolves to the MEDIC concept. A document that is also in a later split is
dropped from the earlier one (the training file in ../shared/data also holds the development set).

    python corpora_scripts/prepare_bc5cdr_and_mesh.py --bc5cdr-dir ../shared/data/bc5cdr \\
        --ctd-medic-diseases ../shared/data/medic/CTD_diseases.tsv.gz --entity-types Disease \\
        --out-train corpus/cdr_train.xml.gz --out-val corpus/cdr_val.xml.gz --out-ontology corpus/medic.jsonl.gz
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import bioc
import typer
from _common import OUT_ONTOLOGY, find_file, input_dir_option, input_file_option, output_option, user_errors
from wasabi import msg

from spacy_xmr.corpus import filter_entity_types, read_bioc, read_pubtator
from spacy_xmr.corpus.conversion import convert_splits
from spacy_xmr.corpus.pubtator import NCBI_PUBTATOR_IDS
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import read_medic, read_mesh

SPLIT_STEMS = {"train": "CDR_TrainingSet", "val": "CDR_DevelopmentSet", "test": "CDR_TestSet"}

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # plain help: whole option names at any width


def drop_individual_mentions(collection: bioc.BioCCollection) -> bioc.BioCCollection:
    """Remove BioC's `CompositeRole=IndividualMention` parts: the PubTator files keep only the composite
    mention (its parts are listed in the `composite_mentions` infon), and both formats must give the same corpus."""
    for document in collection.documents:
        for passage in document.passages:
            passage.annotations = [a for a in passage.annotations if a.infons.get("CompositeRole") != "IndividualMention"]
    return collection


def read_split(directory: Path, stem: str, entity_types: list[str] | None) -> tuple[bioc.BioCCollection, Path] | None:
    """The split's collection and file, from PubTator or else BioC XML; None when the release lacks it."""
    path = find_file(directory, [f"{stem}.PubTator.txt", f"{stem}.PubTator.txt.gz"])
    if path is not None:
        return read_pubtator(path, entity_types, bare_ids=NCBI_PUBTATOR_IDS), path  # bare MeSH ids
    path = find_file(directory, [f"{stem}.BioC.xml", f"{stem}.BioC.xml.gz"])
    if path is not None:
        return filter_entity_types(drop_individual_mentions(read_bioc(path)), entity_types), path
    return None


@app.command()
def main(
    bc5cdr_dir: Path = input_dir_option("bc5cdr-dir", "BC5CDR release folder (PubTator or BioC XML files)."),
    mesh_dir: Optional[Path] = typer.Option(None, "--mesh-dir", "--mesh_dir", exists=True, file_okay=False,
                                            help="MeSH release folder (desc/supp XML or d/c ASCII); or use --ctd-medic-diseases."),
    ctd_medic_diseases: Optional[Path] = input_file_option("ctd-medic-diseases", "CTD_diseases.tsv[.gz] (MEDIC; diseases only).",
                                                           required=False),
    entity_types: Optional[List[str]] = typer.Option(None, "--entity-types", "--entity_types",
                                                     help="Keep only these types (repeatable); default Disease with MEDIC, all with MeSH."),
    out_train: Path = output_option("train"),
    out_val: Path = output_option("val"),
    out_test: Optional[Path] = output_option("test", required=False),
    out_ontology: Path = OUT_ONTOLOGY,
) -> None:
    """BC5CDR train, val and (if present) test to BioC XML with gold ids resolved against MeSH or MEDIC."""
    started = time.perf_counter()
    if (mesh_dir is None) == (ctd_medic_diseases is None):
        msg.fail("Give exactly one ontology: --mesh-dir or --ctd-medic-diseases", exits=1)
    if ctd_medic_diseases is not None and not entity_types:
        entity_types = ["Disease"]
        msg.info("MEDIC holds diseases only: keeping Disease mentions (override with --entity-types)")
    with user_errors():
        outputs = {"train": out_train, "val": out_val, "test": out_test}
        splits, inputs = {}, []
        for split, stem in SPLIT_STEMS.items():
            found = read_split(bc5cdr_dir, stem, entity_types or None)
            if found is None and split != "test":
                raise InputFormatError(bc5cdr_dir, f"no {stem}.PubTator.txt or {stem}.BioC.xml found (searched recursively)")
            if found is None:
                msg.warn(f"no {stem} file in {bc5cdr_dir}: no test split written")
                continue
            if split == "test" and out_test is None:
                msg.info("test split found but --out-test not given: not written")
            splits[split] = (found[0], outputs[split])
            inputs.append(found[1])
        ontology = read_medic(ctd_medic_diseases) if ctd_medic_diseases else read_mesh(mesh_dir)
        convert_splits(splits, ontology, out_ontology, [*inputs, *(p for p in (ctd_medic_diseases,) if p)], started)


if __name__ == "__main__":
    app()
