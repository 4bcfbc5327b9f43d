"""The XMR model's calibrated confidence (xmr/confidence.py), the linker's threshold on it, and the root that is never
a candidate; on the synthetic data."""
from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import spacy
from spacy.tokens import Span

from spacy_xmr.errors import ConfigError
from spacy_xmr.pipeline.linker import DEFAULT_THRESHOLD
from spacy_xmr.xmr import XMRConfig, XMRModel
from spacy_xmr.xmr.confidence import document_folds
from spacy_xmr.xmr.explain import explain_mentions
from spacy_xmr.xmr.model import CALIBRATION_FILE
from synthetic import ENTITY_TYPE, ROOT_ID, XMR_CONFIG

NONSENSE = ["Tuesday", "the hospital", "blood samples", "linkage analysis"]


def test_training_calibrates_out_of_fold_and_the_folder_keeps_it(synthetic_model, synthetic_model_dir, synthetic_mentions):
    fitted_on = synthetic_model.calibrator.fitted_on
    assert fitted_on["source"] == "out-of-fold" and fitted_on["n_mentions"] == len(synthetic_mentions["train"])
    assert (synthetic_model_dir / CALIBRATION_FILE).exists()
    loaded = XMRModel.load(synthetic_model_dir)
    evidence = synthetic_model.channel_scores(synthetic_mentions["dev"][:30])
    assert loaded.confidence(evidence) == synthetic_model.confidence(evidence)


def test_folds_keep_each_document_whole():
    from spacy_xmr.corpus.mention import Mention

    mentions = [Mention(f"doc{i % 7}", str(i), 0, 1, "x") for i in range(40)]
    folds = document_folds(mentions, 3, seed=0)
    assert sum(map(len, folds)) == 40 and all(folds)
    owners = [{m.document_id for m in fold} for fold in folds]
    assert not set.intersection(*owners) and set.union(*owners) == {f"doc{i}" for i in range(7)}


def test_a_validation_corpus_calibrates_instead_of_folds(synthetic_ontology, synthetic_mentions):
    model = XMRModel.train(synthetic_ontology, synthetic_mentions["train"], XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1,
                           validation=synthetic_mentions["dev"])
    assert model.calibrator.fitted_on == {**model.calibrator.fitted_on, "source": "validation", "n_mentions": len(synthetic_mentions["dev"])}


def test_names_alone_give_no_calibration(synthetic_ontology, caplog):
    with caplog.at_level(logging.WARNING):
        model = XMRModel.train(synthetic_ontology, [], XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1)
    assert model.calibrator is None and model.confidence([[]]) is None
    assert "confidence is unavailable" in caplog.text


def test_the_root_is_never_a_candidate_but_a_category_named_by_the_mention_is(synthetic_model, synthetic_ontology):
    root = synthetic_ontology[ROOT_ID]
    for ranking in synthetic_model.predict([root.name, *root.synonyms, "cardiac diseases of the synthetic kind"], top_k=20):
        assert ROOT_ID not in [concept for concept, _ in ranking]
    category = next(c for c in synthetic_ontology if c.parents == [ROOT_ID])
    assert synthetic_model.predict([category.name], top_k=1)[0][0][0] == category.id


def _linker(model_dir, **config):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(model_dir), **config})
    return nlp


def _linked(nlp, texts: list[str]) -> list[Span]:
    spans = []
    for text in texts:
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, 0, len(doc), ENTITY_TYPE)]
        spans.append(nlp(doc).ents[0])
    return spans


def test_the_threshold_applies_to_the_confidence_by_default(synthetic_model_dir, synthetic_mentions):
    linker = _linker(synthetic_model_dir).get_pipe("xmr_linker")
    assert (linker.threshold, linker.threshold_on) == (DEFAULT_THRESHOLD, "confidence")
    texts = [m.text for m in synthetic_mentions["dev"][:40]] + NONSENSE
    confidences = [span._.xmr_confidence for span in _linked(_linker(synthetic_model_dir, threshold=None), texts)]
    assert all(0 <= c <= 1 for c in confidences)
    threshold = float(np.median(confidences)) if min(confidences) < np.median(confidences) else max(confidences) + 1e-9
    spans = _linked(_linker(synthetic_model_dir, threshold=threshold), texts)
    assert [span.kb_id_ == "NIL" for span in spans] == [c < threshold for c in confidences]
    assert all(span._.xmr_candidates for span in spans)  # a NIL entity keeps its candidates
    raw = _linked(_linker(synthetic_model_dir, threshold=None), NONSENSE)
    assert all(span.kb_id_ != "NIL" for span in raw if span._.xmr_candidates)
    by_score = _linked(_linker(synthetic_model_dir, threshold_on="score", threshold=0.0), NONSENSE)
    assert [span.kb_id_ for span in by_score] == [span.kb_id_ for span in raw]
    high = _linked(_linker(synthetic_model_dir, threshold_on="score", threshold=1e9), NONSENSE)
    assert all(span.kb_id_ == "NIL" for span in high)


