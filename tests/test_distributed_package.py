"""`annotate --pipeline PACKAGE_NAME`: a pipeline installed as a package (what `spacy package` builds), not a folder."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="annotate needs the distributed extra (ray)")
from annotate_support import expected_ner, jsonl_entities, save_ruler_linker_pipeline, shard_collection  # noqa: E402
from spacy_xmr.corpus.jsonl import write_jsonl  # noqa: E402

PACKAGE = "xmr_annotate_test"


@pytest.mark.slow  # builds a wheel, installs it, starts a local Ray: about a minute on 2 busy cores
def test_an_installed_pipeline_package_is_annotated_by_name(synthetic_ontology, synthetic_model_dir, tmp_path):
    pipeline = save_ruler_linker_pipeline(synthetic_ontology, synthetic_model_dir, tmp_path / "pipeline")
    (tmp_path / "packages").mkdir()
    built = subprocess.run([sys.executable, "-m", "spacy", "package", str(pipeline), str(tmp_path / "packages"),
                            "--name", PACKAGE, "--version", "0.0.1", "--build", "wheel"],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "packages").glob(f"en_{PACKAGE}-0.0.1/dist/*.whl")
    site = tmp_path / "site-packages"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    write_jsonl(shard_collection(synthetic_ontology, 5), tmp_path / "in.jsonl")

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", "from spacy_xmr.cli import main; main()", "annotate",
                             "--pipeline", f"en_{PACKAGE}", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out"),
                             "--format", "jsonl", "--workers", "1"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on 1 worker(s)" in result.stdout
    assert jsonl_entities(tmp_path / "out") == expected_ner(pipeline, [tmp_path / "in.jsonl"])
