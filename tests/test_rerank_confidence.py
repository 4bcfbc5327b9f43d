"""The reranker's own confidence: its evidence, its fit on validation mentions, its file in the reranker directory,
and `train_reranker` fitting it on the validation corpus."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spacy_xmr.errors import ModelLoadError
from spacy_xmr.rerank import Reranker, RerankerConfig, accuracy_at_1, train_reranker
from spacy_xmr.rerank.confidence import FEATURE_NAMES, confidence_features, fit_calibrator
from spacy_xmr.rerank.reranker import CALIBRATION_FILE
from rerank_support import copies, synthetic_rankings, toy_candidates, toy_mentions, toy_ontology, write_tiny_bert


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("bert"))


def test_features_describe_the_reranked_top_candidate():
    xmr = [("A", 5.0), ("B", 3.0), ("C", 1.0)]
    reranked = [("B", 2.0), ("A", 1.0), ("C", -1.0)]
    total = math.exp(2.0) + math.exp(1.0) + math.exp(-1.0)
    features = dict(zip(FEATURE_NAMES, confidence_features(xmr, reranked)))
    assert features == pytest.approx({"top_score": 2.0, "top_probability": math.exp(2.0) / total,
                                      "probability_margin": (math.exp(2.0) - math.exp(1.0)) / total,
                                      "xmr_score": 3.0, "agrees_with_xmr": 0.0})
    alone = dict(zip(FEATURE_NAMES, confidence_features([("A", 5.0)], [("A", 0.5)])))
    assert alone["top_probability"] == alone["probability_margin"] == 1.0 and alone["agrees_with_xmr"] == 1.0
    assert confidence_features([], []) == [0.0] * len(FEATURE_NAMES)


def test_confidence_rises_with_the_top_score_and_matches_accuracy():
    mentions = copies(20)
    candidates, reranked = synthetic_rankings(mentions)
    calibrator = fit_calibrator(mentions, candidates, reranked, toy_ontology())
    assert calibrator.fitted_on["source"] == "validation" and calibrator.fitted_on["n_mentions"] == len(mentions)
    assert calibrator.fitted_on["accuracy"] == accuracy_at_1(mentions, reranked, toy_ontology())
    # raise the top candidate's score, the rest of its list and the XMR stage's evidence unchanged
    (top, _), (second, _) = reranked[0]
    rows = [confidence_features(candidates[0], [(top, score), (second, -4.0)]) for score in np.linspace(-3, 3, 25)]
    rising = calibrator.predict(np.array(rows))
    assert np.all((rising >= 0) & (rising <= 1)) and np.all(np.diff(rising) >= 0)
    assert rising[0] < 0.3 and rising[-1] > 0.7
    # calibrated: in the upper half of the confidence the share right is close to the mean confidence there
    confidence = np.array(calibrator.predict(np.array([confidence_features(c, r) for c, r in zip(candidates, reranked)])))
    right = np.array([r[0][0] == m.gold_ids[0] for m, r in zip(mentions, reranked)])
    upper = confidence >= 0.5
    assert abs(confidence[upper].mean() - right[upper].mean()) < 0.05


def test_too_few_or_one_sided_validation_mentions_give_no_calibrator(caplog):
    mentions = copies(20)
    candidates, reranked = synthetic_rankings(mentions)
    assert fit_calibrator(mentions[:5], candidates[:5], reranked[:5], toy_ontology()) is None
    all_right = [[(m.gold_ids[0], 1.0), ("x", 0.0)] for m in mentions]
    assert fit_calibrator(mentions, candidates, all_right, toy_ontology()) is None
    assert "reranker without calibration" in caplog.text


def test_calibrator_is_saved_and_loaded_with_the_reranker_and_old_directories_still_load(bert_dir, tmp_path):
    mentions = copies(20)
    candidates, reranked = synthetic_rankings(mentions)
    reranker = Reranker.from_encoder(RerankerConfig(model_name=str(bert_dir), max_length=128, max_candidate_tokens=12),
                                     toy_ontology(), device="cpu")
    assert reranker.confidence(candidates, reranked) is None
    reranker.calibrator = fit_calibrator(mentions, candidates, reranked, toy_ontology())
    expected = reranker.confidence(candidates, reranked)
    reranker.save(tmp_path / "calibrated")
    loaded = Reranker.load(tmp_path / "calibrated", device="cpu")
    assert loaded.calibrator.to_dict() == reranker.calibrator.to_dict()
    assert loaded.confidence(candidates, reranked) == expected
    assert loaded.confidence([[]], [[]]) == [0.0]  # no candidates: certainly no right link

    reranker.calibrator = None  # what training without validation mentions, or an earlier spacy-xmr, wrote
    reranker.save(tmp_path / "old")
    assert not (tmp_path / "old" / CALIBRATION_FILE).exists()
    assert Reranker.load(tmp_path / "old", device="cpu").confidence(candidates, reranked) is None

    stored = json.loads((tmp_path / "calibrated" / CALIBRATION_FILE).read_text())
    (tmp_path / "calibrated" / CALIBRATION_FILE).write_text(json.dumps({**stored, "feature_names": ["top_score"]}))
    with pytest.raises(ModelLoadError, match=f"{CALIBRATION_FILE}.*train the model again"):
        Reranker.load(tmp_path / "calibrated", device="cpu")


def test_training_calibrates_the_best_model_on_the_validation_mentions(bert_dir, tmp_path):
    train = toy_mentions()
    validation = copies(3)
    val_candidates = toy_candidates(validation)  # the gold candidate first for half of the mentions
    config = RerankerConfig(model_name=str(bert_dir), max_length=128, max_candidate_tokens=12, epochs=2, batch_size=10,
                            lr=5e-3, head_lr=5e-2, warmup_ratio=0.0, top_k=4)
    summary = train_reranker(config, train, toy_candidates(train), validation, val_candidates, toy_ontology(), tmp_path,
                             progress=False, device="cpu")
    best = Reranker.load(summary["model_dir"], device="cpu")
    assert best.calibrator is not None and summary["calibration"] == best.calibrator.fitted_on
    assert summary["calibration"]["n_mentions"] == len(validation)
    # fitted on the saved model's own rankings: its acc@1 there is the one the calibrator records
    reranked = best.rerank(validation, val_candidates)
    assert summary["calibration"]["accuracy"] == pytest.approx(accuracy_at_1(validation, reranked, toy_ontology()))
    confidence = best.confidence(val_candidates, reranked)
    assert len(confidence) == len(validation) and all(0.0 <= c <= 1.0 for c in confidence)

    untuned = train_reranker(config, train, toy_candidates(train), [], [], toy_ontology(), tmp_path / "no-validation",
                             progress=False, device="cpu")
    assert untuned["calibration"] is None and Reranker.load(untuned["model_dir"], device="cpu").calibrator is None
