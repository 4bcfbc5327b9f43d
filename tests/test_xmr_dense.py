"""The dense channel: a tiny random BERT built here (no download) embeds strings, the index scores concepts by
their closest string, and an XMR model carries the channel through training, fusion, save and load."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("transformers")

from rerank_support import toy_mentions, toy_ontology, write_tiny_bert  # noqa: E402

from spacy_xmr.errors import ConfigError, ModelLoadError  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel, normalize_text  # noqa: E402
from spacy_xmr.xmr.config import DenseConfig, TrainingDataConfig  # noqa: E402
from spacy_xmr.xmr.dense import EMBEDDINGS_FILE, ENCODER_DIR, DenseEncoder, DenseIndex  # noqa: E402
from spacy_xmr.xmr.dense_training import DenseTrainingConfig, train_dense_encoder  # noqa: E402
from spacy_xmr.xmr.training_data import build_training_data  # noqa: E402

QUERIES = ["breast cancer", "lung tumour", "cardiac failures", "renal", "colon carcinoma of the heart"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def dense_config(tiny_bert, **overrides) -> dict:
    """A small tree, no parent channel (so fused scores are plain sums), and the tiny encoder."""
    return {"tree": {"max_leaf_size": 2, "branching_factor": 2}, "fusion": {"parent_weight": 0.0},
            "dense": {"encoder": str(tiny_bert), "device": "cpu", **overrides}}


@pytest.fixture(scope="module")
def dense_model(tiny_bert):
    return XMRModel.train(toy_ontology(), toy_mentions(), XMRConfig.from_dict(dense_config(tiny_bert)), progress=False)


def test_encoder_gives_unit_rows_whatever_the_batching(tiny_bert):
    texts = [normalize_text(alias) for alias, _ in toy_ontology().aliases()]
    one_batch = DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu")).encode(texts)
    small_batches = DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu", batch_size=3)).encode(texts)
    assert one_batch.shape == (len(texts), 32)
    np.testing.assert_allclose(np.linalg.norm(one_batch, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(one_batch, small_batches, atol=1e-5)
    cls_pooled = DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu", pooling="cls")).encode(texts)
    assert not np.allclose(one_batch, cls_pooled, atol=1e-3)


def test_index_scores_each_concept_by_its_closest_string_cubed(dense_model):
    index = dense_model.channels["dense"].index
    keys = [normalize_text(q) for q in QUERIES]
    scores = index.scores(keys).toarray()
    cosines = index.encoder.encode(keys) @ index.embeddings.T
    labels = index.labels.toarray() > 0
    expected = np.stack([np.where(labels, np.maximum(row, 0)[:, None] ** 3, 0).max(axis=0) for row in cosines])
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert scores[0, dense_model.concept_ids.index("MESH:D001943")] == pytest.approx(1.0, abs=1e-5)  # its own name


def test_index_keeps_only_the_nearest_strings(dense_model, tiny_bert):
    narrow = DenseIndex(DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cpu", top_aliases=1)),
                        dense_model.channels["dense"].index.embeddings, dense_model.channels["dense"].index.labels)
    scores = narrow.scores([normalize_text(q) for q in QUERIES])
    full = dense_model.channels["dense"].index.scores([normalize_text(q) for q in QUERIES]).toarray()
    for row in range(len(QUERIES)):
        kept = scores[row].indices
        assert 1 <= len(kept) <= 2  # the concepts of one string (an alias may name several)
        assert scores[row].data.max() == pytest.approx(full[row].max(), abs=1e-6)


def test_fusion_adds_the_weighted_dense_scores(dense_model):
    keys = [normalize_text(q) for q in QUERIES]
    dense = dense_model.channels["dense"].index.scores(keys, dense_model.examples.are_examples(keys)).toarray()
    assert not dense[0].any() and dense[1:].any(axis=1).all()  # "breast cancer" is an example string
    with_dense = dense_model.score_matrix(QUERIES, top_k=6).toarray()
    weight = dense_model.config.fusion.dense_weight
    try:
        without = dense_model.configure(channel_weights={"dense": 0.0}).score_matrix(QUERIES, top_k=6).toarray()
    finally:
        dense_model.configure()
    both = (with_dense > 0) & (without > 0)
    assert both.sum() >= len(QUERIES)
    np.testing.assert_allclose(with_dense[both], (without + weight * dense)[both], rtol=1e-4, atol=1e-5)
    assert not np.allclose(with_dense, without)


def test_save_and_load_carry_the_encoder_and_embeddings(dense_model, tmp_path):
    dense_model.save(tmp_path / "model")
    assert (tmp_path / "model" / ENCODER_DIR / "config.json").is_file()
    assert (tmp_path / "model" / EMBEDDINGS_FILE / "embeddings.npy").is_file()
    loaded = XMRModel.load(tmp_path / "model")
    before, after = dense_model.predict(QUERIES, top_k=5), loaded.predict(QUERIES, top_k=5)
    for ranking_before, ranking_after in zip(before, after):
        assert [c for c, _ in ranking_before] == [c for c, _ in ranking_after]
        np.testing.assert_allclose([s for _, s in ranking_before], [s for _, s in ranking_after], rtol=2e-3)  # float16 on disk


def test_load_moves_the_encoder_to_the_dense_device_setting(dense_model, tmp_path):
    dense_model.save(tmp_path / "model")
    loaded = XMRModel.load(tmp_path / "model", dense_device="cpu")
    assert loaded.channels["dense"].index.encoder.device.type == "cpu" and loaded.config.dense.device == dense_model.config.dense.device
    with pytest.raises(ConfigError, match="dense_device"):
        XMRModel.load(tmp_path / "model", dense_device="gpu")


def test_load_without_the_dense_files_names_them(dense_model, tmp_path):
    dense_model.save(tmp_path / "model")
    (tmp_path / "model" / EMBEDDINGS_FILE / "embeddings.npy").write_bytes(b"not an npy file")
    with pytest.raises(ModelLoadError, match=EMBEDDINGS_FILE):
        XMRModel.load(tmp_path / "model")
    dense_model.save(tmp_path / "other")
    shutil.rmtree(tmp_path / "other" / ENCODER_DIR)
    with pytest.raises(ModelLoadError, match="dense encoder"):
        XMRModel.load(tmp_path / "other")


def test_unknown_encoder_is_a_clear_error(tmp_path):
    config = XMRConfig.from_dict({"dense": {"encoder": str(tmp_path / "no-such-encoder"), "device": "cpu"}})
    with pytest.raises(ModelLoadError, match="no-such-encoder"):
        XMRModel.train(toy_ontology(), toy_mentions(), config, progress=False)


@pytest.mark.parametrize("field, value", [("pooling", "max"), ("device", "gpu"), ("top_aliases", 0), ("batch_size", 0)])
def test_config_rejects_bad_dense_fields(field, value):
    with pytest.raises(ConfigError, match=f"dense.{field}"):
        XMRConfig.from_dict({"dense": {field: value}})


def test_model_without_encoder_has_no_dense_channel():
    model = XMRModel.train(toy_ontology(), toy_mentions(), XMRConfig.from_dict({"tree": {"max_leaf_size": 2}}), progress=False)
    assert "dense" not in model.channels


def test_pipeline_with_a_dense_model_round_trips(dense_model, tmp_path):
    spacy = pytest.importorskip("spacy")
    dense_model.save(tmp_path / "model")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "Disease", "pattern": p} for p in ("lung tumour", "cardiac failures", "breast cancer")])
    nlp.add_pipe("xmr_linker", config={"model": str(tmp_path / "model"), "top_k": 3})
    text = "Patients with lung tumour or cardiac failures, and one with breast cancer."

    def linked(pipeline):
        return [(e.text, e.kb_id_, [(c, round(s, 2)) for c, s in e._.xmr_candidates]) for e in pipeline(text).ents]

    expected = linked(nlp)
    assert len(expected) == 3 and all(candidates for _, _, candidates in expected)
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(tmp_path / "model")  # the pipeline folder holds its own copy, encoder included
    assert (tmp_path / "pipeline" / "xmr_linker" / "model" / ENCODER_DIR).is_dir()
    assert linked(spacy.load(tmp_path / "pipeline")) == expected


@pytest.fixture
def encoded(dense_model, monkeypatch):
    """The lists of texts the dense model's encoder is asked to encode, call by call."""
    calls = []
    original = dense_model.channels["dense"].index.encoder.encode
    monkeypatch.setattr(dense_model.channels["dense"].index.encoder, "encode", lambda texts, progress=False: calls.append(list(texts)) or original(texts))
    return calls


