"""The project workflow with the optional reranker and dense channel (`--vars.reranker 1 --vars.dense 1`), at
smoke size, end to end.

CI already runs the default workflow (neither) as the README's main job; this runs the other branches: align an
encoder on MEDIC, train the XMR model with its dense channel, train a cross-encoder on XMR candidates, rerank the
gold mentions, add `xmr_reranker` to the assembled pipeline, package it and link a sentence with the installed
package. A tiny random BERT stands in for MiniLM / SapBERT, so only the plumbing is checked here, not the
accuracy (see benchmarks/).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from rerank_support import write_tiny_bert

from conftest import REPO_ROOT

from spacy_xmr.evaluation import evaluate_files

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO_ROOT / "project.yml", root / "project.yml")
    for folder in ("projects/scripts", "projects/configs", "corpora_scripts"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    encoder = write_tiny_bert(tmp_path_factory.mktemp("encoder"))
    command = [sys.executable, "-m", "spacy", "project", "run", "all", str(root), "--vars.sources", str(shared_data),
               "--vars.smoke", "1", "--vars.reranker", "1", "--vars.reranker_model", str(encoder), "--vars.device", "cpu",
               "--vars.dense", "1", "--vars.dense_model", str(encoder)]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def test_reranked_gold_mentions_are_scored(project):
    xmr = json.loads((project / "metrics" / "gold_mentions_xmr.json").read_text())
    reranked = json.loads((project / "metrics" / "gold_mentions_reranked.json").read_text())
    assert reranked["n_mentions"] == xmr["n_mentions"] == 960
    # the reranker reorders the XMR top-10 lists (whose last slots hold document candidates, so they are not the
    # first 10 of the top-50 lists scored in gold_mentions_xmr.json): it cannot find what those lists miss
    reranker_input = evaluate_files(project / "corpus" / "test.xml.gz", project / "training" / "predictions" / "xmr_top_k.xml.gz",
                                    project / "corpus" / "ontology.jsonl.gz")
    assert reranked["recall_at_k"]["10"] <= reranker_input["recall_at_k"]["10"] + 1e-9
    report = (project / "metrics" / "report.md").read_text()
    assert "| xmr+reranker | 960 |" in report
    calibration = json.loads((project / "metrics" / "calibration.json").read_text())["runs"]["xmr"]  # the report's
    assert calibration == xmr["calibration"] and calibration["n"] == 960 and 0 <= calibration["expected_calibration_error"] < 0.5
    assert sum(row["n"] for row in calibration["reliability"]) == 960 and "## Confidence" in report


def test_xmr_model_has_the_aligned_dense_channel(project):
    header = json.loads((project / "training" / "xmr" / "xmr.json").read_text())
    assert header["config"]["dense"]["encoder"] == "training/dense_encoder"
    assert (project / "training" / "dense_encoder" / "config.json").is_file()
    assert (project / "training" / "xmr" / "dense_embeddings" / "embeddings.npy").is_file()
    assert (project / "training" / "xmr" / "dense_encoder" / "config.json").is_file()


def test_packaged_pipeline_has_the_reranker_and_links(project):
    smoke = json.loads((project / "metrics" / "smoke_test.json").read_text())
    assert smoke["pipeline"] == ["ner", "xmr_linker", "xmr_reranker"]
    assert "smoke_venv" in smoke["module"]
    given = smoke["given_mention"]
    assert given["kb_id"] == given["candidates"][0][0]
    scores = [score for _, score in given["candidates"]]
    assert scores == sorted(scores, reverse=True)
