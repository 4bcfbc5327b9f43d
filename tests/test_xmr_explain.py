"""explain(): each candidate's evidence, channel by channel, as text, dict and HTML; from Python, the linker and the
CLI. On the synthetic data, then on real NCBI Disease examples (skipped without ../shared/data)."""
from __future__ import annotations

import json
import random

import pytest
import spacy
from spacy.tokens import Span
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.xmr import XMRConfig, XMRModel, channel_weights
from spacy_xmr.xmr.abbreviations import texts_to_link
from spacy_xmr.xmr.explain import explain_mentions, explain_texts
from synthetic import ENTITY_TYPE

SCORING = ("tree", "exact", "word_key", "nearest", "dense")


def _abbreviated(mentions):
    """The first mention that is a short form defined in its document."""
    return next(m for m, long_form in zip(mentions, texts_to_link(mentions)) if long_form != m.text)


def test_each_candidates_weighted_channels_add_up_to_its_score(synthetic_model, synthetic_mentions):
    mentions = synthetic_mentions["dev"][:40]
    evidence = synthetic_model.channel_scores(mentions, top_k=5)
    weights = channel_weights(synthetic_model.prediction_config.fusion)
    for explanation, candidates in zip(explain_mentions(synthetic_model, mentions, top_k=5), evidence):
        assert [c.concept_id for c in explanation.candidates] == [c.concept_id for c in candidates]
        for explained, candidate in zip(explanation.candidates, candidates):
            assert {e.channel: e.score for e in explained.channels} == candidate.channels
            if not {"parent", "document"} & set(candidate.channels):
                assert sum(e.weighted for e in explained.channels) == pytest.approx(candidate.score, rel=1e-4)
            for e in explained.channels:
                assert e.weighted == pytest.approx(e.score * (1 if e.channel == "document" else weights[e.channel]))


def test_an_exact_match_names_its_string_and_the_ngrams_that_weighed_most(synthetic_model, synthetic_ontology):
    concept = list(synthetic_ontology)[30]
    top = explain_texts(synthetic_model, [concept.name])[0].candidates[0]
    channels = {e.channel: e for e in top.channels}
    assert top.concept_id == concept.id and channels["exact"].detail["kind"] == "alias"
    assert channels["word_key"].detail["rewrite"] == "none" and channels["nearest"].detail["cosine"] == pytest.approx(1.0, abs=1e-5)
    assert top.matched == channels["exact"].detail["string"] and top.top_ngrams
    assert all(gram in top.matched or gram.strip() in top.matched for gram, _ in top.top_ngrams)
    path = channels["tree"].detail["path"]
    assert len(path) == len(synthetic_model.channels["tree"].layers) and [p["level"] for p in path] == list(range(len(path)))


def test_an_abbreviation_is_explained_through_its_long_form(synthetic_model, synthetic_mentions):
    mentions = synthetic_mentions["dev"]
    mention = _abbreviated(mentions)
    explanation = explain_mentions(synthetic_model, [m for m in mentions if m.document_id == mention.document_id])[
        [m for m in mentions if m.document_id == mention.document_id].index(mention)]
    assert explanation.long_form and explanation.long_form != mention.text
    assert explanation.candidates[0].concept_id in mention.gold_ids
    assert explanation.context[explanation.start:explanation.end] == mention.text


def test_text_dict_and_html_say_the_same(synthetic_model, synthetic_mentions):
    explanation = explain_mentions(synthetic_model, synthetic_mentions["dev"][:5], top_k=3)[0]
    data = json.loads(json.dumps(explanation.to_dict()))
    text, page = explanation.text(), explanation.html()
    assert data["mention"] == explanation.mention and len(data["candidates"]) == 3
    for candidate in data["candidates"]:
        assert candidate["concept_id"] in text and candidate["concept_id"] in page
        assert all(channel["channel"] in text for channel in candidate["channels"])
    assert '<mark class="entity"' in page and f"{explanation.confidence:.3f}" in text


def test_the_linker_explains_an_entity_in_its_document(synthetic_model_dir, synthetic_ontology):
    nlp = spacy.blank("en")
    linker = nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    name = list(synthetic_ontology)[40].name
    doc = nlp.make_doc(f"Patients with {name} were examined.")
    doc.ents = [Span(doc, 2, 2 + len(nlp.make_doc(name)), ENTITY_TYPE)]
    ent = nlp(doc).ents[0]
    explanation = linker.explain(ent)
    assert explanation.candidates[0].concept_id == ent.kb_id_ and explanation.confidence == pytest.approx(ent._.xmr_confidence)
    assert explanation.context == doc.text and explanation.mention == name
    with pytest.raises(ValueError, match="does not link the span"):
        linker.explain(doc[0:1])


