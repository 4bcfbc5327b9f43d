"""Each scoring channel on the synthetic model: scores in range, saved and loaded by itself, indexes read not rebuilt."""
from __future__ import annotations

import numpy as np
import pytest

from spacy_xmr.errors import ModelLoadError
from spacy_xmr.xmr import XMRConfig, normalize_text
from spacy_xmr.xmr.channels import CHANNELS, ModelParts, QueryBatch
from spacy_xmr.xmr.channels.parent import TIE_STEP, hierarchy_top
from spacy_xmr.xmr.fusion import channel_weights

TEXTS = ["cardiac disease", "Renal Diseases", "nephritis syndrome type 2", "hepatomegaly", "zzz unknown", ""]


def queries(model, top_k: int = 10) -> QueryBatch:
    keys = [normalize_text(text) for text in TEXTS]
    return QueryBatch(keys, lambda: model.featurizer.transform(keys), top_k, beam_size=10)


def test_every_weighted_channel_but_the_post_fusion_ones_is_a_scoring_channel(synthetic_model):
    assert [channel.name for channel in CHANNELS] == [name for name in channel_weights(XMRConfig().fusion) if name != "parent"]
    assert list(synthetic_model.channels) == ["tree", "exact", "word_key", "nearest"]  # no encoder: no dense channel


@pytest.mark.parametrize("name", ["tree", "exact", "word_key", "nearest"])
def test_channel_scores_are_queries_by_concepts_in_0_1(synthetic_model, name):
    scores = synthetic_model.channels[name].score(queries(synthetic_model))
    assert scores.shape == (len(TEXTS), len(synthetic_model.concept_ids))
    assert scores.nnz > 0 and scores.data.min() > 0 and scores.data.max() <= 1 + 1e-6
    assert scores[len(TEXTS) - 1].nnz == 0 or name == "tree"  # an empty key matches no string


@pytest.mark.parametrize("name", ["tree", "exact", "word_key", "nearest"])
def test_a_channel_saves_and_loads_itself(synthetic_model, name, tmp_path):
    channel = synthetic_model.channels[name]
    channel.prepare()
    channel.save(tmp_path)
    parts = ModelParts(tmp_path, synthetic_model.examples, synthetic_model.featurizer.n_features, synthetic_model.config)
    loaded = type(channel).load(parts)
    batch = queries(synthetic_model)
    assert (loaded.score(batch) != channel.score(batch)).nnz == 0


def test_a_loaded_model_reads_its_prediction_indexes_instead_of_building_them(synthetic_model_dir, monkeypatch):
    from spacy_xmr.xmr import XMRModel
    from spacy_xmr.xmr.channels import nearest, word_key

    loaded = XMRModel.load(synthetic_model_dir)
    for module, builder in ((nearest, "top_k_per_row"), (word_key, "learn_rewrites"), (word_key, "word_key")):
        monkeypatch.setattr(module, builder, lambda *args, **kwargs: pytest.fail(f"{builder} called"))
    monkeypatch.setattr(word_key.WordSetHashes, "of", classmethod(lambda cls, keys: pytest.fail("set hashes computed")))
    loaded.channels["nearest"].prepare()
    loaded.channels["word_key"].prepare()


@pytest.mark.parametrize("index_file", ["term_index/indices.npy", "word_labels/data.npy", "rewrites.json", "layer_1/bias.npy",
                                        "word_key_hashes/rows.npy"])
def test_a_corrupt_channel_file_is_named(synthetic_model_dir, tmp_path, index_file):
    import shutil

    from spacy_xmr.xmr import XMRModel

    copy = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, copy)
    (copy / index_file).write_bytes(b"not an index")
    with pytest.raises(ModelLoadError, match=index_file):
        XMRModel.load(copy)


@pytest.mark.parametrize("index_file", ["term_index", "word_keys.json", "rewrites.json", "word_key_hashes"])
def test_a_model_saved_without_an_index_builds_it_on_first_use(synthetic_model, synthetic_model_dir, tmp_path, index_file):
    import shutil

    from spacy_xmr.xmr import XMRModel

    copy = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, copy)
    if (copy / index_file).is_dir():
        shutil.rmtree(copy / index_file)
    else:
        (copy / index_file).unlink()
    if index_file == "word_keys.json":
        shutil.rmtree(copy / "word_labels")
        shutil.rmtree(copy / "word_key_table")
    assert XMRModel.load(copy).predict(TEXTS, top_k=10) == synthetic_model.predict(TEXTS, top_k=10)


def test_parent_channel_scores_each_parent_at_its_best_childs_fused_score(synthetic_model, synthetic_ontology):
    fused = synthetic_model.score_matrix(TEXTS[:4], top_k=30)
    parents = synthetic_model.parent.rescore(fused)
    column = {cid: i for i, cid in enumerate(synthetic_model.concept_ids)}
    root, categories = hierarchy_top(synthetic_ontology, synthetic_model.concept_ids)
    assert parents.nnz > 0 and root and categories
    for row in range(4):
        best = fused[row].toarray().ravel()
        top = np.argsort(-best, kind="stable")[:synthetic_model.config.parent.top_children]
        found = parents[row].toarray().ravel()
        assert not found[[column[c] for c in root | categories]].any()  # the root and its children generalise everything
        for child in top[best[top] > 0]:
            for parent in set(synthetic_ontology[synthetic_model.concept_ids[child]].parents) - root - categories:
                assert found[column[parent]] >= best[child] * (1 - TIE_STEP * parents[row].nnz) - 1e-6
        stored = found[found > 0]
        assert len(set(stored.tolist())) == len(stored)  # no two parents tie


