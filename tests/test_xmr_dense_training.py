"""Self-alignment training of the dense channel's encoder: the pairs, the loss, a tiny random BERT that learns the
toy ontology's synonyms, and `spacy-xmr train-dense-encoder` feeding `train-xmr --dense-encoder`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rerank_support import toy_ontology, write_tiny_bert  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from spacy_xmr.cli import app  # noqa: E402
from spacy_xmr.errors import ConfigError, SpacyXmrError  # noqa: E402
from spacy_xmr.xmr.config import DenseConfig, TrainingDataConfig  # noqa: E402
from spacy_xmr.xmr.dense import EMBEDDINGS_FILE, ENCODER_DIR, DenseEncoder  # noqa: E402
from spacy_xmr.xmr.dense_training import DenseTrainingConfig, alignment_loss, alignment_pairs, train_dense_encoder  # noqa: E402
from spacy_xmr.xmr.training_data import build_training_data  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def test_pairs_cover_every_string_of_a_multi_string_concept():
    # strings 0-2 name concept 0, string 3 concept 1 alone, string 4 names concepts 0 and 2, string 5 concept 2
    labels = sp.csr_matrix(([1] * 7, ([0, 1, 2, 3, 4, 4, 5], [0, 0, 0, 1, 0, 2, 2])), shape=(6, 3))
    pairs = alignment_pairs(labels, np.random.default_rng(0))
    by_concept = {c: sorted(pairs[pairs[:, 2] == c, 0].tolist()) for c in range(3)}
    assert by_concept == {0: [0, 1, 2, 4], 1: [], 2: [4, 5]}
    for anchor, partner, concept in pairs:
        assert anchor != partner and labels[partner, concept] and labels[anchor, concept]
    again = alignment_pairs(labels, np.random.default_rng(0))
    np.testing.assert_array_equal(pairs, again)


def test_loss_never_counts_a_same_concept_pair_as_negative():
    anchors = torch.nn.functional.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    partners = torch.nn.functional.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(1)), dim=-1)
    concept = torch.tensor([0, 0, 1, 2])
    same = concept[:, None] == concept[None, :]
    loss = alignment_loss(anchors, partners, same, temperature=0.1)
    logits = anchors @ partners.T / 0.1
    expected = []
    for matrix in (logits, logits.T):
        for i in range(4):
            allowed = [j for j in range(4) if j == i or concept[j] != concept[i]]
            expected.append(-(matrix[i, i] - torch.logsumexp(matrix[i, allowed], 0)))
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    assert alignment_loss(anchors, anchors, same, 0.1) < loss  # aligned pairs cost less


def _margin(encoder: DenseEncoder, keys, labels) -> float:
    """Mean cosine of same-concept string pairs minus that of different-concept pairs."""
    vectors = encoder.encode(keys)
    cosine = vectors @ vectors.T
    same = (labels @ labels.T).toarray() > 0
    off_diagonal = ~np.eye(len(keys), dtype=bool)
    return float(cosine[same & off_diagonal].mean() - cosine[~same].mean())


def test_training_pulls_synonyms_together(tiny_bert):
    data = build_training_data(toy_ontology(), [], TrainingDataConfig())
    encoder = DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu"))
    before = _margin(encoder, data.keys, data.labels)
    summary = train_dense_encoder(encoder, data.keys, data.labels, DenseTrainingConfig(epochs=30, batch_size=8, lr=1e-3), progress=False)
    assert summary["n_pairs_per_epoch"] == data.labels.nnz  # every toy string shares its concept with another
    assert np.mean(summary["epoch_losses"][-5:]) < 0.7 * np.mean(summary["epoch_losses"][:5])
    assert _margin(encoder, data.keys, data.labels) > before + 0.1
    assert not encoder.model.training  # left ready for encoding


def test_training_without_pairs_is_a_clear_error(tiny_bert):
    encoder = DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu"))
    labels = sp.identity(3, format="csr", dtype=np.float32)  # one string per concept
    with pytest.raises(SpacyXmrError, match="two distinct strings"):
        train_dense_encoder(encoder, ["a", "b", "c"], labels, DenseTrainingConfig(), progress=False)


@pytest.mark.parametrize("field, value", [("epochs", 0), ("batch_size", 1), ("temperature", 0.0), ("warmup_ratio", 1.0)])
def test_training_config_is_checked(field, value):
    with pytest.raises(ConfigError, match=field):
        DenseTrainingConfig(**{field: value})


def test_cli_trains_an_encoder_that_train_xmr_uses(tmp_path, tiny_bert):
    from synthetic import synthetic_ontology, write_corpus

    runner = CliRunner()
    small = synthetic_ontology(n_concepts=40)  # a few hundred strings: the plumbing, in seconds
    ontology, train = tmp_path / "ontology.jsonl.gz", write_corpus(small, tmp_path)["train"]
    small.to_disk(ontology)
    result = runner.invoke(app, ["train-dense-encoder", "--ontology", str(ontology), "--model", str(tiny_bert),
                                 "--train-corpus", str(train), "--output", str(tmp_path / "encoder"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "pairs per epoch" in result.output
    assert (tmp_path / "encoder" / "config.json").is_file()

    (tmp_path / "config.json").write_text(json.dumps({"tree": {"max_leaf_size": 16, "branching_factor": 4}, "dense": {"device": "cpu"}}))
    result = runner.invoke(app, ["train-xmr", "--ontology", str(ontology), "--train-corpus", str(train),
                                 "--output", str(tmp_path / "xmr"), "--config", str(tmp_path / "config.json"),
                                 "--dense-encoder", str(tmp_path / "encoder")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "xmr" / "xmr.json").read_text())["config"]["dense"]["encoder"] == str(tmp_path / "encoder")
    assert (tmp_path / "xmr" / EMBEDDINGS_FILE).is_dir() and (tmp_path / "xmr" / ENCODER_DIR).is_dir()


def test_cli_names_a_missing_encoder(tmp_path):
    toy_ontology().to_disk(tmp_path / "ontology.jsonl.gz")
    result = CliRunner().invoke(app, ["train-dense-encoder", "--ontology", str(tmp_path / "ontology.jsonl.gz"),
                                      "--model", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 1
    assert "nowhere" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_rejects_an_unknown_pooling_before_loading(tmp_path):
    toy_ontology().to_disk(tmp_path / "ontology.jsonl.gz")
    result = CliRunner().invoke(app, ["train-dense-encoder", "--ontology", str(tmp_path / "ontology.jsonl.gz"),
                                      "--model", "never-loaded", "--output", str(tmp_path / "out"), "--pooling", "max"])
    assert result.exit_code == 1
    assert "pooling = 'max'" in result.output and "never-loaded" not in result.output


def test_cli_refuses_to_write_over_or_into_its_starting_encoder(tmp_path, tiny_bert):
    import shutil

    toy_ontology().to_disk(tmp_path / "ontology.jsonl.gz")
    encoder = shutil.copytree(tiny_bert, tmp_path / "tiny")
    before = sorted(p.name for p in encoder.iterdir())
    for output in (encoder, encoder / "sub"):
        result = CliRunner().invoke(app, ["train-dense-encoder", "--ontology", str(tmp_path / "ontology.jsonl.gz"),
                                          "--model", str(encoder), "--output", str(output), "--device", "cpu"])
        assert result.exit_code == 1 and "refusing" in result.output and "pairs per epoch" not in result.output
    assert sorted(p.name for p in encoder.iterdir()) == before
