"""Training on an ontology alone: `train-xmr` without `--train-corpus`, an empty training file, and the
`initialize` route of `xmr_linker` with an ontology and no training corpus."""
from __future__ import annotations

import json

import pytest
import spacy
from spacy.tokens import Span
from typer.testing import CliRunner

from synthetic import XMR_CONFIG
from spacy_xmr.cli import app
from spacy_xmr.xmr import XMRModel

runner = CliRunner()


@pytest.fixture(scope="module")
def xmr_config_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("xmr-config") / "xmr.json"
    path.write_text(json.dumps(XMR_CONFIG), encoding="utf8")
    return path


def _names_linked_to_their_concept(link, ontology, n: int = 40) -> float:
    """Share of the first `n` concepts whose own name is linked to them."""
    concepts = list(ontology)[:n]
    return sum(link(concept.name) == concept.id for concept in concepts) / len(concepts)


def _train_command(ontology_path, output, xmr_config_path, *extra):
    return runner.invoke(app, ["train-xmr", "--ontology", str(ontology_path), "--output", str(output),
                               "--config", str(xmr_config_path), *map(str, extra)])


def test_train_xmr_without_a_training_corpus(tmp_path, synthetic_ontology, synthetic_ontology_path, xmr_config_path):
    result = _train_command(synthetic_ontology_path, tmp_path / "model", xmr_config_path)
    assert result.exit_code == 0, result.output
    model = XMRModel.load(tmp_path / "model")
    assert model.stats["n_mentions_used"] == 0
    assert model.stats["n_concepts"] == len(synthetic_ontology)

    def link(text):
        return model.predict([text], top_k=1)[0][0][0]

    assert _names_linked_to_their_concept(link, synthetic_ontology) >= 0.9


def test_a_model_trained_on_the_ontology_alone_is_applied_and_evaluated(tmp_path, synthetic_ontology_path, synthetic_corpus_dir,
                                                                     xmr_config_path):
    """Its predictions say it was trained on no entity type: evaluate must read that, not crash on it."""
    assert _train_command(synthetic_ontology_path, tmp_path / "model", xmr_config_path).exit_code == 0
    dev, predictions = synthetic_corpus_dir / "dev.xml", tmp_path / "pred.xml.gz"
    applied = runner.invoke(app, ["apply-xmr", "--model", str(tmp_path / "model"), "--in-corpus", str(dev), "--out-corpus", str(predictions)])
    assert applied.exit_code == 0, applied.output
    evaluated = runner.invoke(app, ["evaluate", "--gold", str(dev), "--pred", str(predictions)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "acc@1" in evaluated.output.lower() or "acc_at_1" in evaluated.output


def test_an_empty_training_file_is_zero_mentions(tmp_path, synthetic_ontology_path, xmr_config_path):
    empty = tmp_path / "empty.PubTator.txt"
    empty.write_text("", encoding="utf8")
    result = _train_command(synthetic_ontology_path, tmp_path / "model", xmr_config_path, "--train-corpus", empty)
    assert result.exit_code == 0, result.output
    assert XMRModel.load(tmp_path / "model").stats["n_mentions_used"] == 0


def test_initialize_with_an_ontology_and_no_training_corpus(synthetic_ontology, synthetic_ontology_path, xmr_config_path):
    config = {
        "nlp": {"lang": "en", "pipeline": ["xmr_linker"]},
        "components": {"xmr_linker": {"factory": "xmr_linker"}},
        "initialize": {"components": {"xmr_linker": {"ontology": str(synthetic_ontology_path),
                                                     "xmr_config": str(xmr_config_path)}}},
    }
    nlp = spacy.util.load_model_from_config(spacy.util.Config(config), auto_fill=True)
    nlp.initialize()
    linker = nlp.get_pipe("xmr_linker")

    def link(text):
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, 0, len(doc), label="Disease")]
        return linker(doc).ents[0].kb_id_

    assert _names_linked_to_their_concept(link, synthetic_ontology) >= 0.9
