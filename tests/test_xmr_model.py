"""XMRModel on a real slice (a few hundred MEDIC concepts and their NCBI Disease mentions) and, for its disk format
and prediction settings, on the synthetic model of tests/conftest.py."""
from __future__ import annotations

import dataclasses
import json
import pickle
import random
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.corpus import iter_mentions, read_corpus
from spacy_xmr.errors import ConfigError, ModelLoadError
from spacy_xmr.ontology import Ontology
from spacy_xmr.xmr import XMRConfig, XMRModel, normalize_text
from spacy_xmr.xmr.beam import beam_search
from spacy_xmr.xmr.channels.parent import TIE_STEP, hierarchy_top
from spacy_xmr.xmr.matcher import MINING_BEAM, mine_hard_negatives, node_labels_per_level
from spacy_xmr.xmr.parent_blocks import block_products

SMALL = {"tree": {"max_leaf_size": 16, "branching_factor": 4}, "seed": 3}


def slice_ontology(medic, mentions, n_extra: int = 250, seed: int = 0) -> Ontology:
    """The concepts of `mentions` plus `n_extra` random others (distractors)."""
    wanted = {medic.resolve(g) for m in mentions for g in m.gold_ids} - {None}
    others = sorted(set(medic.ids) - wanted)
    wanted |= set(random.Random(seed).sample(others, n_extra))
    return Ontology([medic[cid] for cid in medic.ids if cid in wanted], name="MEDIC slice")


@pytest.fixture(scope="module")
def ncbi_slice(medic, ncbi_dir):
    dev = [m for m in iter_mentions(read_corpus(ncbi_dir / "NCBIdevelopset_corpus.txt")) if m.gold_ids]
    documents = sorted({m.document_id for m in dev})
    train_docs, test_docs = set(documents[:30]), set(documents[30:45])
    train = [m for m in dev if m.document_id in train_docs]
    test = [m for m in dev if m.document_id in test_docs]
    return slice_ontology(medic, train + test), train, test


@pytest.fixture(scope="module")
def model(ncbi_slice):
    ontology, train, _ = ncbi_slice
    return XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False)


def test_training_uses_aliases_and_mentions(model, ncbi_slice):
    ontology, train, _ = ncbi_slice
    assert model.concept_ids[:len(ontology)] == ontology.ids  # then the gold ids of `train` that the ontology lacks
    assert all(ontology.resolve(extra) is None for extra in model.concept_ids[len(ontology):])
    assert model.stats["n_mentions_used"] + model.stats["n_mentions_skipped"] == len(train)
    assert len(model.channels["tree"].layers) >= 2  # a real tree, not a flat classifier


def test_every_alias_retrieves_its_concept_at_rank_1(model, ncbi_slice):
    ontology = ncbi_slice[0]
    pairs = [(alias, cid) for alias, cid in ontology.aliases() if len(ontology.ids_for_alias(alias)) == 1][:300]
    ranked = model.predict([alias for alias, _ in pairs], top_k=3)
    hits = [ranking[0][0] == cid for ranking, (_, cid) in zip(ranked, pairs)]
    assert np.mean(hits) >= 0.97, [p for p, hit in zip(pairs, hits) if not hit][:10]


def test_candidates_are_sorted_unique_and_bounded(model, ncbi_slice):
    texts = [m.text for m in ncbi_slice[2]]
    for top_k, beam_size in ((1, 1), (5, 2), (30, 10)):
        for ranking in model.predict(texts, top_k=top_k, beam_size=beam_size):
            ids = [cid for cid, _ in ranking]
            scores = [score for _, score in ranking]
            assert 1 <= len(ranking) <= top_k
            assert len(set(ids)) == len(ids)
            assert scores == sorted(scores, reverse=True)
            assert set(ids) <= set(model.concept_ids)


def test_held_out_mentions_are_mostly_found(model, ncbi_slice):
    ontology, _, test = ncbi_slice
    ranked = model.predict_mentions(test, top_k=10)
    gold = [{ontology.resolve(g) for g in m.gold_ids} for m in test]
    at_1 = np.mean([bool(r) and r[0][0] in g for r, g in zip(ranked, gold)])
    at_10 = np.mean([any(cid in g for cid, _ in r) for r, g in zip(ranked, gold)])
    assert at_1 >= 0.75 and at_10 >= 0.85, (at_1, at_10)


