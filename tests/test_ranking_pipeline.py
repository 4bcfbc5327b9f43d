"""`spacy-xmr train-ranker` / `apply-ranker` and the `xmr_ranker` component, on the synthetic corpus: one ranker is
trained through the CLI and then used by the component and by apply-ranker."""
from __future__ import annotations

import pytest
import spacy
from typer.testing import CliRunner

pytest.importorskip("lightgbm", reason="the learned ranker needs lightgbm (pip install 'spacy-xmr[rank]')")

from spacy_xmr.cli import app  # noqa: E402
from spacy_xmr.corpus import collection_to_docs, get_candidates, iter_mentions, read_corpus  # noqa: E402
from spacy_xmr.corpus.spacy_docs import USER_DATA_KEY  # noqa: E402
from spacy_xmr.errors import ConfigError  # noqa: E402
from spacy_xmr.evaluation import confidences_by_span, predictions_by_span  # noqa: E402
from spacy_xmr.ranking import LearnedRanker  # noqa: E402
from spacy_xmr.xmr import XMRModel  # noqa: E402
from ranking_support import train_ranker_with_cli  # noqa: E402
from synthetic import write_two_type_corpus  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def ranker_dir(tmp_path_factory, synthetic_ontology_path, synthetic_corpus_dir, synthetic_model_dir):
    model, output = train_ranker_with_cli(tmp_path_factory.mktemp("ranker"), synthetic_ontology_path, synthetic_corpus_dir,
                                          synthetic_model_dir, "--val-corpus", str(synthetic_corpus_dir / "dev.xml"))
    assert "out-of-fold lists: fold 2/2" in output and "acc@1" in output
    return model


def pipeline(synthetic_model_dir, ranker_dir, **ranker_config):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    nlp.add_pipe("xmr_ranker", config={"model": str(ranker_dir), **ranker_config})
    return nlp


def linked(docs) -> list:
    return [[(ent.start_char, ent.kb_id_, [(c, round(s, 5)) for c, s in ent._.xmr_candidates]) for ent in doc.ents] for doc in docs]


@pytest.fixture(scope="module")
def dev_docs(synthetic_corpus_dir):
    return collection_to_docs(read_corpus(synthetic_corpus_dir / "dev.xml"), spacy.blank("en"))


def test_train_ranker_saves_a_loadable_ranker_with_the_options_applied(ranker_dir):
    ranker = LearnedRanker.load(ranker_dir)
    assert ranker.config.folds == 2 and ranker.config.n_estimators == 40 and ranker.stats["n_lists_used"] > 0


def test_the_component_writes_the_rankers_order_and_its_first_candidate(synthetic_model_dir, ranker_dir, dev_docs, synthetic_corpus_dir):
    nlp = pipeline(synthetic_model_dir, ranker_dir)
    docs = list(nlp.pipe(doc.copy() for doc in dev_docs))
    mentions = list(iter_mentions(read_corpus(synthetic_corpus_dir / "dev.xml")))
    expected = LearnedRanker.load(ranker_dir).rank_with(XMRModel.load(synthetic_model_dir), mentions)[0]
    by_location = {m.location: [c for c, _ in r] for m, r in zip(mentions, expected)}
    got = {(doc.user_data[USER_DATA_KEY]["document_id"], ent.start_char, ent.end_char): [c for c, _ in ent._.xmr_candidates]
           for doc in docs for ent in doc.ents}
    assert all(ent.kb_id_ == (ent._.xmr_candidates[0][0] if ent._.xmr_confidence >= 0.5 else "NIL") for doc in docs for ent in doc.ents)
    assert len(got) == len(by_location) and got == by_location


