"""MeSH (XML and ASCII) and UMLS RRF readers on small hand-written release files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import Ontology, read_mesh, read_umls

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("folder", ["mesh_xml", "mesh_ascii"])
def test_mesh_descriptors_and_supplementary_records(folder):
    mesh = read_mesh(FIXTURES / folder)
    assert mesh.ids == ["MESH:D009369", "MESH:D009371", "MESH:D001943", "MESH:D004298", "MESH:C000002"]
    neoplasms = mesh["MESH:D009369"]
    assert neoplasms.aliases == ["Neoplasms", "Tumors", "Cancer"]
    assert neoplasms.definition == "New abnormal growth of tissue." and neoplasms.types == ["C04"]
    assert mesh["MESH:D001943"].parents == ["MESH:D009371"]  # C04.588.180 → C04.588 (C17.800.090 is absent)
    assert mesh["MESH:D009371"].parents == ["MESH:D009369"]
    bevonium = mesh["MESH:C000002"]
    assert bevonium.aliases == ["bevonium", "bevonium metilsulfate"] and bevonium.parents == ["MESH:D004298"]
    assert mesh.ids_for_alias("hydroxytyramine") == ["MESH:D004298"]


def test_mesh_xml_and_ascii_agree():
    xml, ascii_ = read_mesh(FIXTURES / "mesh_xml"), read_mesh(FIXTURES / "mesh_ascii")
    assert [(c.id, c.aliases, c.parents, c.types) for c in xml] == [(c.id, c.aliases, c.parents, c.types) for c in ascii_]


def test_mesh_errors_name_file_and_line(tmp_path):
    with pytest.raises(InputFormatError, match="no MeSH descriptor file"):
        read_mesh(tmp_path)
    text = (FIXTURES / "mesh_xml" / "desc2024.xml").read_text(encoding="utf8")
    (tmp_path / "desc2024.xml").write_text(text[: len(text) // 2], encoding="utf8")
    with pytest.raises(InputFormatError, match="truncated") as info:
        read_mesh(tmp_path)
    assert "desc2024.xml" in str(info.value) and info.value.line
    (tmp_path / "desc2024.xml").unlink()
    (tmp_path / "d2024.bin").write_text("*NEWRECORD\nMH = Neoplasms\nnonsense line\n", encoding="utf8")
    with pytest.raises(InputFormatError, match="FIELD = value") as info:
        read_mesh(tmp_path)
    assert info.value.line == 3
    (tmp_path / "d2024.bin").write_bytes("*NEWRECORD\nMH = Neoplasms\nENTRY = Tumeur maligne\n".encode("latin-1")
                                         + b"ENTRY = Tumeur b\xe9nigne\nUI = D009369\n")
    with pytest.raises(InputFormatError, match="not UTF-8 text") as info:
        read_mesh(tmp_path)
    assert info.value.line == 4
    (tmp_path / "d2024.bin").write_text("*NEWRECORD\nMH = Neoplasms\n", encoding="utf8")
    with pytest.raises(InputFormatError, match="UI = "):
        read_mesh(tmp_path)


def test_umls_english_non_suppressed_with_types_and_definitions(tmp_path):
    umls = read_umls(FIXTURES / "umls")
    assert umls.ids == ["UMLS:C0006142", "UMLS:C0013030"]  # the French-only concept is left out
    breast = umls["UMLS:C0006142"]
    assert breast.name == "Malignant neoplasm of breast"  # the TS=P, STT=PF, ISPREF=Y row
    assert breast.aliases == ["Malignant neoplasm of breast", "breast cancer"]  # no French, no suppressed string
    assert breast.types == ["T191"] and breast.definition == "A malignant tumor of the breast."
    assert umls["UMLS:C0013030"].types == ["T116", "T123"]
    umls.to_disk(tmp_path / "umls.jsonl.gz")
    assert [c.aliases for c in Ontology.from_disk(tmp_path / "umls.jsonl.gz")] == [c.aliases for c in umls]


def test_umls_missing_column_and_missing_file(tmp_path):
    shutil.copytree(FIXTURES / "umls", tmp_path / "umls")
    mrsty = tmp_path / "umls" / "META" / "MRSTY.RRF"
    mrsty.write_text(mrsty.read_text(encoding="utf8") + "C0013030|T116|A1|\n", encoding="utf8")
    with pytest.raises(InputFormatError, match="expected 6") as info:
        read_umls(tmp_path / "umls")
    assert info.value.line == 4 and "MRSTY.RRF" in str(info.value)
    mrsty.unlink()
    with pytest.raises(InputFormatError, match="MRSTY.RRF not found"):
        read_umls(tmp_path / "umls")
