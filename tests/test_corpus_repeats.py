"""Documents given twice (corpus/repeats.py): warned about when training data is read, kept in one fold by the
out-of-fold models, a validation corpus that shares documents with the training corpus warned about; and the
documents a model learned from, kept with it (xmr/training_documents.py)."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from spacy_xmr.corpus import gold_linked_mentions
from spacy_xmr.corpus.mention import Mention
from spacy_xmr.xmr import XMRConfig, XMRModel
from spacy_xmr.xmr.confidence import document_folds as calibration_folds
from synthetic import XMR_CONFIG

PUBTATOR = """{pmid}|t|Familial {disease} in two sisters.
{pmid}|a|We describe {disease} again.
{pmid}\t9\t{end}\t{disease}\tDiseaseClass\tD{pmid}

"""


def _record(pmid: int, disease: str) -> str:
    return PUBTATOR.format(pmid=pmid, disease=disease, end=9 + len(disease))


def _documents(n: int) -> list[Mention]:
    """`n` documents of two mentions each, then each of them again under the id `<id>-2`."""
    originals = [Mention(f"d{i}", str(j), 0, 4, "text", gold_ids=["C1"], document_text=f"text of document {i}")
                 for i in range(n) for j in range(2)]
    return originals + [replace(mention, document_id=f"{mention.document_id}-2") for mention in originals]


def test_a_file_given_twice_is_warned_about_with_its_document_ids(tmp_path, caplog):
    corpus = tmp_path / "train.txt"
    corpus.write_text(_record(11, "ataxia") + _record(12, "gout"), encoding="utf8")
    with caplog.at_level(logging.WARNING):
        once = gold_linked_mentions([corpus])
    assert len(once) == 2 and "repeat" not in caplog.text
    with caplog.at_level(logging.WARNING):
        twice = gold_linked_mentions([corpus, corpus])
    assert len(twice) == 4
    assert f"{corpus}: 2 gold-linked mention(s), in 2 document(s) (11, 12), repeat a document of this same file, given before" in caplog.text


def test_a_pubtator_repeat_under_another_id_is_warned_about(tmp_path, caplog):
    corpus = tmp_path / "train.txt"
    corpus.write_text(_record(11, "ataxia") + _record(12, "gout") + _record(11, "ataxia"), encoding="utf8")
    with caplog.at_level(logging.WARNING):
        gold_linked_mentions([corpus])
    assert "1 gold-linked mention(s), in 1 document(s) (11-2), repeat a document earlier in this file" in caplog.text


def test_a_repeat_of_another_file_names_that_file(tmp_path, caplog):
    first, second = tmp_path / "train.txt", tmp_path / "extra.txt"
    first.write_text(_record(11, "ataxia") + _record(12, "gout"), encoding="utf8")
    second.write_text(_record(13, "chorea") + _record(12, "gout"), encoding="utf8")
    with caplog.at_level(logging.WARNING):
        gold_linked_mentions([first, second])
    assert f"{second}: 1 gold-linked mention(s), in 1 document(s) (12), repeat a document of {first}" in caplog.text


def test_calibration_folds_keep_a_repeat_with_the_document_it_repeats():
    mentions = _documents(12)
    folds = calibration_folds(mentions, 5, seed=0)
    fold_of = {m.document_id: index for index, fold in enumerate(folds) for m in fold}
    assert all(fold_of[f"d{i}"] == fold_of[f"d{i}-2"] for i in range(12))
    assert len({index for index, fold in enumerate(folds) if fold}) == 5  # the 12 documents still fill every fold


def test_ranker_folds_keep_a_repeat_with_the_document_it_repeats():
    pytest.importorskip("lightgbm")
    from spacy_xmr.ranking.training import document_folds as ranker_folds

    mentions = _documents(12)
    folds = ranker_folds(mentions, 5)
    fold_of = dict(zip((m.document_id for m in mentions), folds))
    assert all(fold_of[f"d{i}"] == fold_of[f"d{i}-2"] for i in range(12))
    assert set(folds) == set(range(5))


def test_a_validation_corpus_with_training_documents_is_warned_about(synthetic_ontology, synthetic_mentions, caplog, tmp_path):
    train, dev = synthetic_mentions["train"], synthetic_mentions["dev"]
    shared_ids = {m.document_id for m in train[:3]}
    validation = [m for m in train if m.document_id in shared_ids] + dev
    with caplog.at_level(logging.WARNING):
        model = XMRModel.train(synthetic_ontology, train, XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1,
                               validation=validation, output=tmp_path / "model")
    n_documents = len({m.document_id for m in validation})
    assert f"{len(shared_ids)} of the validation corpus's {n_documents} document(s)" in caplog.text
    assert "will be too high on new text" in caplog.text
    # the model keeps the documents its confidence was calibrated on, as it keeps those it learned from
    assert len(model.calibration_documents) == n_documents
    assert all(model.calibration_documents.holds(m.document_text) for m in validation)
    assert not any(model.calibration_documents.holds(m.document_text) for m in train if m.document_id not in shared_ids)


def test_linker_examples_given_twice_are_warned_about(caplog):
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    linker = nlp.add_pipe("xmr_linker")
    doc = nlp.make_doc("Familial ataxia in two sisters.")
    doc.ents = [doc.char_span(9, 15, label="Disease", kb_id="D1")]
    with caplog.at_level(logging.WARNING):
        mentions = linker._example_mentions(lambda: [Example(doc, doc), Example(doc, doc)])
    assert len(mentions) == 2 and "the training examples: 1 gold-linked mention(s)" in caplog.text


def test_a_model_keeps_the_documents_it_learned_from(synthetic_model, synthetic_model_dir, synthetic_mentions):
    train_texts = {m.document_text for m in synthetic_mentions["train"]}
    dev_texts = {m.document_text for m in synthetic_mentions["dev"]} - train_texts
    loaded = XMRModel.load(synthetic_model_dir)
    for model in (synthetic_model, loaded):
        assert len(model.training_documents) == len(train_texts)
        assert all(model.training_documents.holds(text) for text in train_texts)
        assert not any(model.training_documents.holds(text) for text in dev_texts)
        assert not model.training_documents.holds("a text nobody trained on")


def test_a_document_converted_with_other_spacing_is_the_same_document():
    from spacy_xmr.xmr.training_documents import DocumentSet

    documents = DocumentSet.of(["Familial ataxia. We describe it."])
    assert documents.holds("Familial ataxia.  We describe it. ") and not documents.holds("Familial ataxia. We describe them.")


def test_validation_mentions_of_types_the_training_lacks_are_warned_about(synthetic_ontology, synthetic_mentions, caplog):
    train, dev = synthetic_mentions["train"], synthetic_mentions["dev"]
    chemicals = [replace(mention, type="Chemical") for mention in dev[:7]]
    with caplog.at_level(logging.WARNING):
        XMRModel.train(synthetic_ontology, train, XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1,
                       validation=dev[7:] + chemicals)
    assert "the validation corpus has 7 mentions of types no training mention has (Chemical 7; trained on Disease)" in caplog.text