def test_empty_inputs(model):
    assert model.predict([]) == []
    assert model.predict(["", "   ", "--", "cancer"])[:3] == [[], [], []]
    assert model.predict_mentions([]) == []
    with pytest.raises(TypeError):
        model.predict("cancer")
    with pytest.raises(ConfigError):
        model.predict(["cancer"], top_k=0)


def test_training_is_deterministic_given_a_seed(model, ncbi_slice):
    ontology, train, test = ncbi_slice
    again = XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False)
    texts = [m.text for m in test]
    assert again.predict(texts, top_k=10) == model.predict(texts, top_k=10)
    for first, second in zip(model.channels["tree"].layers, again.channels["tree"].layers):
        assert (first.weights != second.weights).nnz == 0


def test_matchers_do_not_depend_on_n_jobs(model, ncbi_slice):
    ontology, train, test = ncbi_slice
    sequential = XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False, n_jobs=1)
    parallel = XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False, n_jobs=2)
    assert sum(layer.n_nodes > layer.clusters.shape[1] for layer in parallel.channels["tree"].layers) >= 2  # several parents to share out
    for first, second in zip(sequential.channels["tree"].layers, parallel.channels["tree"].layers):
        for name in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(first.weights, name), getattr(second.weights, name))
        assert np.array_equal(first.bias, second.bias)
    texts = [m.text for m in test]
    assert sequential.predict(texts, top_k=10) == parallel.predict(texts, top_k=10) == model.predict(texts, top_k=10)



def test_matchers_read_rows_in_leaf_order_and_fit_the_weights_of_the_examples_order(model, ncbi_slice, monkeypatch):
    from spacy_xmr.xmr import matcher

    ontology, train, _ = ncbi_slice
    seen = []
    monkeypatch.setattr(matcher, "leaf_order", lambda labels, chain: seen.append((labels, chain)) or np.arange(labels.shape[0]))
    in_examples_order = XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False, n_jobs=2)
    labels, chain = seen[0]  # the model's own (the calibration's out-of-fold models follow)
    monkeypatch.undo()
    order = matcher.leaf_order(labels, chain)
    node = chain[-1].indices[labels.indices[labels.indptr[:-1]]]  # every training string has a label
    assert not np.array_equal(order, np.arange(order.size)) and np.all(np.diff(node[order]) >= 0)  # each node's rows in one stretch
    for first, second in zip(model.channels["tree"].layers, in_examples_order.channels["tree"].layers):
        for name in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(first.weights, name), getattr(second.weights, name))
        assert np.array_equal(first.bias, second.bias)


def test_nodes_routed_too_many_examples_learn_from_a_seeded_sample(model, ncbi_slice):
    ontology, train, test = ncbi_slice
    config = XMRConfig.from_dict({**SMALL, "matcher": {"max_node_examples": 300}})
    assert model.stats["n_examples"] > 300 and XMRConfig.from_dict(SMALL).matcher.max_node_examples > model.stats["n_examples"]
    sequential, parallel = (XMRModel.train(ontology, train, config, progress=False, n_jobs=n) for n in (1, 2))
    assert (sequential.channels["tree"].layers[0].weights != model.channels["tree"].layers[0].weights).nnz > 0  # the root learned from a sample
    for first, second in zip(sequential.channels["tree"].layers, parallel.channels["tree"].layers):
        assert (first.weights != second.weights).nnz == 0  # the same sample whatever the worker order
    gold = [{ontology.resolve(g) for g in m.gold_ids} for m in test]
    ranked = sequential.predict_mentions(test, top_k=10)
    assert np.mean([any(cid in g for cid, _ in r) for r, g in zip(ranked, gold)]) >= 0.85