def test_repeated_keys_are_encoded_once_and_scored_alike(dense_model, encoded):
    keys = ["lung tumour", "renal", "lung tumour", "renal", "heart"]
    scores = dense_model.channels["dense"].index.scores(keys).toarray()
    assert sorted(encoded[0]) == ["heart", "lung tumour", "renal"]
    np.testing.assert_array_equal(scores[0], scores[2])
    np.testing.assert_array_equal(scores[1], scores[3])
    np.testing.assert_allclose(scores[4], dense_model.channels["dense"].index.scores(["heart"]).toarray()[0], atol=1e-6)


def test_example_strings_get_no_dense_scores(dense_model, encoded):
    keys = ["breast cancer", "renal failure", "lung tumour"]
    examples = dense_model.examples.are_examples(keys)
    assert examples.tolist() == [True, True, False]
    fresh = dense_model.channels["dense"].index.scores(keys).toarray()
    encoded.clear()  # count the calls of the scoring that knows the example strings
    scores = dense_model.channels["dense"].index.scores(keys, examples).toarray()
    assert encoded == [["lung tumour"]]
    assert not scores[:2].any()
    np.testing.assert_allclose(scores[2], fresh[2], atol=1e-6)
    assert dense_model.channels["dense"].index.scores(keys, np.ones(3, bool)).nnz == 0 and encoded == [["lung tumour"]]


