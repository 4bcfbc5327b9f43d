"""The corpora scripts: --help, real NCBI Disease / BC5CDR conversions, fixture releases, safe outputs."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_xmr.corpus import iter_mentions, read_bioc
from spacy_xmr.ontology import read_ontology_file

SCRIPTS = Path(__file__).resolve().parent.parent / "corpora_scripts"
FIXTURES = Path(__file__).parent / "fixtures"
SCRIPT_NAMES = ["prepare_ncbi_disease_and_medic", "prepare_bc5cdr_and_mesh", "prepare_nlmchem_and_mesh",
                "prepare_medmentions", "prepare_umls", "prepare_mesh"]


def load_script(name: str):
    """Import a script as a module (it imports its sibling `_common`, so the folder goes on sys.path)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, args: list) -> object:
    result = CliRunner().invoke(load_script(name).app, [str(a) for a in args])
    return result


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_help(name):
    result = run(name, ["--help"])
    assert result.exit_code == 0 and "--help" in result.output


def test_ncbi_disease_and_medic_conversion(tmp_path, ncbi_dir, medic_path):
    """Runs as users do (a subprocess); the underscore spelling of an option is accepted too, and the ontology
    may have any name."""
    outputs = {name: tmp_path / f"{name}.xml.gz" for name in ("train", "val", "test")}
    command = [sys.executable, str(SCRIPTS / "prepare_ncbi_disease_and_medic.py"), "--ncbidisease-dir", ncbi_dir,
               "--ctd-medic-diseases", medic_path, "--out-train", outputs["train"], "--out_val", outputs["val"],
               "--out-test", outputs["test"], "--out-ontology", tmp_path / "onto.json.gz"]
    completed = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "5145" in completed.stdout and "11865 concepts" in completed.stdout
    medic = read_ontology_file(tmp_path / "onto.json.gz")  # what every command reads, whatever the name
    assert len(medic) == 11865
    counts = {}
    for name, path in outputs.items():
        mentions = list(iter_mentions(read_bioc(path)))
        counts[name] = len(mentions)
        for mention in mentions:
            assert mention.document_text[mention.start:mention.end] == mention.text
            for concept_id in mention.gold_ids:
                assert concept_id in medic or medic.resolve(concept_id) is None  # alt ids were replaced
    assert counts == {"train": 5145, "val": 787, "test": 960}


def test_bc5cdr_with_medic_disease_only_drops_leaked_dev_documents(tmp_path, bc5cdr_dir, medic_path):
    result = run("prepare_bc5cdr_and_mesh", [
        "--bc5cdr-dir", bc5cdr_dir, "--ctd-medic-diseases", medic_path, "--out-train", tmp_path / "train.xml",
        "--out-val", tmp_path / "val.xml", "--out-test", tmp_path / "test.xml", "--out-ontology", tmp_path / "o.jsonl.gz",
    ])
    assert result.exit_code == 0, result.output
    assert "no CDR_TestSet file" in result.output and not (tmp_path / "test.xml").exists()
    train, val = read_bioc(tmp_path / "train.xml"), read_bioc(tmp_path / "val.xml")
    assert (len(train.documents), len(val.documents)) == (500, 500)  # the official BC5CDR split sizes
    assert not {d.id for d in train.documents} & {d.id for d in val.documents}
    train_mentions, val_mentions = list(iter_mentions(train)), list(iter_mentions(val))
    assert (len(train_mentions), len(val_mentions)) == (4182, 4244)  # official Disease mention counts
    assert {m.type for m in train_mentions} == {"Disease"}


def test_bc5cdr_bioc_release_matches_pubtator(tmp_path):
    """A BioC-only release: IndividualMention parts are dropped and MESH infons become identifiers."""
    from test_corpus_bioc import sample_collection

    from spacy_xmr.corpus import write_bioc

    release = tmp_path / "CDR_Data" / "CDR.Corpus.v010516"
    collection = sample_collection()
    part = collection.documents[0].passages[0].annotations[2]
    part.infons["CompositeRole"] = "IndividualMention"
    for stem in ("CDR_TrainingSet", "CDR_DevelopmentSet"):
        collection.documents[0].id = stem
        write_bioc(collection, release / f"{stem}.BioC.xml")
    shutil.copytree(FIXTURES / "mesh_xml", tmp_path / "mesh")
    result = run("prepare_bc5cdr_and_mesh", [
        "--bc5cdr-dir", tmp_path / "CDR_Data", "--mesh-dir", tmp_path / "mesh", "--out-train", tmp_path / "train.xml",
        "--out-val", tmp_path / "val.xml", "--out-ontology", tmp_path / "mesh.jsonl.gz",
    ])
    assert result.exit_code == 0, result.output
    mentions = list(iter_mentions(read_bioc(tmp_path / "train.xml")))
    assert [m.annotation_id for m in mentions] == ["T1", "T2", "A1"]
    assert mentions[-1].gold_ids == ["MESH:D004298"] and "MESH:D010051" in result.output  # missing from the fixture MeSH