def test_the_explain_command_prints_text_json_and_html(synthetic_model_dir, synthetic_mentions):
    mention = _abbreviated(synthetic_mentions["dev"])
    context = mention.document_text
    runner = CliRunner()
    base = ["explain", "--model", str(synthetic_model_dir), mention.text, "--context", context]
    result = runner.invoke(app, [*base, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["long_form"] and data["candidates"][0]["concept_id"] in mention.gold_ids
    assert runner.invoke(app, base).output.startswith(f"mention: {mention.text!r}")
    assert '<mark class="entity"' in runner.invoke(app, [*base, "--format", "html"]).output
    missing = runner.invoke(app, ["explain", "--model", str(synthetic_model_dir), "zzz", "--context", "no such text"])
    assert missing.exit_code == 1 and "does not occur" in missing.output
    empty = runner.invoke(app, ["explain", "--model", str(synthetic_model_dir), " "])
    assert empty.exit_code == 1 and "the mention is empty" in empty.output


def test_explain_help_shows_full_option_names_on_a_narrow_terminal():
    result = CliRunner().invoke(app, ["explain", "--help"], env={"COLUMNS": "40"}, terminal_width=40)
    assert all(option in result.output for option in ("--model", "--context", "--top-k", "--format"))


# ---- real NCBI Disease examples ---------------------------------------------------------------------------------
N_CONCEPTS = 400


@pytest.fixture(scope="module")
def ncbi_model(medic, ncbi_dir):
    """A model on a MEDIC slice (every concept NCBI train and dev link to, topped up at random) and the train
    mentions, uncalibrated (folds 0) to stay fast; and the dev mentions it can link."""
    from spacy_xmr.corpus import gold_linked_mentions
    from spacy_xmr.ontology import Ontology

    train = gold_linked_mentions([ncbi_dir / "NCBItrainset_corpus.txt"])
    dev = gold_linked_mentions([ncbi_dir / "NCBIdevelopset_corpus.txt"])
    wanted = dict.fromkeys(r for m in train + dev for r in map(medic.resolve, m.gold_ids) if r)
    others = random.Random(0).sample([cid for cid in medic.ids if cid not in wanted], N_CONCEPTS)
    ontology = Ontology([medic[cid] for cid in [*wanted, *others]], name="medic-slice")
    model = XMRModel.train(ontology, train, XMRConfig.from_dict({"calibration": {"folds": 0}}), progress=False)
    return model, dev


def test_real_examples_show_an_abbreviation_a_rewrite_and_a_document_candidate(ncbi_model):
    model, dev = ncbi_model
    documents = list(dict.fromkeys(m.document_id for m in dev))[:40]
    dev = [m for m in dev if m.document_id in documents]
    explanations = explain_mentions(model, dev, top_k=10)
    tops = [e.candidates[0] for e in explanations if e.candidates]
    expanded = [(m, e) for m, e in zip(dev, explanations) if e.long_form and e.candidates and e.candidates[0].concept_id in m.gold_ids]
    assert len(expanded) >= 10  # e.g. "APC" read as "adenomatous polyposis coli"
    assert any(e.candidates[0].query != e.mention.lower() for _, e in expanded)
    rewrites = [c for c in tops for e in c.channels if e.channel == "word_key" and e.detail["rewrite"] not in ("none", None)]
    assert rewrites and all("->" in e.detail["rewrite"] or e.detail["rewrite"].startswith("dropped")
                            for c in rewrites for e in c.channels if e.channel == "word_key")
    offered = [c for e in explanations for c in e.candidates if any(ch.channel == "document" for ch in c.channels)]
    assert offered and all(c.rank > 7 for c in offered)  # the document's concepts take the last quarter of 10 at most


def test_a_parent_candidate_names_the_children_it_generalises(synthetic_model, synthetic_mentions):
    ontology = synthetic_model.ontology
    explained = [(candidate, evidence) for explanation in explain_mentions(synthetic_model, synthetic_mentions["dev"][:60], top_k=2)
                 for candidate in explanation.candidates for evidence in candidate.channels if evidence.channel == "parent"]
    assert explained, "the synthetic dev mentions reach no parent candidate"
    for candidate, evidence in explained:
        children = evidence.detail["generalises"]
        assert 0 < len(children) <= synthetic_model.parent.settings.top_children
        assert all(candidate.concept_id in {ontology.resolve(p) or p for p in ontology[child].parents} for child in children)


def test_the_explain_command_reads_the_linker_model_of_a_saved_pipeline(synthetic_model_dir, synthetic_mentions, tmp_path):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    nlp.to_disk(tmp_path / "pipeline")
    mention = _abbreviated(synthetic_mentions["dev"])
    command = [mention.text, "--context", mention.document_text, "--format", "json"]
    runner = CliRunner()
    from_pipeline = runner.invoke(app, ["explain", "--model", str(tmp_path / "pipeline"), *command])
    assert from_pipeline.exit_code == 0, from_pipeline.output
    assert json.loads(from_pipeline.output) == json.loads(runner.invoke(app, ["explain", "--model", str(synthetic_model_dir), *command]).output)
