"""`spacy-xmr upgrade-xmr`: an older model folder, or a pipeline holding one, saved again in the current format, which
processes map instead of reading; the same links; the input only read."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import spacy
from annotate_support import save_ruler_linker_pipeline
from model_formats import memory_mapped, to_format_3
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.xmr import XMRModel
from spacy_xmr.xmr.format_versions import FORMAT_VERSION
from test_xmr_mmap import TEXTS, fingerprint

runner = CliRunner()


def format_version(model_dir: Path) -> int:
    return json.loads((model_dir / "xmr.json").read_text(encoding="utf8"))["format_version"]


@pytest.fixture()
def format_3_model(synthetic_model_dir, tmp_path) -> Path:
    shutil.copytree(synthetic_model_dir, tmp_path / "old_model")
    to_format_3(tmp_path / "old_model")
    return tmp_path / "old_model"


def test_a_format_3_model_is_written_in_the_current_format_and_links_the_same(format_3_model, synthetic_model, tmp_path):
    before = fingerprint(format_3_model)
    result = runner.invoke(app, ["upgrade-xmr", "--model", str(format_3_model), "--output", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "new files in" in result.output and "layer_0" in result.output
    assert fingerprint(format_3_model) == before  # the input is only read
    assert format_version(format_3_model) == 3 and format_version(tmp_path / "new") == FORMAT_VERSION
    upgraded = XMRModel.load(tmp_path / "new")
    assert memory_mapped(upgraded.examples.features.data)
    assert all(memory_mapped(layer.blocks().weights) for layer in upgraded.channels["tree"].layers)
    assert upgraded.predict(TEXTS, top_k=10) == synthetic_model.predict(TEXTS, top_k=10)
    again = runner.invoke(app, ["upgrade-xmr", "--model", str(tmp_path / "new"), "--output", str(tmp_path / "newer")])
    assert again.exit_code == 0 and "up to date" in again.output


def test_a_pipeline_with_an_older_model_is_written_with_the_model_upgraded(format_3_model, synthetic_ontology, tmp_path):
    old = save_ruler_linker_pipeline(synthetic_ontology, format_3_model, tmp_path / "pipeline")
    assert format_version(old / "xmr_linker" / "model") == 3
    result = runner.invoke(app, ["upgrade-xmr", "--model", str(old), "--output", str(tmp_path / "upgraded")])
    assert result.exit_code == 0, result.output
    assert format_version(tmp_path / "upgraded" / "xmr_linker" / "model") == FORMAT_VERSION
    texts = [f"Patients with {alias} were seen." for alias, _ in list(synthetic_ontology.aliases())[:30:3]]
    linked = lambda pipeline: [[(ent.text, ent.kb_id_) for ent in doc.ents] for doc in spacy.load(pipeline).pipe(texts)]
    assert linked(tmp_path / "upgraded") == linked(old)
    assert any(kb_id for doc in linked(old) for _, kb_id in doc)


def test_refuses_to_write_over_its_input_and_names_what_a_folder_lacks(format_3_model, tmp_path):
    words = lambda result: " ".join(result.output.split())  # the message as wrapped to the terminal's width
    same = runner.invoke(app, ["upgrade-xmr", "--model", str(format_3_model), "--output", str(format_3_model)])
    assert same.exit_code == 1 and "refusing to overwrite the input" in words(same)
    (tmp_path / "empty").mkdir()
    neither = runner.invoke(app, ["upgrade-xmr", "--model", str(tmp_path / "empty"), "--output", str(tmp_path / "out")])
    assert neither.exit_code == 1 and "neither an XMR model folder" in words(neither) and "config.cfg" in words(neither)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("output", ["holder", "inside", "notes"])
def test_refuses_an_output_that_would_delete_or_change_an_input_or_a_folder_of_the_users(format_3_model, tmp_path, output):
    """The output replaces a folder whole: never one that holds the input, lies inside it, or holds the user's files."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    path = {"holder": tmp_path, "inside": format_3_model / "sub", "notes": tmp_path / "notes"}[output]
    before = fingerprint(format_3_model)
    result = runner.invoke(app, ["upgrade-xmr", "--model", str(format_3_model), "--output", str(path)])
    expected = {"holder": "it holds the input", "inside": "refusing to write inside the input folder",
                "notes": "not an earlier output of this kind"}[output]
    assert result.exit_code == 1 and expected in " ".join(result.output.split())
    assert fingerprint(format_3_model) == before and (tmp_path / "notes" / "notes.txt").read_text() == "mine"
    assert not (format_3_model / "sub").exists()
