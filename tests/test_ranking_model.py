"""The learned ranker on the synthetic corpus: out-of-fold training, ranking, and its saved directory (no pickle)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

pytest.importorskip("lightgbm", reason="the learned ranker needs lightgbm (pip install 'spacy-xmr[rank]')")

from synthetic import XMR_CONFIG  # noqa: E402

from spacy_xmr.corpus import Mention  # noqa: E402
from spacy_xmr.corpus.gold_rank import rank_of  # noqa: E402
from spacy_xmr.errors import ConfigError, ModelLoadError  # noqa: E402
from spacy_xmr.evaluation import evaluate_candidates  # noqa: E402
from spacy_xmr.ontology import Concept, Ontology  # noqa: E402
from spacy_xmr.ranking import LearnedRanker, RankerConfig, feature_table, ranked_channels, train_ranker  # noqa: E402
from spacy_xmr.ranking.model import BOOSTER_FILE, HEADER_FILE  # noqa: E402
from spacy_xmr.ranking.training import (OutOfFoldLists, document_folds, examples_of_lists, fit_ranker, out_of_fold_lists,  # noqa: E402
                                        ranking_examples)
from spacy_xmr.xmr import CandidateEvidence, XMRConfig  # noqa: E402

SMALL = RankerConfig(top_k=10, folds=2, n_estimators=40, min_data_in_leaf=5)


@pytest.fixture(scope="module")
def ranker(synthetic_ontology, synthetic_mentions) -> LearnedRanker:
    return train_ranker(synthetic_ontology, synthetic_mentions["train"], SMALL, XMRConfig.from_dict(XMR_CONFIG), n_jobs=1)


@pytest.fixture(scope="module")
def dev_evidence(synthetic_model, synthetic_mentions):
    return synthetic_model.channel_scores(synthetic_mentions["dev"], top_k=SMALL.top_k)


def acc_at_1(mentions, ranked, ontology) -> float:
    return evaluate_candidates(mentions, {m.key: r for m, r in zip(mentions, ranked)}, ontology, [1])["acc_at_1"]


def test_the_ranker_reorders_the_xmr_lists_without_adding_or_dropping(ranker, synthetic_model, synthetic_mentions, dev_evidence):
    ranked = ranker.rank(synthetic_mentions["dev"], dev_evidence, synthetic_model.ontology)
    for candidates, evidence in zip(ranked, dev_evidence):
        assert sorted(c for c, _ in candidates) == sorted(e.concept_id for e in evidence)
        scores = [score for _, score in candidates]
        assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0, abs=1e-5)


def test_the_ranker_is_at_least_as_accurate_as_the_xmr_stage_on_dev(ranker, synthetic_model, synthetic_mentions, dev_evidence):
    dev = synthetic_mentions["dev"]
    xmr_alone = [[(e.concept_id, e.score) for e in evidence] for evidence in dev_evidence]
    ranked = ranker.rank_with(synthetic_model, dev)[0]
    assert acc_at_1(dev, ranked, synthetic_model.ontology) >= acc_at_1(dev, xmr_alone, synthetic_model.ontology)
    assert ranker.stats["n_lists_used"] > 0.9 * len(synthetic_mentions["train"])


def test_importances_name_every_feature_and_sum_to_one(ranker):
    importances = ranker.importances()
    assert list(importances) != [] and set(importances) == set(ranker.feature_names)
    assert sum(importances.values()) == pytest.approx(1.0)


def test_save_and_load_give_the_same_rankings_from_text_files(ranker, synthetic_model, synthetic_mentions, tmp_path):
    ranker.save(tmp_path / "ranker")
    assert sorted(p.name for p in (tmp_path / "ranker").iterdir()) == sorted([BOOSTER_FILE, HEADER_FILE])
    header = json.loads((tmp_path / "ranker" / HEADER_FILE).read_text())
    assert header["features"] == ranker.feature_names and header["config"] == SMALL.to_dict()
    assert (tmp_path / "ranker" / BOOSTER_FILE).read_text().startswith("tree")  # LightGBM's text format
    assert header["calibration"]["fitted_on"]["source"] == "out-of-fold"
    loaded = LearnedRanker.load(tmp_path / "ranker")
    dev = synthetic_mentions["dev"]
    assert loaded.rank_with(synthetic_model, dev) == ranker.rank_with(synthetic_model, dev)
    evidence = synthetic_model.channel_scores(dev, top_k=SMALL.top_k)
    confidences = loaded.rank_with_confidence(dev, evidence, synthetic_model.ontology)[1]
    assert confidences == ranker.rank_with_confidence(dev, evidence, synthetic_model.ontology)[1]
    assert all(0.0 <= c <= 1.0 for c in confidences) and len(set(confidences)) > 1


def test_the_confidence_is_fitted_on_every_out_of_fold_list_and_can_be_turned_off(ranker, synthetic_ontology, synthetic_model,
                                                                                  synthetic_mentions, dev_evidence):
    assert ranker.calibrator.fitted_on["n_mentions"] == ranker.stats["n_training_mentions"]  # lists without a gold concept too
    uncalibrated = train_ranker(synthetic_ontology, synthetic_mentions["train"], replace(SMALL, calibration_folds=0),
                                XMRConfig.from_dict(XMR_CONFIG), n_jobs=1)
    ranked, confidences = uncalibrated.rank_with_confidence(synthetic_mentions["dev"], dev_evidence, synthetic_model.ontology)
    assert uncalibrated.calibrator is None and confidences is None and ranked
    with pytest.raises(ConfigError, match="calibration_folds"):
        RankerConfig(calibration_folds=1)


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / HEADER_FILE).unlink(), "not a learned ranker folder \\(it has no ranker.json\\)"),
    (lambda d: (d / BOOSTER_FILE).unlink(), "lightgbm.txt is missing"),
    (lambda d: (d / HEADER_FILE).write_text("{not json"), "corrupt"),
    (lambda d: (d / BOOSTER_FILE).write_text("not a model"), "not a LightGBM model"),
    (lambda d: (d / HEADER_FILE).write_text(json.dumps({**json.loads((d / HEADER_FILE).read_text()), "format_version": 99})),
     "format version 99"),
    (lambda d: (d / HEADER_FILE).write_text(json.dumps({**json.loads((d / HEADER_FILE).read_text()), "channels": ["tree"]})),
     "train the ranker again"),
])
def test_a_damaged_directory_fails_with_a_message_naming_the_problem(ranker, tmp_path, damage, message):
    ranker.save(tmp_path / "ranker")
    damage(tmp_path / "ranker")
    with pytest.raises(ModelLoadError, match=message):
        LearnedRanker.load(tmp_path / "ranker")


def test_folds_keep_each_document_whole():
    mentions = [Mention(f"doc{i % 7}", str(i), 0, 1, "x", gold_ids=["D"]) for i in range(40)]
    folds = document_folds(mentions, 3)
    assert len(set(folds)) == 3
    for document in {m.document_id for m in mentions}:
        assert len({f for m, f in zip(mentions, folds) if m.document_id == document}) == 1
    with pytest.raises(ConfigError, match="folds = 8.*7 document"):
        document_folds(mentions, 8)


def test_lists_without_a_gold_concept_train_nothing_and_none_at_all_is_an_error(synthetic_model, synthetic_mentions, dev_evidence, ranker):
    dev = synthetic_mentions["dev"]
    wrong = [Mention(m.document_id, m.annotation_id, m.start, m.end, m.text, gold_ids=["MESH:NOT-THERE"], document_text=m.document_text)
             for m in dev]
    examples = ranking_examples(wrong, dev_evidence, ranker.facts(synthetic_model.ontology), ranker.channels)
    assert len(examples.group_sizes) == len(dev) and not examples.has_gold.any()  # kept: they calibrate the confidence
    assert examples.n_without_gold_candidate == len(dev)
    with pytest.raises(ConfigError, match="no training mention has a gold concept"):
        fit_ranker(examples, SMALL, ranker.channels, {})


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="top_k"):
        RankerConfig(top_k=1)
    with pytest.raises(ConfigError, match="feature_fraction"):
        RankerConfig.from_dict({"feature_fraction": 1.5})


def test_out_of_fold_examples_count_the_priors_without_their_own_fold():
    ontology = Ontology([Concept("D1", "heart disease"), Concept("D2", "liver failure")])
    mentions = [Mention(document, "1", 0, 5, "heart", gold_ids=[gold]) for document, gold in (("a", "D1"), ("b", "D2"), ("c", "D2"))]
    lists = [[CandidateEvidence("D1", 1.0, {}), CandidateEvidence("D2", 0.5, {})] for _ in mentions]
    examples = examples_of_lists(ontology, OutOfFoldLists(mentions, [0, 1, 2], lists), XMRConfig())
    prior = examples.features[:, [f.name for f in feature_table(ranked_channels(XMRConfig()))].index("prior")]
    # each fold sees the other two mentions: a: {D2: 2}; b and c: {D1: 1, D2: 1}
    assert prior.tolist() == pytest.approx([0.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    assert examples.labels.tolist() == [1, 0, 0, 1, 0, 1]


@pytest.fixture(scope="module")
def training_lists(synthetic_ontology, synthetic_mentions) -> OutOfFoldLists:
    return out_of_fold_lists(synthetic_ontology, synthetic_mentions["train"], SMALL, XMRConfig.from_dict(XMR_CONFIG), n_jobs=1)


def gold_indicator(mentions, lists, ontology) -> list[list[float]]:
    """Cross-encoder scores that know the answer: 1 for a gold candidate, 0 otherwise."""
    return [[float(rank_of([c.concept_id], m.gold_ids, ontology) == 1) for c in candidates] for m, candidates in zip(mentions, lists)]


def test_a_ranker_trained_with_cross_encoder_scores_uses_them_needs_them_and_keeps_them_through_saving(
        training_lists, synthetic_ontology, synthetic_model, synthetic_mentions, dev_evidence, tmp_path):
    xmr_config = XMRConfig.from_dict(XMR_CONFIG)
    scores = gold_indicator(training_lists.mentions, training_lists.evidence, synthetic_ontology)
    examples = examples_of_lists(synthetic_ontology, training_lists, xmr_config, scores)
    ranker = fit_ranker(examples, SMALL, ranked_channels(xmr_config), {})
    assert ranker.with_cross_encoder and ranker.feature_names[-2:] == ["cross_encoder_score", "cross_encoder_rank"]
    dev, ontology = synthetic_mentions["dev"], synthetic_model.ontology
    dev_scores = gold_indicator(dev, dev_evidence, ontology)
    ranked = ranker.rank(dev, dev_evidence, ontology, dev_scores)
    reachable = sum(any(s == 1.0 for s in row) for row in dev_scores) / len(dev)
    xmr_alone = [[(e.concept_id, e.score) for e in evidence] for evidence in dev_evidence]
    assert acc_at_1(dev, ranked, ontology) == pytest.approx(reachable)
    assert reachable > acc_at_1(dev, xmr_alone, ontology)
    with pytest.raises(ConfigError, match="holds no cross-encoder"):
        ranker.rank(dev, dev_evidence, ontology)
    ranker.save(tmp_path / "ranker")
    loaded = LearnedRanker.load(tmp_path / "ranker")
    assert loaded.with_cross_encoder and loaded.rank(dev, dev_evidence, ontology, dev_scores) == ranked
