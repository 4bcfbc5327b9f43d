"""SIGKILL in the middle of a save leaves the previous output intact and loadable.

Each test runs the save in a subprocess with the test hook of `spacy_xmr.atomic` set: the first atomic write
signals once its temporary output is written and waits there, and the test kills the process at that point.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span

from synthetic import XMR_CONFIG
from spacy_xmr.atomic import PAUSE_BEFORE_REPLACE_ENV, atomic_directory
from spacy_xmr.pipeline.model_files import directory_to_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _kill_when_paused(args: list[str], tmp_path: Path) -> Path:
    """Run `python args`, SIGKILL it once an atomic write is paused; return that write's temporary output."""
    signal_file = tmp_path / "paused"
    env = {**os.environ, PAUSE_BEFORE_REPLACE_ENV: str(signal_file)}
    process = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    try:
        while not signal_file.exists():
            if process.poll() is not None:
                pytest.fail(f"the process ended (code {process.returncode}) before any atomic write: {process.stderr.read()}")
            assert time.monotonic() < deadline, "no atomic write within 180 s"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    temporary = Path(signal_file.read_text(encoding="utf8"))
    assert temporary.exists()  # the kill landed while the new output existed only as the temporary one
    return temporary


def test_kill_during_train_xmr_save_keeps_the_previous_model(tmp_path, synthetic_model_dir, synthetic_ontology_path):
    from spacy_xmr.xmr import XMRModel

    output = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, output)
    before = directory_to_files(output)
    (tmp_path / "xmr.json").write_text(json.dumps(XMR_CONFIG))
    _kill_when_paused(["-m", "spacy_xmr", "train-xmr", "--ontology", str(synthetic_ontology_path), "--output", str(output),
                       "--config", str(tmp_path / "xmr.json")], tmp_path)
    assert directory_to_files(output) == before
    texts = ["cardioma syndrome", "renal disease"]
    assert XMRModel.load(output).predict(texts) == XMRModel.load(synthetic_model_dir).predict(texts)


def test_kill_during_apply_xmr_write_keeps_the_previous_output(tmp_path, synthetic_model_dir, synthetic_corpus_dir):
    output = tmp_path / "pred.xml"
    shutil.copyfile(synthetic_corpus_dir / "train.xml", output)  # any previous output
    before = output.read_bytes()
    _kill_when_paused(["-m", "spacy_xmr", "apply-xmr", "--model", str(synthetic_model_dir),
                       "--in-corpus", str(synthetic_corpus_dir / "dev.xml"), "--out-corpus", str(output)], tmp_path)
    assert output.read_bytes() == before


SAVE_PIPELINE = textwrap.dedent("""
    import sys, spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": sys.argv[1]})
    nlp.to_disk(sys.argv[2])
""")


def _linked(nlp, texts: list[str]) -> list[list[tuple[str, float]]]:
    docs = []
    for text in texts:
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, 0, len(doc), label="Disease")]
        docs.append(doc)
    return [doc.ents[0]._.xmr_candidates for doc in nlp.get_pipe("xmr_linker").pipe(docs)]


def test_kill_during_nlp_to_disk_keeps_the_previous_pipeline_loadable(tmp_path, synthetic_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    pipeline = tmp_path / "pipeline"
    nlp.to_disk(pipeline)
    texts = ["cardioma syndrome", "renal disease"]
    expected = _linked(nlp, texts)
    model_files = directory_to_files(pipeline / "xmr_linker" / "model")
    temporary = _kill_when_paused(["-c", SAVE_PIPELINE, str(synthetic_model_dir), str(pipeline)], tmp_path)
    assert temporary.parent == pipeline / "xmr_linker"  # killed while saving our component's model
    assert directory_to_files(pipeline / "xmr_linker" / "model") == model_files
    assert _linked(spacy.load(pipeline), texts) == expected


def test_a_folder_swap_killed_between_its_renames_is_put_back(tmp_path):
    output = tmp_path / "model"
    output.mkdir()
    (output / "weights").write_text("previous")
    output.rename(tmp_path / ".model.old")  # what a kill between the two renames of a swap leaves
    with pytest.raises(RuntimeError), atomic_directory(output) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("killed")
    assert (output / "weights").read_text() == "previous"
    with atomic_directory(output) as tmp:
        (tmp / "weights").write_text("new")
    assert (output / "weights").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]
