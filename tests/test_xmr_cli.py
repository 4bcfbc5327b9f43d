"""`spacy-xmr train-xmr` and `apply-xmr` on a tiny NCBI Disease slice."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import get_candidates, iter_mentions, read_corpus

from test_xmr_model import slice_ontology

runner = CliRunner()


def _pubtator_slice(source, target, n_documents):
    """The first `n_documents` documents of a PubTator file."""
    blocks = source.read_text(encoding="utf8").strip().split("\n\n")[:n_documents]
    target.write_text("\n\n".join(blocks) + "\n", encoding="utf8")
    return target


def test_train_and_apply(tmp_path, medic, ncbi_dir):
    train = _pubtator_slice(ncbi_dir / "NCBItrainset_corpus.txt", tmp_path / "train.txt", 25)
    test = _pubtator_slice(ncbi_dir / "NCBIdevelopset_corpus.txt", tmp_path / "dev.txt", 8)
    mentions = [m for path in (train, test) for m in iter_mentions(read_corpus(path)) if m.gold_ids]
    slice_ontology(medic, mentions, n_extra=100).to_disk(tmp_path / "ontology.jsonl.gz")
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"max_leaf_size": 16, "branching_factor": 4}}))

    result = runner.invoke(app, [
        "train-xmr", "--ontology", str(tmp_path / "ontology.jsonl.gz"), "--train-corpus", str(train),
        "--val-corpus", str(test), "--output", str(tmp_path / "model"), "--config", str(tmp_path / "config.json"), "--seed", "5",
    ])
    assert result.exit_code == 0, result.output
    assert "acc@1" in result.output
    assert json.loads((tmp_path / "model" / "xmr.json").read_text())["config"]["seed"] == 5

    result = runner.invoke(app, ["apply-xmr", "--model", str(tmp_path / "model"), "--in-corpus", str(test),
                                 "--out-corpus", str(tmp_path / "pred.xml"), "--top-k", "3"])
    assert result.exit_code == 0, result.output
    annotations = [a for d in read_corpus(tmp_path / "pred.xml").documents for p in d.passages for a in p.annotations]
    assert annotations and all(1 <= len(get_candidates(a)) <= 3 for a in annotations)

    result = runner.invoke(app, ["evaluate", "--gold", str(test), "--pred", str(tmp_path / "pred.xml")])
    assert result.exit_code == 0, result.output


def test_apply_refuses_to_overwrite_its_input(tmp_path, ncbi_dir):
    corpus = _pubtator_slice(ncbi_dir / "NCBIdevelopset_corpus.txt", tmp_path / "dev.txt", 2)
    before = corpus.read_text()
    (tmp_path / "model").mkdir()
    result = runner.invoke(app, ["apply-xmr", "--model", str(tmp_path / "model"), "--in-corpus", str(corpus),
                                 "--out-corpus", str(tmp_path / "." / "dev.txt")])
    assert result.exit_code == 1
    assert "refusing to overwrite" in " ".join(result.output.split())
    assert corpus.read_text() == before


def test_train_reports_bad_config(tmp_path, ncbi_dir):
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"branching_factor": 3}}))
    (tmp_path / "onto.jsonl.gz").write_bytes(b"")
    result = runner.invoke(app, ["train-xmr", "--ontology", str(tmp_path / "onto.jsonl.gz"),
                                 "--train-corpus", str(ncbi_dir / "NCBIdevelopset_corpus.txt"),
                                 "--output", str(tmp_path / "m"), "--config", str(tmp_path / "config.json")])
    assert result.exit_code == 1
    assert "tree.branching_factor" in result.output