def test_mined_negatives_are_wrong_nodes_of_the_models_own_beam(model, ncbi_slice):
    ontology, train, _ = ncbi_slice
    texts = [m.text for m in train]
    features = model.featurizer.transform([normalize_text(text) for text in texts])
    concept = {cid: i for i, cid in enumerate(model.concept_ids)}
    labels = sp.csr_matrix(([1.0] * len(train), ([i for i in range(len(train))], [concept[ontology.resolve(m.gold_ids[0])] for m in train])),
                           shape=(len(train), len(model.concept_ids)))
    true_nodes = node_labels_per_level(labels, [layer.clusters for layer in model.channels["tree"].layers])[1]
    upper = model.channels["tree"].layers[:2]
    mined = mine_hard_negatives(features, upper, true_nodes, 2, "l3-hinge")
    beam = beam_search(features, upper, MINING_BEAM, MINING_BEAM, "l3-hinge")
    assert mined.shape == true_nodes.shape and mined.nnz > 0
    assert np.diff(mined.indptr).max() <= 2
    assert mined.multiply(true_nodes).nnz == 0  # never a node that holds the example's label
    assert (mined > 0).multiply(beam > 0).nnz == mined.nnz  # only nodes the beam opened
    by_row = [set(beam[i].indices) - set(true_nodes[i].indices) for i in range(len(texts))]
    assert all(len(set(mined[i].indices)) == min(2, len(wrong)) for i, wrong in enumerate(by_row))
    for i, wrong in enumerate(by_row):  # and the best-scored of them
        left_out = [beam[i, node] for node in wrong - set(mined[i].indices)]
        assert not left_out or mined[i].data.min() >= max(left_out)


def test_training_with_hard_negatives(model, ncbi_slice):
    """The root sees every example either way; the levels below also train on what the beam routes wrongly."""
    ontology, train, test = ncbi_slice
    config = XMRConfig.from_dict({**SMALL, "matcher": {"hard_negatives": 2}})
    sequential, parallel = (XMRModel.train(ontology, train, config, progress=False, n_jobs=n) for n in (1, 2))
    assert (sequential.channels["tree"].layers[0].weights != model.channels["tree"].layers[0].weights).nnz == 0
    assert all((mined.weights != plain.weights).nnz > 0 for mined, plain in zip(sequential.channels["tree"].layers[1:], model.channels["tree"].layers[1:]))
    for first, second in zip(sequential.channels["tree"].layers, parallel.channels["tree"].layers):
        assert (first.weights != second.weights).nnz == 0 and np.array_equal(first.bias, second.bias)
    pairs = [(alias, cid) for alias, cid in ontology.aliases() if len(ontology.ids_for_alias(alias)) == 1][:300]
    ranked = sequential.predict([alias for alias, _ in pairs], top_k=3)
    assert np.mean([r[0][0] == cid for r, (_, cid) in zip(ranked, pairs)]) >= 0.97
    gold = [{ontology.resolve(g) for g in m.gold_ids} for m in test]
    ranked = sequential.predict_mentions(test, top_k=10)
    assert np.mean([any(cid in g for cid, _ in r) for r, g in zip(ranked, gold)]) >= 0.85


def test_label_embeddings_with_name_features_build_another_tree_that_still_finds_aliases(model, ncbi_slice):
    ontology, train, _ = ncbi_slice
    named = XMRModel.train(ontology, train, XMRConfig.from_dict({**SMALL, "tree": {**SMALL["tree"], "name_weight": 0.5}}), progress=False)
    assert (named.channels["tree"].layers[-1].clusters != model.channels["tree"].layers[-1].clusters).nnz > 0
    pairs = [(alias, cid) for alias, cid in ontology.aliases() if len(ontology.ids_for_alias(alias)) == 1][:300]
    ranked = named.predict([alias for alias, _ in pairs], top_k=3)
    assert np.mean([r[0][0] == cid for r, (_, cid) in zip(ranked, pairs)]) >= 0.97


def test_threaded_and_chunked_batches_score_like_one_call_and_like_single_texts(model, ncbi_slice, monkeypatch):
    from spacy_xmr.xmr import model as model_module

    texts = [alias for alias, _ in ncbi_slice[0].aliases()][: 3 * model_module.MIN_ROWS_PER_THREAD] + ["", "cancer"]
    try:
        model.n_jobs = 1
        one = model.score_matrix(texts, top_k=10)
        model.n_jobs = 3
        three = model.score_matrix(texts, top_k=10)
        monkeypatch.setattr(model_module, "MAX_ROWS_PER_CHUNK", 7)
        chunked = model.score_matrix(texts, top_k=10)
    finally:
        model.n_jobs = None
    for other in (three, chunked):
        for name in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(one, name), getattr(other, name))
    assert model.score_matrix([], top_k=10).shape == (0, one.shape[1])
    alone = [model.predict([text], top_k=10)[0] for text in texts[-40:]]
    assert model.predict(texts, top_k=10)[-40:] == alone


