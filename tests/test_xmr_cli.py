"""`spacy-xmr train-xmr` and `apply-xmr` on the synthetic ontology and BioC corpus; train-xmr shows each phase as it starts."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import get_candidates, read_corpus
from spacy_xmr.errors import SpacyXmrError
from synthetic import write_two_type_corpus

runner = CliRunner()
TRAINING_PHASES = ("Training an XMR model", "reading the ontology", "reading the training corpus", "reading the validation corpus",
                   "featurising", "building the tree channel", "writing the trained model", "calibrating the confidence",
                   "saving the model", "evaluating on", "lenient")


def test_train_and_apply(tmp_path, synthetic_ontology_path, synthetic_corpus_dir):
    train, dev = synthetic_corpus_dir / "train.xml", synthetic_corpus_dir / "dev.xml"
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"max_leaf_size": 16, "branching_factor": 4}}))

    result = runner.invoke(app, [
        "train-xmr", "--ontology", str(synthetic_ontology_path), "--train-corpus", str(train),
        "--val-corpus", str(dev), "--output", str(tmp_path / "model"), "--config", str(tmp_path / "config.json"), "--seed", "5",
    ])
    assert result.exit_code == 0, result.output
    assert "acc@1" in result.output
    assert json.loads((tmp_path / "model" / "xmr.json").read_text())["config"]["seed"] == 5
    positions = [result.output.find(phase) for phase in TRAINING_PHASES]  # every phase announces itself, in order
    assert -1 not in positions and positions == sorted(positions), result.output

    result = runner.invoke(app, ["apply-xmr", "--model", str(tmp_path / "model"), "--in-corpus", str(dev),
                                 "--out-corpus", str(tmp_path / "pred.xml"), "--top-k", "3"])
    assert result.exit_code == 0, result.output
    annotations = [a for d in read_corpus(tmp_path / "pred.xml").documents for p in d.passages for a in p.annotations]
    assert len(annotations) == sum(len(p.annotations) for d in read_corpus(dev).documents for p in d.passages)
    assert all(1 <= len(get_candidates(a)) <= 3 for a in annotations)

    result = runner.invoke(app, ["evaluate", "--gold", str(dev), "--pred", str(tmp_path / "pred.xml")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("slow_part, announced", [
    ("spacy_xmr.workflows.xmr.read_ontology_file", "reading the ontology"),
    ("spacy_xmr.workflows.xmr.gold_linked_mentions", "reading the training corpus"),
    ("spacy_xmr.xmr.model.Featurizer.fit_transform", "featurising 1"),
    ("spacy_xmr.xmr.model.fit_calibrator", "calibrating the confidence on"),
])
def test_train_announces_each_slow_part_before_it_starts(tmp_path, synthetic_ontology_path, synthetic_corpus_dir, monkeypatch,
                                                       slow_part, announced):
    """The slow part fails as it starts: what was printed by then must already name it (and the command first)."""
    def stop(*args, **kwargs):
        raise SpacyXmrError("stopped here")

    monkeypatch.setattr(slow_part, stop)
    result = runner.invoke(app, ["train-xmr", "--ontology", str(synthetic_ontology_path), "--train-corpus",
                                 str(synthetic_corpus_dir / "train.xml"), "--val-corpus", str(synthetic_corpus_dir / "dev.xml"),
                                 "--output", str(tmp_path / "model")])
    assert result.exit_code == 1 and "stopped here" in result.output
    assert result.output.index("Training an XMR model") < result.output.index(announced) < result.output.index("stopped here")


def test_a_val_corpus_without_mentions_of_the_types_is_refused_before_training(tmp_path, synthetic_ontology_path, synthetic_corpus_dir):
    """It would leave the calibration to the out-of-fold models without a word (and take longer)."""
    result = runner.invoke(app, ["train-xmr", "--ontology", str(synthetic_ontology_path), "--train-corpus",
                                 str(synthetic_corpus_dir / "train.xml"), "--val-corpus", str(synthetic_corpus_dir / "dev.xml"),
                                 "--entity-type", "Chemical", "--output", str(tmp_path / "model")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "dev.xml: no mention of the entity type 'Chemical' has a gold id" in output
    assert "nothing to calibrate the confidence on" in output and "featurising" not in output
    assert not (tmp_path / "model").exists()


def test_apply_refuses_to_overwrite_its_input(tmp_path, synthetic_corpus_dir):
    corpus = tmp_path / "dev.xml"
    shutil.copy(synthetic_corpus_dir / "dev.xml", corpus)
    before = corpus.read_text()
    (tmp_path / "model").mkdir()
    result = runner.invoke(app, ["apply-xmr", "--model", str(tmp_path / "model"), "--in-corpus", str(corpus),
                                 "--out-corpus", str(tmp_path / "." / "dev.xml")])
    assert result.exit_code == 1
    assert "refusing to overwrite" in " ".join(result.output.split())
    assert corpus.read_text() == before


def test_train_reports_bad_config(tmp_path, synthetic_corpus_dir):
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"branching_factor": 3}}))
    (tmp_path / "onto.jsonl.gz").write_bytes(b"")
    result = runner.invoke(app, ["train-xmr", "--ontology", str(tmp_path / "onto.jsonl.gz"),
                                 "--train-corpus", str(synthetic_corpus_dir / "train.xml"),
                                 "--output", str(tmp_path / "m"), "--config", str(tmp_path / "config.json")])
    assert result.exit_code == 1
    assert "tree.branching_factor" in result.output


def test_train_xmr_maps_every_models_features_under_the_work_dir_and_leaves_it_empty(tmp_path, synthetic_ontology_path,
                                                                                     synthetic_corpus_dir, monkeypatch):
    """The model's and the calibration folds' feature matrices go to `--work-dir` (a big disk at UMLS size), not $TMPDIR."""
    from spacy_xmr.xmr import model as xmr_model

    used = []
    real_store = xmr_model.FeatureStore

    def recorded(work_dir=None):
        used.append(work_dir)
        return real_store(work_dir)

    monkeypatch.setattr(xmr_model, "FeatureStore", recorded)
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"max_leaf_size": 16, "branching_factor": 4}, "calibration": {"folds": 2}}))
    result = runner.invoke(app, ["train-xmr", "--ontology", str(synthetic_ontology_path), "--train-corpus",
                                 str(synthetic_corpus_dir / "train.xml"), "--config", str(tmp_path / "config.json"),
                                 "--output", str(tmp_path / "model"), "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    assert "training mentions, out-of-fold" in " ".join(result.output.split())
    assert len(used) == 3 and all(work_dir == tmp_path / "work" for work_dir in used)
    assert (tmp_path / "work").is_dir() and not any((tmp_path / "work").iterdir())


def test_apply_links_only_the_entity_type_asked_for_and_keeps_the_others(tmp_path, synthetic_model_dir, synthetic_corpus_dir):
    annotations = write_two_type_corpus(synthetic_corpus_dir / "dev.xml", tmp_path / "two_types.xml")
    result = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(tmp_path / "two_types.xml"),
                                 "--out-corpus", str(tmp_path / "pred.xml"), "--entity-type", "Chemical"])
    assert result.exit_code == 0, result.output
    written = [a for d in read_corpus(tmp_path / "pred.xml").documents for p in d.passages for a in p.annotations]
    assert [(a.id, a.infons["type"], a.infons.get("identifier")) for a in written] == [
        (a.id, a.infons["type"], a.infons.get("identifier")) for a in annotations]  # every annotation kept, as it was
    assert {a.infons["type"] for a in written if get_candidates(a)} == {"Chemical"}
    assert all(get_candidates(a) for a in written if a.infons["type"] == "Chemical")


def test_outputs_that_would_delete_or_change_an_input_are_refused_before_the_work(tmp_path, synthetic_ontology_path,
                                                                                  synthetic_corpus_dir, synthetic_model_dir):
    words = lambda result: " ".join(result.output.split())
    (tmp_path / "data").mkdir()
    train = shutil.copy(synthetic_corpus_dir / "train.xml", tmp_path / "data" / "train.xml")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    for output, expected in [(tmp_path / "data", "it holds the input"), (tmp_path / "notes", "not an earlier output of this kind")]:
        result = runner.invoke(app, ["train-xmr", "--ontology", str(synthetic_ontology_path), "--train-corpus", str(train),
                                     "--output", str(output)])
        assert result.exit_code == 1 and expected in words(result) and "featurising" not in result.output
        assert "Training refused" in result.output  # not "failed": nothing was tried
    assert (tmp_path / "data" / "train.xml").read_bytes() == (synthetic_corpus_dir / "train.xml").read_bytes()
    assert (tmp_path / "notes" / "notes.txt").read_text() == "mine"
    model = shutil.copytree(synthetic_model_dir, tmp_path / "model")
    result = runner.invoke(app, ["apply-xmr", "--model", str(model), "--in-corpus", str(train), "--out-corpus", str(model / "xmr.json")])
    assert result.exit_code == 1 and "refusing to write inside the input folder" in words(result)
    assert (model / "xmr.json").read_bytes() == (synthetic_model_dir / "xmr.json").read_bytes()


def test_train_marks_a_warning_among_its_progress_lines(tmp_path, synthetic_ontology, synthetic_corpus_dir):
    """An ontology whose ids lack the corpus's MESH: prefix: each concept would be learned twice, which the warning says."""
    from spacy_xmr.ontology import Concept, Ontology

    bare = Ontology([Concept(c.id.removeprefix("MESH:"), c.name, synonyms=c.synonyms) for c in synthetic_ontology])
    bare.to_disk(tmp_path / "bare.jsonl.gz")
    result = runner.invoke(app, ["train-xmr", "--ontology", str(tmp_path / "bare.jsonl.gz"), "--train-corpus",
                                 str(synthetic_corpus_dir / "train.xml"), "--output", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if "spelled otherwise" in line]
    assert warning.split(" ")[1] == "\u26a0" and "the ontology's 'D99" in warning