def test_nlmchem_fixture_release(tmp_path):
    args = ["--nlmchem-dir", FIXTURES / "nlmchem", "--mesh-dir", FIXTURES / "mesh_xml"]
    args += [item for split in ("train", "val", "test") for item in (f"--out-{split}", tmp_path / f"{split}.xml.gz")]
    result = run("prepare_nlmchem_and_mesh", args + ["--out-ontology", tmp_path / "mesh.jsonl.gz"])
    assert result.exit_code == 0, result.output
    train = list(iter_mentions(read_bioc(tmp_path / "train.xml.gz")))
    assert [(m.text, m.gold_ids) for m in train] == [
        ("Dopamine", ["MESH:D004298"]), ("hydroxytyramine", ["MESH:D004298"]), ("compound X", [])]
    test = list(iter_mentions(read_bioc(tmp_path / "test.xml.gz")))
    assert [m.gold_ids for m in test] == [["MESH:D004298"], ["MESH:D014439"]]
    assert "MESH:D014439" in result.output  # reported as missing from MeSH


@pytest.mark.parametrize("release", ["mesh_xml", "mesh_ascii"])
def test_mesh_alone_to_an_ontology(tmp_path, release):
    result = run("prepare_mesh", ["--mesh-dir", FIXTURES / release, "--out", tmp_path / "mesh.jsonl.gz"])
    assert result.exit_code == 0, result.output
    with_supplementary = read_ontology_file(tmp_path / "mesh.jsonl.gz")
    result = run("prepare_mesh", ["--mesh-dir", FIXTURES / release, "--out", tmp_path / "descriptors.jsonl.gz", "--no-supplementary"])
    assert result.exit_code == 0, result.output
    descriptors = read_ontology_file(tmp_path / "descriptors.jsonl.gz")
    assert descriptors.ids and all(i.startswith("MESH:D") for i in descriptors.ids)
    assert set(with_supplementary.ids) - set(descriptors.ids) and all(
        i.startswith("MESH:C") for i in set(with_supplementary.ids) - set(descriptors.ids))
    result = run("prepare_mesh", ["--mesh-dir", tmp_path, "--out", tmp_path / "x.jsonl.gz"])
    assert result.exit_code == 1 and "MeSH descriptor file found" in result.output


def test_umls_then_medmentions_fixture_release(tmp_path):
    result = run("prepare_umls", ["--umls", FIXTURES / "umls", "--out", tmp_path / "umls.jsonl.gz"])
    assert result.exit_code == 0, result.output
    args = ["--medmentions-dir", FIXTURES / "medmentions", "--subset", "st21pv", "--ontology", tmp_path / "umls.jsonl.gz"]
    args += [item for split in ("train", "val", "test") for item in (f"--out_{split}", tmp_path / f"{split}.xml")]
    result = run("prepare_medmentions", args)
    assert result.exit_code == 0, result.output
    documents = {split: [d.id for d in read_bioc(tmp_path / f"{split}.xml").documents] for split in ("train", "val", "test")}
    assert documents == {"train": ["1001"], "val": ["1002"], "test": ["1003"]}
    assert "UMLS:C1234567" in result.output


def test_refuses_to_overwrite_an_input_and_keeps_outputs_on_failure(tmp_path):
    pubtator = tmp_path / "corpus_pubtator.txt"
    shutil.copy(FIXTURES / "medmentions" / "st21pv" / "data" / "corpus_pubtator.txt", pubtator)
    for suffix in ("trng", "dev", "test"):
        shutil.copy(FIXTURES / "medmentions" / "st21pv" / "data" / f"corpus_pubtator_pmids_{suffix}.txt", tmp_path)
    assert run("prepare_umls", ["--umls", FIXTURES / "umls", "--out", tmp_path / "umls.jsonl.gz"]).exit_code == 0
    common = ["--medmentions-dir", tmp_path, "--ontology", tmp_path / "umls.jsonl.gz",
              "--out-val", tmp_path / "val.xml", "--out-test", tmp_path / "test.xml"]
    before = pubtator.read_bytes()
    result = run("prepare_medmentions", common + ["--out-train", pubtator])
    assert result.exit_code == 1 and "refusing to overwrite" in result.output and pubtator.read_bytes() == before

    (tmp_path / "train.xml").write_text("previous output", encoding="utf8")
    (tmp_path / "corpus_pubtator_pmids_test.txt").write_text("9999\n", encoding="utf8")
    result = run("prepare_medmentions", common + ["--out-train", tmp_path / "train.xml"])
    assert result.exit_code == 1 and "9999" in result.output and "Traceback" not in result.output
    assert (tmp_path / "train.xml").read_text(encoding="utf8") == "previous output"