def nearest_channel(model, max_postings: int):
    from dataclasses import replace

    from spacy_xmr.xmr.channels.nearest import NearestChannel

    return NearestChannel(model.examples, replace(model.config.nearest, max_postings=max_postings))


def test_the_term_index_keeps_each_terms_heaviest_strings(synthetic_model):
    every, bounded = nearest_channel(synthetic_model, 0).term_index(), nearest_channel(synthetic_model, 3).term_index()
    lengths = np.diff(every.indptr)
    assert lengths.max() > 3 and np.array_equal(np.diff(bounded.indptr), np.minimum(lengths, 3))
    for term in np.flatnonzero(lengths > 3):
        row, kept = every[term].toarray().ravel(), bounded[term].toarray().ravel()
        assert np.array_equal(kept[kept > 0], row[kept > 0])  # the strings' own weights
        assert kept[kept > 0].min() >= row[kept == 0].max()  # and none lighter than a string left out


def test_max_postings_at_prediction_cuts_the_trained_index_or_builds_a_longer_one(synthetic_model):
    from spacy_xmr.xmr import XMRConfig

    batch = queries(synthetic_model)
    trained_with = {cap: nearest_channel(synthetic_model, cap) for cap in (0, 1)}
    scores = {cap: channel.score(batch) for cap, channel in trained_with.items()}
    assert (scores[0] != scores[1]).nnz > 0  # one string per term loses some of the nearest strings
    for trained, asked in ((0, 1), (1, 0)):
        channel = trained_with[trained]
        channel.prepare(XMRConfig.from_dict({"nearest": {"max_postings": asked}}))
        assert (channel.score(batch) != scores[asked]).nnz == 0, (trained, asked)
    assert np.diff(trained_with[0].term_index().indptr).max() > 1  # the trained index, the one saved, is not cut


def spelled_word_key_matches(channel, keys: list[str]):
    """The word-key channel's scores as found by spelling out every key tried (own, substituted, dropped) and looking
    it up as a string: what `match` finds by set hashes."""
    from spacy_xmr.xmr.normalize import word_key
    from spacy_xmr.xmr.sparse_ops import max_over_mapped

    settings, rewrites = channel.settings, channel.rewrites()
    queries, weights, tried = [], [], []
    for query, text in enumerate(keys):
        key = word_key(text)
        if not key:
            continue
        words = frozenset(key.split())
        substituted, dropped = rewrites.variants(words)
        for variant, weight in [(words, 1.0)] + [(v, settings.substitution_weight) for v in substituted] + \
                [(v, settings.drop_weight) for v in dropped]:
            if weight > 0:
                queries.append(query), weights.append(weight), tried.append(" ".join(sorted(variant)))
    rows = channel._word_keys.rows_of(tried)
    found = rows >= 0
    matches = max_over_mapped(np.array(queries)[found], np.array(weights, dtype=np.float32)[found],
                              channel._word_labels[rows[found]], (len(keys), channel.examples.n_concepts), weighted=True)
    return matches, int((found & (np.array(weights) < 1)).sum())


@pytest.mark.parametrize("colliding", [False, True])
def test_word_keys_looked_up_by_set_hash_match_the_spelled_keys(synthetic_model, synthetic_mentions, monkeypatch, colliding):
    from spacy_xmr.xmr import word_set_hashes

    channel = synthetic_model.channels["word_key"]
    keys = [normalize_text(text) for text in TEXTS + [mention.text for mention in synthetic_mentions["dev"]]]
    if colliding:  # every key of n words hashes to n: only the comparison of the spelled keys tells them apart
        monkeypatch.setattr(word_set_hashes, "word_hash", lambda word: 1)
        monkeypatch.setattr(channel, "_word_hashes", None)
        monkeypatch.setattr(channel, "_edits", None)
    expected, rewritten = spelled_word_key_matches(channel, keys)
    assert rewritten > 0 and expected.nnz > 0  # substituted or dropped keys were found, not only the queries' own
    assert (channel.match(keys) != expected).nnz == 0


def test_word_key_hashes_that_do_not_match_the_word_keys_fail_the_load(synthetic_model_dir, tmp_path):
    import shutil

    from spacy_xmr.xmr import XMRModel

    copy = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, copy)
    for name in ("hashes", "rows"):
        np.save(copy / "word_key_hashes" / f"{name}.npy", np.zeros(3, dtype=np.uint64 if name == "hashes" else np.int64))
    with pytest.raises(ModelLoadError, match="word_key_hashes: 3 hashes for"):
        XMRModel.load(copy)