def test_a_top_k_of_one_keeps_the_confidence_that_a_longer_list_gives(synthetic_model_dir, synthetic_model, synthetic_mentions, tmp_path):
    texts = [m.text for m in synthetic_mentions["dev"][:40]] + NONSENSE
    longer, one = (_linked(_linker(synthetic_model_dir, threshold=None, top_k=k), texts) for k in (10, 1))
    assert [span._.xmr_candidates[:1] for span in longer] == [span._.xmr_candidates for span in one]
    assert [span._.xmr_confidence for span in one] == pytest.approx([span._.xmr_confidence for span in longer])
    assert len({round(span._.xmr_confidence, 6) for span in one}) > 2  # not one value for every margin
    mentions = synthetic_mentions["dev"][:40]
    explained = explain_mentions(synthetic_model, mentions, top_k=1)
    assert [e.confidence for e in explained] == pytest.approx(synthetic_model.linked(mentions, top_k=10)[1])


def test_a_model_folder_without_calibration_links_and_says_the_threshold_applies_to_nothing(synthetic_model_dir, tmp_path, caplog):
    old = tmp_path / "old-model"
    shutil.copytree(synthetic_model_dir, old)
    (old / CALIBRATION_FILE).unlink()
    nlp = _linker(old)
    with caplog.at_level(logging.WARNING):
        span = _linked(nlp, ["Tuesday"])[0]
    assert "has no calibration" in caplog.text and 'threshold_on = "score"' in caplog.text
    assert span._.xmr_confidence is None and (span.kb_id_ != "NIL") == bool(span._.xmr_candidates)


@pytest.mark.parametrize("config, message", [
    ({"threshold": 5.0}, "a probability between 0 and 1"),
    ({"threshold_on": "margin"}, "threshold_on"),
])
def test_bad_threshold_settings_fail_at_add_pipe(synthetic_model_dir, config, message):
    with pytest.raises(ConfigError, match=message):
        _linker(synthetic_model_dir, **config)


@pytest.mark.parametrize("factory", ["xmr_reranker", "xmr_ranker"])
def test_later_stages_threshold_their_own_confidence_by_default(synthetic_model_dir, factory):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    stage = nlp.add_pipe(factory)
    assert (stage.threshold, stage.threshold_on) == (DEFAULT_THRESHOLD, "confidence")
    with pytest.raises(ConfigError, match="a probability between 0 and 1"):
        nlp.add_pipe(factory, name="strict", config={"threshold": 5.0})


def test_confidences_are_probabilities_that_rise_with_the_margin(synthetic_model, synthetic_mentions):
    evidence = synthetic_model.channel_scores(synthetic_mentions["dev"])
    confidence = np.array(synthetic_model.confidence(evidence))
    assert ((0 <= confidence) & (confidence <= 1)).all()
    margins = np.array([c[0].score - (c[1].score if len(c) > 1 else 0) for c in evidence])
    assert confidence[margins > np.median(margins)].mean() >= confidence[margins <= np.median(margins)].mean()


def test_an_ontology_named_by_the_training_mentions_is_warned_about(synthetic_ontology, synthetic_mentions, caplog):
    """Out-of-fold calibration holds mentions out, not their strings: with names taken from the corpus every held-out
    mention is an exact match, and the confidence comes out too high on new text."""
    from spacy_xmr.ontology import Concept, Ontology

    texts: dict[str, list[str]] = {}
    for mention in synthetic_mentions["train"]:
        texts.setdefault(mention.gold_ids[0], []).append(mention.text)
    from_mentions = Ontology([Concept(concept_id, names[0], synonyms=sorted(set(names[1:]) - {names[0]}))
                              for concept_id, names in texts.items()])
    config = XMRConfig.from_dict(XMR_CONFIG)
    for ontology, warned in [(from_mentions, True), (synthetic_ontology, False)]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="spacy_xmr"):
            XMRModel.train(ontology, synthetic_mentions["train"], config, progress=False, n_jobs=1)
        assert ("were the ontology's names taken from this corpus" in caplog.text) is warned


def test_out_of_fold_models_know_only_the_corpus_concepts_of_their_own_folds(synthetic_ontology, synthetic_mentions, monkeypatch):
    from spacy_xmr.ontology import Ontology

    kept = Ontology(list(synthetic_ontology)[: len(synthetic_ontology) // 2])  # the others become corpus concepts
    train = XMRModel.train
    seen = []

    def recording(ontology, mentions, config=None, progress=True, **kwargs):
        if config is not None and not config.calibration.folds:  # a fold's model
            seen.append((set(ontology.ids) - set(kept.ids), {gold for mention in mentions for gold in mention.gold_ids}))
        return train(ontology, mentions, config, progress, **kwargs)

    monkeypatch.setattr(XMRModel, "train", staticmethod(recording))
    model = XMRModel.train(kept, synthetic_mentions["train"], XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1)
    assert model.stats["n_corpus_concepts"] > 0 and len(seen) == model.config.calibration.folds
    assert all(corpus_concepts and corpus_concepts <= fold_gold_ids for corpus_concepts, fold_gold_ids in seen)
    everything = {gold for mention in synthetic_mentions["train"] for gold in mention.gold_ids} - set(kept.ids)
    assert all(corpus_concepts < everything for corpus_concepts, _ in seen)  # each fold misses some held-out ones
