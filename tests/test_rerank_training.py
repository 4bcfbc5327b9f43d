"""Training: every crosstype learns, both losses work, gold policies, and interrupted runs resume."""
from __future__ import annotations

import json

import pytest
import torch

import spacy_xmr.rerank.train as train_module
from spacy_xmr.errors import ConfigError
from spacy_xmr.rerank import CROSSTYPES, Reranker, RerankerConfig, accuracy_at_1, train_reranker
from spacy_xmr.rerank.fusion import fuse, tune_weight
from spacy_xmr.rerank.labels import training_examples
from spacy_xmr.rerank.losses import candidate_matrix, listwise_loss, pointwise_loss
from rerank_support import toy_candidates, toy_mentions, toy_ontology, write_tiny_bert


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("bert"))


def _config(bert_dir, **overrides) -> RerankerConfig:
    settings = dict(model_name=str(bert_dir), max_length=128, max_candidate_tokens=12, epochs=10, batch_size=10,
                    lr=5e-3, head_lr=5e-2, warmup_ratio=0.0, patience=10, top_k=4)
    settings.update(overrides)
    return RerankerConfig(**settings)


def _train(bert_dir, output_dir, **overrides) -> dict:
    mentions = toy_mentions()
    candidates = toy_candidates(mentions)
    return train_reranker(_config(bert_dir, **overrides), mentions, candidates, mentions[:4], candidates[:4], toy_ontology(),
                          output_dir, progress=False, device="cpu")


@pytest.mark.parametrize("crosstype", CROSSTYPES)
def test_each_crosstype_training_loss_falls(bert_dir, tmp_path, crosstype):
    summary = _train(bert_dir, tmp_path, crosstype=crosstype)
    losses = [epoch["train_loss"] for epoch in summary["history"]]
    assert losses[-1] < 0.85 * losses[0], losses
    assert Reranker.load(summary["model_dir"], device="cpu").config.crosstype == crosstype


def test_pointwise_loss_falls(bert_dir, tmp_path):
    """Below 0.56, the binary entropy of one positive in four candidates: it learns more than the base rate
    (which it reaches within a few epochs, so it needs more of them than the listwise loss)."""
    summary = _train(bert_dir, tmp_path, crosstype="parallel", loss="pointwise", lr=1e-2, head_lr=1e-2, epochs=30, patience=30)
    losses = [epoch["train_loss"] for epoch in summary["history"]]
    assert losses[-1] < 0.75 * losses[0] and losses[-1] < 0.5, losses


def test_losses_match_their_definitions():
    scores = torch.tensor([2.0, 0.5, -1.0, 1.0, 3.0])  # mention 0: 3 candidates, mention 1: 2
    slot_mention, slot_candidate = torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0, 1, 2, 0, 1])
    labels = torch.tensor([[0, 1, 1], [1, 0, 0]])
    matrix, valid, positive = candidate_matrix(scores, slot_mention, slot_candidate, labels)
    assert valid.sum() == 5 and positive.tolist() == [[False, True, True], [True, False, False]]
    expected = -(torch.log(torch.softmax(scores[:3], 0)[1:].sum()) + torch.log(torch.softmax(scores[3:], 0)[0])) / 2
    assert torch.isclose(listwise_loss(matrix, valid, positive), expected)
    targets = torch.tensor([0.0, 1, 1, 1, 0])
    bce = -(targets * torch.log(torch.sigmoid(scores)) + (1 - targets) * torch.log(1 - torch.sigmoid(scores))).mean()
    assert torch.isclose(pointwise_loss(matrix, valid, positive), bce)


def test_gold_policy_adds_or_skips_missed_gold():
    mentions = toy_mentions()
    candidates = [[c for c, _ in ranked if c != m.gold_ids[0]] for m, ranked in zip(mentions, toy_candidates(mentions))]
    added = training_examples(mentions, candidates, toy_ontology(), top_k=3, gold_policy="add", seed=0)
    assert added.n_gold_added == len(mentions)
    assert all(sum(labels) == 1 and len(labels) == 3 for labels in added.labels)
    skipped = training_examples(mentions, candidates, toy_ontology(), top_k=3, gold_policy="skip", seed=0)
    assert skipped.n_skipped_gold_missed == len(mentions) and not skipped.mentions


def test_alt_ids_count_as_their_concept():
    mentions = [m for m in toy_mentions() if m.gold_ids == ["MESH:D008175"]]
    for mention in mentions:
        mention.gold_ids = ["MESH:D999999"]  # an alt id of lung cancer
    assert accuracy_at_1(mentions, [[("MESH:D008175", 1.0)]] * len(mentions), toy_ontology()) == 1.0


def test_interrupted_run_resumes_and_continues_the_step_count(bert_dir, tmp_path, monkeypatch):
    settings = dict(crosstype="parallel", epochs=2, batch_size=2, checkpoint_every=2)
    uninterrupted = _train(bert_dir, tmp_path / "full", **settings)

    real_step, calls = train_module._train_step, []

    def interrupting_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_step", interrupting_step)
    with pytest.raises(KeyboardInterrupt):
        _train(bert_dir, tmp_path / "resumed", **settings)
    monkeypatch.setattr(train_module, "_train_step", real_step)
    resumed = _train(bert_dir, tmp_path / "resumed", **settings)
    assert resumed["steps"] == uninterrupted["steps"] == 10
    assert [e["step"] for e in resumed["history"]] == [e["step"] for e in uninterrupted["history"]] == [5, 10]
    assert json.loads((tmp_path / "resumed" / "training.json").read_text())["steps"] == 10

    longer = _train(bert_dir, tmp_path / "resumed", **{**settings, "epochs": 3})  # more epochs: carries on
    assert longer["steps"] == 15 and len(longer["history"]) == 3
    with pytest.raises(ConfigError, match="other settings"):
        _train(bert_dir, tmp_path / "resumed", **{**settings, "crosstype": "multi"})


def test_xmr_weight_tuned_on_validation_fixes_what_the_cross_encoder_misses():
    mentions = toy_mentions()[:4]
    candidates = [[(m.gold_ids[0], 1.0), ("MESH:D006333", 0.2)] for m in mentions]  # XMR right for all
    scores = [[0.0, 1.0], [0.0, 1.0], [2.0, 0.0], [2.0, 0.0]]  # cross-encoder right for half
    assert accuracy_at_1(mentions, fuse(candidates, scores, 0.0), toy_ontology()) == 0.5
    weight, accuracy = tune_weight(mentions, candidates, scores, toy_ontology())
    assert accuracy == 1.0 and weight == 2.0  # the smallest grid weight that lifts 1.0 * 0.8 above 1.0
    assert fuse(candidates, scores, weight)[0] == [(mentions[0].gold_ids[0], 2.0), ("MESH:D006333", 1.4)]