@pytest.mark.gpu
def test_cuda_dense_channel_matches_cpu(dense_model, tiny_bert):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    on_gpu = DenseIndex(DenseEncoder.from_pretrained(tiny_bert, DenseConfig(device="cuda")), dense_model.channels["dense"].index.embeddings,
                        dense_model.channels["dense"].index.labels)
    assert next(on_gpu.encoder.model.parameters()).device.type == "cuda"
    keys = [normalize_text(q) for q in QUERIES]
    np.testing.assert_allclose(on_gpu.scores(keys).toarray(), dense_model.channels["dense"].index.scores(keys).toarray(), atol=0.05)  # bf16 autocast
    data = build_training_data(toy_ontology(), [], TrainingDataConfig())
    aligned = train_dense_encoder(on_gpu.encoder, data.keys, data.labels,  # mixed precision on CUDA
                                  DenseTrainingConfig(epochs=10, batch_size=8, lr=1e-3), progress=False)
    assert aligned["epoch_losses"][-1] < aligned["epoch_losses"][0]


def test_a_model_asking_for_a_missing_gpu_names_the_field(dense_model, tmp_path, monkeypatch):
    import torch

    dense_model.save(tmp_path / "model")
    header = json.loads((tmp_path / "model" / "xmr.json").read_text())
    header["config"]["dense"]["device"] = "cuda"
    (tmp_path / "model" / "xmr.json").write_text(json.dumps(header))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"xmr\.json: dense\.device.*dense_device"):
        XMRModel.load(tmp_path / "model")
    on_cpu = XMRModel.load(tmp_path / "model", dense_device="cpu").predict(QUERIES, top_k=5)
    assert [[c for c, _ in r] for r in on_cpu] == [[c for c, _ in r] for r in dense_model.predict(QUERIES, top_k=5)]