def test_beam_search_kernels_give_the_same_scores(model, ncbi_slice, monkeypatch):
    from spacy_xmr.xmr import beam

    texts = [m.text for m in ncbi_slice[2]]
    used = []
    monkeypatch.setattr(beam, "block_products", lambda *args: used.append("blocks") or block_products(*args))
    scores = {}
    for kernel, step_cost in (("product", 10**12), ("blocks", -10**12)):  # a step cost that makes one kernel the cheaper
        monkeypatch.setattr(beam, "SEARCH_STEP_COST", step_cost)
        scores[kernel] = model.score_matrix(texts, top_k=20)
        assert ("blocks" in used) == (kernel == "blocks")
    for name in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(scores["product"], name), getattr(scores["blocks"], name))


def test_save_load_gives_identical_predictions(model, ncbi_slice, tmp_path):
    texts = [m.text for m in ncbi_slice[2]]
    model.save(tmp_path / "xmr")
    loaded = XMRModel.load(tmp_path / "xmr")
    assert loaded.predict(texts, top_k=10) == model.predict(texts, top_k=10)
    assert loaded.config == model.config
    assert loaded.ontology.ids == model.ontology.ids
    assert sorted(p.name for p in (tmp_path / "xmr").iterdir() if p.suffix == ".pkl") == []


def test_pickle_round_trip(model, ncbi_slice):
    texts = [m.text for m in ncbi_slice[2][:20]]
    assert pickle.loads(pickle.dumps(model)).predict(texts) == model.predict(texts)


def test_abbreviations_are_resolved_in_context(model, ncbi_slice):
    mentions = [m for m in ncbi_slice[1] + ncbi_slice[2] if len(m.text) <= 4 and m.text.isupper()]
    assert mentions, "the slice should hold short-form mentions"
    resolved = model.predict_mentions(mentions, top_k=1)
    raw = model.predict_mentions(mentions, top_k=1, resolve_abbreviations=False)
    assert resolved != raw  # the long form changes at least some rankings


def test_a_vague_mention_is_offered_the_concepts_of_its_documents_other_mentions(model, ncbi_slice):
    clear = ncbi_slice[2][0]
    vague = dataclasses.replace(clear, annotation_id="vague", text="the disorder")
    elsewhere = dataclasses.replace(vague, document_id="another document")
    with_document = model.predict_mentions([clear, vague, elsewhere], top_k=8)
    first = with_document[0][0][0]
    assert first in [c for c, _ in with_document[1][6:]]  # a quarter of the 8 slots, at the end
    assert first not in dict(with_document[2]) or first in dict(with_document[2][:6])
    try:
        own = model.configure(document_candidates=0).predict_mentions([clear, vague, elsewhere], top_k=8)
    finally:
        model.configure()
    assert with_document[1][:6] == own[1][:6] and with_document[2] == own[2] and with_document[0][:6] == own[0][:6]


@pytest.fixture()
def saved(synthetic_model_dir, tmp_path):
    """A copy of the synthetic model's folder, to damage."""
    shutil.copytree(synthetic_model_dir, tmp_path / "xmr")
    return tmp_path / "xmr"


def test_load_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        XMRModel.load(tmp_path / "nope")


def test_load_missing_file(saved):
    shutil.rmtree(saved / "layer_0")
    with pytest.raises(ModelLoadError, match="layer_0"):
        XMRModel.load(saved)


def test_load_blocks_that_do_not_match_their_layer(saved):
    np.save(saved / "layer_1" / "blocks_node_lengths.npy", np.zeros(3, dtype=np.int64))
    with pytest.raises(ModelLoadError, match="layer_1: the weights grouped by parent"):
        XMRModel.load(saved)


def test_load_corrupt_array_file(saved):
    (saved / "alias_labels" / "indices.npy").write_bytes(b"not an npy file")
    with pytest.raises(ModelLoadError, match="alias_labels/indices.npy"):
        XMRModel.load(saved)


def test_load_other_format_version(saved):
    header = json.loads((saved / "xmr.json").read_text())
    header["format_version"] = 99
    (saved / "xmr.json").write_text(json.dumps(header))
    with pytest.raises(ModelLoadError, match="version 99"):
        XMRModel.load(saved)


