"""Scoring, saving and loading rerankers built on a tiny random BERT (no download)."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from spacy_xmr.errors import ConfigError, ModelLoadError
from spacy_xmr.rerank import CROSSTYPES, Reranker, RerankerConfig
from rerank_support import toy_candidates, toy_mentions, toy_ontology, write_tiny_bert


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("bert"))


def test_the_tiny_bert_tokenizer_knows_its_words(bert_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(bert_dir, local_files_only=True)
    assert tokenizer.tokenize("Breast cancer x1") == ["breast", "cancer", "x", "##1"]


def _config(bert_dir, **overrides) -> RerankerConfig:
    settings = dict(model_name=str(bert_dir), max_length=128, max_candidate_tokens=12)
    settings.update(overrides)
    return RerankerConfig(**settings)


def _reranker(bert_dir, **overrides) -> Reranker:
    torch.manual_seed(0)
    return Reranker.from_encoder(_config(bert_dir, **overrides), toy_ontology(), device="cpu", local_files_only=True)


def _ids(candidates):
    return [[concept_id for concept_id, _ in ranked] for ranked in candidates]


def test_isolated_packing_reproduces_base_scores(bert_dir):
    """Same weights: parallel/multi with isolated attention see exactly what base sees, so score the same."""
    mentions = toy_mentions()
    candidate_ids = _ids(toy_candidates(mentions))
    base = _reranker(bert_dir, crosstype="base")
    expected = torch.tensor(sum(base.score(mentions, candidate_ids), []))
    parallel = Reranker(dataclasses.replace(base.config, crosstype="parallel"), base.tokenizer, base.model, base.ontology, "cpu")
    assert torch.allclose(torch.tensor(sum(parallel.score(mentions, candidate_ids), [])), expected, atol=1e-4)
    full = Reranker(dataclasses.replace(base.config, crosstype="parallel", attention="full"), base.tokenizer, base.model, base.ontology, "cpu")
    assert not torch.allclose(torch.tensor(sum(full.score(mentions, candidate_ids), [])), expected, atol=1e-4)


@pytest.mark.parametrize("crosstype", CROSSTYPES)
def test_rerank_sorts_by_score_and_keeps_every_candidate(bert_dir, crosstype):
    mentions = toy_mentions()
    candidates = toy_candidates(mentions)
    reranker = _reranker(bert_dir, crosstype=crosstype)
    scores = reranker.score(mentions, _ids(candidates), batch_size=3)
    reranked = reranker.rerank(mentions, candidates, batch_size=3)
    for before, after, row in zip(candidates, reranked, scores):
        assert sorted(c for c, _ in after) == sorted(c for c, _ in before)
        assert [s for _, s in after] == sorted(row, reverse=True)
    # batching, and packing a document at a time, change nothing
    for batching in ({"batch_size": 100}, {"batch_size": 3, "chunk_mentions": 1}):
        assert torch.allclose(torch.tensor(sum(reranker.score(mentions, _ids(candidates), **batching), [])),
                              torch.tensor(sum(scores, [])), atol=1e-5)


def test_save_load_gives_identical_scores(bert_dir, tmp_path):
    mentions = toy_mentions()
    candidates = toy_candidates(mentions)
    reranker = _reranker(bert_dir, crosstype="multi", n_synonyms=1)
    reranker.save(tmp_path / "reranker")
    header = json.loads((tmp_path / "reranker" / "reranker.json").read_text())
    assert header["crosstype"] == "multi" and header["n_synonyms"] == 1 and "[C0]" in header["marker_tokens"]
    assert (tmp_path / "reranker" / "encoder" / "model.safetensors").exists()
    loaded = Reranker.load(tmp_path / "reranker", device="cpu")
    assert len(loaded.ontology) == len(reranker.ontology)
    assert loaded.rerank(mentions, candidates) == reranker.rerank(mentions, candidates)


def test_auto_device_without_cuda_is_cpu(bert_dir, tmp_path):
    reranker = _reranker(bert_dir)
    reranker.save(tmp_path / "r")
    loaded = Reranker.load(tmp_path / "r", device="auto")
    assert loaded.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(loaded.model.parameters()).device.type == loaded.device.type


def test_bad_model_directories_raise_model_load_error(bert_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        Reranker.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="reranker.json"):
        Reranker.load(tmp_path / "empty")
    _reranker(bert_dir).save(tmp_path / "r")
    (tmp_path / "r" / "head.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match="incomplete or corrupt"):
        Reranker.load(tmp_path / "r", device="cpu")
    (tmp_path / "r" / "reranker.json").write_text('{"format": "spacy-xmr-reranker", "format_version": 99}')
    with pytest.raises(ModelLoadError, match="format version 99"):
        Reranker.load(tmp_path / "r", device="cpu")


def test_unknown_settings_raise_config_error(bert_dir):
    with pytest.raises(ConfigError, match="crosstype = 'pairwise'"):
        _config(bert_dir, crosstype="pairwise")
    with pytest.raises(ConfigError, match="max_length"):
        _reranker(bert_dir, max_length=500)  # beyond the 256 positions of the tiny BERT
    with pytest.raises(ConfigError, match="device"):
        Reranker(_config(bert_dir), None, None, toy_ontology(), device="tpu")


def test_unknown_encoder_raises_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot load the encoder"):
        Reranker.from_encoder(RerankerConfig(model_name=str(tmp_path / "nope")), toy_ontology(), "cpu", local_files_only=True)


def test_a_given_encoder_replaces_the_checkpoints_weights(bert_dir):
    """`encoder=`: the caller's model (here a wider random one) is used with the checkpoint's tokenizer,
    its embeddings grown to hold the marker tokens."""
    from transformers import AutoConfig, AutoModel

    shape = AutoConfig.from_pretrained(bert_dir, local_files_only=True)
    shape.hidden_size, shape.intermediate_size = 2 * shape.hidden_size, 2 * shape.intermediate_size
    checkpoint_vocab = shape.vocab_size
    wider = AutoModel.from_config(shape)
    reranker = Reranker.from_encoder(_config(bert_dir), toy_ontology(), "cpu", local_files_only=True, encoder=wider)
    assert reranker.model.encoder is wider
    assert wider.get_input_embeddings().num_embeddings == len(reranker.tokenizer) > checkpoint_vocab
    mentions = toy_mentions()
    scores = reranker.score(mentions, _ids(toy_candidates(mentions)))
    assert all(torch.isfinite(torch.tensor(row)).all() for row in scores)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_scores_match_cpu(bert_dir, tmp_path):
    mentions = toy_mentions()
    candidate_ids = _ids(toy_candidates(mentions))
    _reranker(bert_dir, crosstype="multi").save(tmp_path / "r")
    on_cpu = Reranker.load(tmp_path / "r", device="cpu").score(mentions, candidate_ids)
    on_gpu = Reranker.load(tmp_path / "r", device="cuda")
    on_gpu.precision = "fp32"
    assert torch.allclose(torch.tensor(sum(on_gpu.score(mentions, candidate_ids), [])), torch.tensor(sum(on_cpu, [])), atol=1e-3)
    on_gpu.precision = "bf16"
    assert torch.allclose(torch.tensor(sum(on_gpu.score(mentions, candidate_ids), [])), torch.tensor(sum(on_cpu, [])), atol=0.1)