def test_the_xmr_stage_scores_each_batch_once_and_the_ranker_alone_gives_the_same(synthetic_model_dir, ranker_dir, dev_docs,
                                                                                 monkeypatch):
    nlp = pipeline(synthetic_model_dir, ranker_dir)
    calls = []
    original = XMRModel.channel_scores
    monkeypatch.setattr(XMRModel, "channel_scores", lambda self, *args, **kwargs: calls.append(1) or original(self, *args, **kwargs))
    together = list(nlp.pipe((doc.copy() for doc in dev_docs), batch_size=8))
    assert len(calls) == -(-len(dev_docs) // 8)  # one per batch: the ranker took the linker's evidence
    with nlp.select_pipes(disable=["xmr_linker"]):  # the ranker alone asks the linker's model itself
        alone = list(nlp.pipe(together, batch_size=8))
    assert len(calls) == 2 * -(-len(dev_docs) // 8)
    assert linked(alone) == linked(list(nlp.pipe((doc.copy() for doc in dev_docs), batch_size=8)))


def test_the_confidence_is_the_rankers_own_and_the_threshold_reads_it(synthetic_model_dir, ranker_dir, dev_docs):
    docs = list(pipeline(synthetic_model_dir, ranker_dir, threshold=None).pipe(doc.copy() for doc in dev_docs))
    confidences = [ent._.xmr_confidence for doc in docs for ent in doc.ents]
    assert all(0.0 <= c <= 1.0 for c in confidences) and len(set(confidences)) > 3
    threshold = sorted(confidences)[len(confidences) // 3]
    thresholded = list(pipeline(synthetic_model_dir, ranker_dir, threshold=threshold).pipe(doc.copy() for doc in dev_docs))
    assert [ent.kb_id_ == "NIL" for doc in thresholded for ent in doc.ents] == [c < threshold for c in confidences]


def test_to_disk_and_spacy_load_give_the_same_annotations(synthetic_model_dir, ranker_dir, dev_docs, tmp_path):
    unthresholded = [[ent._.xmr_candidates[0][1] for ent in doc.ents]
                     for doc in pipeline(synthetic_model_dir, ranker_dir, threshold=None).pipe(doc.copy() for doc in dev_docs)]
    threshold = sorted(share for doc in unthresholded for share in doc)[sum(map(len, unthresholded)) // 4]  # a quarter below it
    nlp = pipeline(synthetic_model_dir, ranker_dir, threshold=threshold, threshold_on="score")
    before = linked(nlp.pipe(doc.copy() for doc in dev_docs))
    assert [[kb == "NIL" for _, kb, _ in doc] for doc in before] == [[share < threshold for share in doc] for doc in unthresholded]
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "xmr_ranker" / "model" / "lightgbm.txt").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("xmr_ranker").cfg["threshold"] == threshold
    assert linked(loaded.pipe(doc.copy() for doc in dev_docs)) == before


def test_the_ranker_needs_a_linker_before_it(ranker_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    with pytest.raises(ConfigError, match="linker = 'other'.*no such component"):
        nlp.add_pipe("xmr_ranker", config={"model": str(ranker_dir), "linker": "other"})
    nlp.add_pipe("sentencizer")
    with pytest.raises(ConfigError, match="not an xmr_linker"):
        nlp.add_pipe("xmr_ranker", config={"model": str(ranker_dir), "linker": "sentencizer"})


def test_apply_ranker_writes_the_rankers_order_and_confidence(tmp_path, synthetic_model_dir, ranker_dir, synthetic_corpus_dir):
    out = tmp_path / "ranked.xml"
    result = runner.invoke(app, ["apply-ranker", "--xmr-model", str(synthetic_model_dir), "--model", str(ranker_dir),
                                 "--in-corpus", str(synthetic_corpus_dir / "dev.xml"), "--out-corpus", str(out)])
    assert result.exit_code == 0, result.output
    mentions = list(iter_mentions(read_corpus(synthetic_corpus_dir / "dev.xml")))
    expected, confidences = LearnedRanker.load(ranker_dir).rank_with(XMRModel.load(synthetic_model_dir), mentions)
    written = read_corpus(out)
    assert {location: [c for c, _ in r] for location, r in predictions_by_span(written).items()} == {
        m.location: [c for c, _ in r] for m, r in zip(mentions, expected)}
    assert confidences is not None  # the ranker is calibrated: its output carries the confidence, as apply-xmr's does
    assert confidences_by_span(written) == pytest.approx({m.location: c for m, c in zip(mentions, confidences)}, abs=1e-6)


def test_apply_ranker_ranks_only_the_entity_type_asked_for_and_keeps_the_others(tmp_path, synthetic_model_dir, ranker_dir,
                                                                                  synthetic_corpus_dir):
    annotations = write_two_type_corpus(synthetic_corpus_dir / "dev.xml", tmp_path / "two_types.xml")
    result = runner.invoke(app, ["apply-ranker", "--xmr-model", str(synthetic_model_dir), "--model", str(ranker_dir),
                                 "--in-corpus", str(tmp_path / "two_types.xml"), "--out-corpus", str(tmp_path / "ranked.xml"),
                                 "--entity-type", "Chemical"])
    assert result.exit_code == 0, result.output
    written = [a for d in read_corpus(tmp_path / "ranked.xml").documents for p in d.passages for a in p.annotations]
    assert [(a.id, a.infons["type"]) for a in written] == [(a.id, a.infons["type"]) for a in annotations]
    assert {a.infons["type"] for a in written if get_candidates(a)} == {"Chemical"}
    assert "mentions of types the model was not trained on (Chemical" in " ".join(result.output.split())


def test_apply_ranker_refuses_to_overwrite_its_input(synthetic_model_dir, ranker_dir, synthetic_corpus_dir):
    dev = synthetic_corpus_dir / "dev.xml"
    result = runner.invoke(app, ["apply-ranker", "--xmr-model", str(synthetic_model_dir), "--model", str(ranker_dir),
                                 "--in-corpus", str(dev), "--out-corpus", str(dev)])
    assert result.exit_code != 0


def test_a_ranker_placed_before_the_linker_says_so_once(synthetic_model_dir, ranker_dir, dev_docs, caplog):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    nlp.add_pipe("xmr_ranker", config={"model": str(ranker_dir)}, before="xmr_linker")
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        list(nlp.pipe((doc.copy() for doc in dev_docs), batch_size=8))
    warnings = [r.getMessage() for r in caplog.records if "has not linked" in r.getMessage()]
    assert len(warnings) == 1 and "put the ranker after it" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        list(pipeline(synthetic_model_dir, ranker_dir).pipe((doc.copy() for doc in dev_docs), batch_size=8))
    assert not [r for r in caplog.records if "has not linked" in r.getMessage()]


def test_train_ranker_learns_from_the_types_the_xmr_model_was_trained_on(tmp_path, synthetic_ontology_path, synthetic_corpus_dir,
                                                                          synthetic_model_dir):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_two_type_corpus(synthetic_corpus_dir / "train.xml", corpus / "train.xml")
    model, output = train_ranker_with_cli(tmp_path, synthetic_ontology_path, corpus, synthetic_model_dir)
    assert "Using the mentions of the types the XMR model was trained on: Disease" in output
    diseases = [m for m in iter_mentions(read_corpus(corpus / "train.xml"), ["Disease"]) if m.gold_ids]
    assert LearnedRanker.load(model).stats["n_training_mentions"] == len(diseases)