def test_load_not_a_model(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(ModelLoadError, match=r"dir is not an XMR model folder \(it has no xmr.json\); give a folder written by "
                                             r"`spacy-xmr train-xmr`"):
        XMRModel.load(tmp_path / "dir")


@pytest.fixture(scope="module")
def c9_mentions(ncbi_dir):
    """NCBI Disease links "C9 deficiency" to OMIM:613825, which MEDIC 2017 lacks: training-set and dev-set mentions."""
    def linked(name):
        return [m for m in iter_mentions(read_corpus(ncbi_dir / name)) if m.gold_ids == ["OMIM:613825"]]
    return linked("NCBItrainset_corpus.txt"), linked("NCBIdevelopset_corpus.txt")


def test_gold_ids_the_ontology_lacks_are_learned_from_their_mentions(ncbi_slice, c9_mentions, tmp_path):
    ontology, train, _ = ncbi_slice
    c9_train, c9_dev = c9_mentions
    assert "OMIM:613825" not in ontology and c9_train and c9_dev
    trained = XMRModel.train(ontology, train + c9_train, XMRConfig.from_dict(SMALL), progress=False)
    assert trained.concept_ids[:len(ontology)] == ontology.ids and "OMIM:613825" in trained.concept_ids
    assert trained.stats["n_corpus_concepts"] >= 1
    trained.save(tmp_path / "model")
    loaded = XMRModel.load(tmp_path / "model")
    assert loaded.ontology["OMIM:613825"].name == "C9 deficiency"
    ranked = loaded.predict([m.text for m in c9_dev], top_k=5)
    assert all(r[0][0] == "OMIM:613825" for m, r in zip(c9_dev, ranked) if m.text == "C9 deficiency")
    assert all("OMIM:613825" in dict(r) for r in ranked), [(m.text, r) for m, r in zip(c9_dev, ranked)]


def test_without_corpus_concepts_mentions_of_unknown_gold_ids_are_skipped(ncbi_slice, c9_mentions):
    ontology, train, _ = ncbi_slice
    config = XMRConfig.from_dict({**SMALL, "training": {"corpus_concepts": False}})
    trained = XMRModel.train(ontology, train[:20] + c9_mentions[0], config, progress=False)
    assert trained.stats["n_mentions_skipped"] == len(c9_mentions[0]) and trained.stats["n_corpus_concepts"] == 0
    assert trained.concept_ids == ontology.ids


def test_normalisation_is_shared_by_exact_channel(model, ncbi_slice):
    ontology = ncbi_slice[0]
    concept = next(c for c in ontology if len(ontology.ids_for_alias(c.name)) == 1 and len(normalize_text(c.name)) > 8)
    shouted = f"  {concept.name.upper().replace(' ', ' - ')}  "
    assert model.predict([shouted], top_k=1)[0][0][0] == concept.id


def test_parent_channel_adds_parents_below_their_child(ncbi_slice):
    """With the parent channel, a parent of the best candidate is among the candidates at
    `parent_weight` of its score (or its own, higher, score); without it the rankings are the
    tree and string channels' alone."""
    ontology, train, test = ncbi_slice
    with_parents = XMRModel.train(ontology, train, XMRConfig.from_dict(SMALL), progress=False)
    without = XMRModel.train(ontology, train, XMRConfig.from_dict({**SMALL, "fusion": {"parent_weight": 0.0}}), progress=False)
    texts = [m.text for m in test]
    checked = 0
    for ranked, plain in zip(with_parents.predict(texts, top_k=50), without.predict(texts, top_k=50)):
        best, best_score = ranked[0]
        scores, plain_scores = dict(ranked), dict(plain)
        assert plain[0] == (best, best_score)  # the parent channel never changes the top candidate's score
        for parent in {ontology.resolve(p) for p in ontology[best].parents} - {None} - set().union(*hierarchy_top(ontology, ontology.ids)):
            expected = max(plain_scores.get(parent, 0.0), 0.7 * best_score)
            if len(ranked) < 50 or expected >= ranked[-1][1]:  # below a tying parent by at most its place's TIE_STEPs
                assert scores.get(parent) == pytest.approx(expected, rel=TIE_STEP * 50), (best, parent)
                checked += 1
    assert checked >= 10


# ---- prediction settings and older formats, on the synthetic model ---------------------------------------------
def test_load_with_prediction_settings_leaves_the_saved_model_unchanged(synthetic_model, synthetic_model_dir, synthetic_mentions, tmp_path):
    mentions = synthetic_mentions["dev"]
    loaded = XMRModel.load(synthetic_model_dir, document_candidates=0, channel_weights={"tree": 0.0, "parent": 0.0}, n_jobs=1)
    assert loaded.config == synthetic_model.config and loaded.n_jobs == 1
    assert loaded.prediction_config.fusion.document_candidates == 0 and loaded.prediction_config.fusion.tree_weight == 0
    evidence = loaded.channel_scores(mentions, top_k=12)
    seen = {name for candidates in evidence for c in candidates for name in c.channels}
    assert seen == {"exact", "word_key", "nearest"}  # no tree, parent or document slots
    assert [[(c.concept_id, c.score) for c in r] for r in evidence] == loaded.predict_mentions(mentions, top_k=12)
    assert loaded.predict_mentions(mentions, top_k=12) != synthetic_model.predict_mentions(mentions, top_k=12)
    loaded.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "xmr.json").read_text())["config"] == synthetic_model.config.to_dict()
    assert XMRModel.load(tmp_path / "again").predict_mentions(mentions, top_k=12) == synthetic_model.predict_mentions(mentions, top_k=12)


