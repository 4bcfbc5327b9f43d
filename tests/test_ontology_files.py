"""Ontology files as users write them: each bad field, repeated id or undecodable byte is an InputFormatError that
names the file and the line, in our JSON lines, in MEDIC's TSV and in UMLS's RRF files."""
from __future__ import annotations

import gzip
import json

import pytest

from spacy_xmr.errors import InputFormatError, SpacyXmrError
from spacy_xmr.ontology import Concept, Ontology, read_medic, read_ontology_file, read_umls

HEADER = {"format": "spacy-xmr-ontology", "version": 1, "name": "mine"}
GOOD = {"id": "X:1", "name": "heart failure", "synonyms": ["cardiac failure"]}


def _jsonl(tmp_path, *records, gzipped=True):
    text = "\n".join(json.dumps(r) for r in [HEADER, GOOD, *records]) + "\n"
    path = tmp_path / ("mine.jsonl.gz" if gzipped else "mine.jsonl")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    return path


@pytest.mark.parametrize("record, message", [
    ({"id": "X:2", "name": "kidney failure", "synonyms": "renal failure"}, "'synonyms' must be a list of strings, found 'renal failure'"),
    ({"id": "X:2", "name": "kidney failure", "alt_ids": "OLD:2"}, "'alt_ids' must be a list of strings, found 'OLD:2'"),
    ({"id": "X:2", "name": "kidney failure", "synonyms": ["renal failure", None, 5]}, "'synonyms' must be a list of strings, found None in it"),
    ({"id": "X:2", "name": "kidney failure", "definition": ["a list"]}, "'definition' must be a string"),
    ({"id": 2, "name": "kidney failure"}, "'id' must be a non-empty string, found 2"),
    ({"id": "X:2", "name": "   "}, "'name' must be a non-empty string, found '   '"),
    ({"name": "kidney failure"}, "'id' is missing"),
    ({"id": "X:2", "name": "kidney failure", "synonym": ["renal failure"]}, r"unknown concept fields \['synonym'\]"),
    ({"id": "X:1", "name": "heart failure, again"}, "concept id 'X:1' already on line 2"),
])
def test_a_bad_concept_line_is_named_with_its_field(tmp_path, record, message):
    with pytest.raises(InputFormatError, match=message) as info:
        read_ontology_file(_jsonl(tmp_path, record))
    assert "mine.jsonl.gz" in str(info.value) and "line 3" in str(info.value)


@pytest.mark.parametrize("gzipped", [True, False])
def test_undecodable_bytes_name_their_line(tmp_path, gzipped):
    path = _jsonl(tmp_path, {"id": "X:2", "name": "kidney failure"}, gzipped=gzipped)
    data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    data = data.replace(b"kidney", b"kidn\xe9y")  # latin-1, not UTF-8
    path.write_bytes(gzip.compress(data) if gzipped else data)
    with pytest.raises(InputFormatError, match="line 3: not UTF-8 text"):
        read_ontology_file(path)


def test_a_string_where_a_list_belongs_is_refused_in_python_too():
    with pytest.raises(SpacyXmrError, match="synonyms must be a list of strings, not the string 'HF'"):
        Concept("X:1", "heart failure", synonyms="HF")
    assert Concept("X:1", "heart failure", synonyms=["HF"]).aliases == ["heart failure", "HF"]


def test_a_good_file_still_reads_and_round_trips(tmp_path):
    ontology = read_ontology_file(_jsonl(tmp_path, {"id": "X:2", "name": "kidney failure", "synonyms": ["", "renal failure"]}))
    assert ontology["X:2"].aliases == ["kidney failure", "renal failure"]
    ontology.to_disk(tmp_path / "again.jsonl.gz")
    assert Ontology.from_disk(tmp_path / "again.jsonl.gz").ids == ["X:1", "X:2"]


MEDIC_ROW = "{name}\t{id}\t\tA definition.\tMESH:C\tC01\tC\t{synonyms}\t\n"


def test_medic_rows_repeated_empty_or_undecodable_are_named_by_line(tmp_path):
    head = "# DiseaseName\tDiseaseID\n"
    rows = [MEDIC_ROW.format(name="Flu", id="MESH:D1", synonyms="grippe"), MEDIC_ROW.format(name="Cold", id="MESH:D2", synonyms="")]
    path = tmp_path / "CTD_diseases.tsv"
    path.write_text(head + "".join(rows) + MEDIC_ROW.format(name="Flu again", id="MESH:D1", synonyms=""))
    with pytest.raises(InputFormatError, match="CTD_diseases.tsv, line 4: concept id 'MESH:D1' already on line 2"):
        read_medic(path)
    path.write_text(head + "".join(rows) + MEDIC_ROW.format(name=" ", id="MESH:D3", synonyms=""))
    with pytest.raises(InputFormatError, match="line 4: concept 'MESH:D3' has an empty DiseaseName"):
        read_medic(path)
    path.write_bytes((head + "".join(rows)).encode() + MEDIC_ROW.format(name="Sj\udcf6gren", id="MESH:D3", synonyms="").encode(
        "utf-8", "surrogateescape"))
    with pytest.raises(InputFormatError, match="line 4: not UTF-8 text"):
        read_medic(path)
    path.write_text(head + "".join(rows))
    assert read_medic(path).ids == ["MESH:D1", "MESH:D2"]


def test_umls_rows_with_undecodable_bytes_are_named_by_line(tmp_path):
    meta = tmp_path / "META"
    meta.mkdir()
    conso = "C0000005|ENG|P|L0000005|PF|S0007492|Y|A26634265||M0019694|D012711|MSH|PEP|D012711|{text}|0|N|256|\n"
    (meta / "MRSTY.RRF").write_text("C0000005|T116|A1.4.1.2.1.7|Amino Acid, Peptide, or Protein|AT17648347|256|\n")
    (meta / "MRCONSO.RRF").write_bytes(conso.format(text="Endorphin").encode() + conso.format(text="\udcb5-Endorphin").encode(
        "utf-8", "surrogateescape"))
    byte = len(conso.split("{text}")[0]) + 1
    with pytest.raises(InputFormatError, match=rf"MRCONSO.RRF, line 2: not UTF-8 text \(byte {byte} of the line\)"):
        read_umls(tmp_path)


def test_ontology_from_disk_given_a_medic_file_names_the_reader_that_reads_it(tmp_path):
    from synthetic import synthetic_ontology, write_medic

    ontology = synthetic_ontology(20)  # with its root and organ categories
    path = write_medic(ontology, tmp_path / "CTD_diseases.tsv.gz")
    with pytest.raises(InputFormatError, match="line 1: not a spacy-xmr ontology .*read_ontology_file also reads MEDIC"):
        Ontology.from_disk(path)
    assert read_ontology_file(path).ids == ontology.ids