def test_configure_sets_the_prediction_settings_of_a_trained_model(synthetic_model, synthetic_model_dir, synthetic_mentions):
    mentions = synthetic_mentions["dev"]
    before = synthetic_model.predict_mentions(mentions, top_k=12)
    try:
        configured = synthetic_model.configure(document_candidates=0, channel_weights={"nearest": 0.0}).predict_mentions(mentions, top_k=12)
        with pytest.raises(ConfigError, match="document_candidates"):
            synthetic_model.configure(document_candidates=-1)
    finally:
        synthetic_model.configure()
    loaded = XMRModel.load(synthetic_model_dir, document_candidates=0, channel_weights={"nearest": 0.0})
    assert configured == loaded.predict_mentions(mentions, top_k=12) != before
    assert synthetic_model.predict_mentions(mentions, top_k=12) == before


def test_beam_size_setting_is_the_default_beam(synthetic_model_dir, synthetic_mentions):
    texts = [m.text for m in synthetic_mentions["dev"]]
    narrow = XMRModel.load(synthetic_model_dir, beam_size=1)
    assert narrow.predict(texts, top_k=20) == narrow.predict(texts, top_k=20, beam_size=1)
    assert narrow.predict(texts, top_k=20) != narrow.predict(texts, top_k=20, beam_size=10)


@pytest.mark.parametrize("settings,key", [
    ({"document_slots": 0}, "document_slots"),
    ({"document_candidates": -1}, "document_candidates"),
    ({"document_candidates": "3"}, "document_candidates"),
    ({"beam_size": 0}, "beam_size"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"dense_device": "gpu"}, "dense_device"),
    ({"channel_weights": {"trees": 1.0}}, "channel_weights"),
    ({"channel_weights": {"tree": -1.0}}, "channel_weights"),
    ({"channel_weights": {"parent": 1.0}}, "channel_weights"),  # a parent never outranks its child
    ({"max_postings": -1}, "max_postings"),
])
def test_a_bad_prediction_setting_is_named(synthetic_model_dir, settings, key):
    with pytest.raises(ConfigError, match=key):
        XMRModel.load(synthetic_model_dir, **settings)


def v2_layout(config: dict) -> dict:
    """A format-3 config dict as format 2 wrote it: every channel setting inside `fusion`."""
    from spacy_xmr.xmr.format_versions import V2_FUSION_KEYS

    old = {section: dict(values) if isinstance(values, dict) else values for section, values in config.items()}
    for old_key, (section, key) in V2_FUSION_KEYS.items():
        old["fusion"][old_key] = old[section].pop(key)
    old["parent"].pop("exclude_top_level")  # settings format 2 did not have: their defaults apply on load
    old["nearest"].pop("max_postings")
    old["nearest"].pop("tree_candidates")
    for section in ("nearest", "word_key", "parent"):
        assert not old.pop(section)
    return old


def test_a_format_2_model_folder_loads_and_predicts_the_same(synthetic_model, saved, synthetic_mentions):
    header = json.loads((saved / "xmr.json").read_text())
    header.update(format_version=2, config=v2_layout(header["config"]), n_layers=4)
    (saved / "xmr.json").write_text(json.dumps(header))
    assert "nn_index_terms" in header["config"]["fusion"] and "tree_weight" in header["config"]["fusion"]
    loaded = XMRModel.load(saved)
    assert loaded.config == synthetic_model.config
    mentions = synthetic_mentions["dev"]
    assert loaded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
