"""Mentions in context: every field filled, sentence windows never cut a mention."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.corpus import documents_with_mentions, iter_mentions, read_corpus, read_pubtator, split_sentences
from spacy_xmr.corpus.mentions import mentions_to_link
from spacy_xmr.errors import SpacyXmrError

from test_corpus_bioc import _annotation, sample_collection


def _texts(text, spans):
    return [text[s:e] for s, e in spans]


def test_sentence_splitter_rules():
    text = "Mutations cause A-T. Patients (e.g. Dr. Smith et al. 2001) had 3.5 mg. J. Doe agreed! 12 cases followed."
    assert _texts(text, split_sentences(text)) == [
        "Mutations cause A-T.",
        "Patients (e.g. Dr. Smith et al. 2001) had 3.5 mg.",
        "J. Doe agreed!",
        "12 cases followed.",
    ]


def test_sentence_splitter_respects_protected_spans_and_ranges():
    text = "xx Sentence one. Two ends here. yy"
    assert _texts(text, split_sentences(text, 3, 31)) == ["Sentence one.", "Two ends here."]
    assert _texts(text, split_sentences(text, 3, 31, protected=[(12, 20)])) == ["Sentence one. Two ends here."]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab A.?! (9", max_size=80), st.data())
def test_sentences_cover_text_and_never_cut_protected_spans(text, data):
    spans = []
    for _ in range(data.draw(st.integers(0, 3))):
        if len(text) >= 2:
            start = data.draw(st.integers(0, len(text) - 1))
            spans.append((start, data.draw(st.integers(start + 1, len(text)))))
    sentences = split_sentences(text, protected=spans)
    covered = "".join(text[s:e] for s, e in sentences)
    assert covered.replace(" ", "") == text.replace(" ", "")
    assert all(s < e and text[s:e] == text[s:e].strip() for s, e in sentences)
    for start, end in spans:
        touched = {i for i, (s, e) in enumerate(sentences) for c in range(start, end) if s <= c < e and not text[c].isspace()}
        assert len(touched) <= 1


def test_iter_mentions_fills_every_field():
    mentions = list(iter_mentions(sample_collection()))
    assert [m.annotation_id for m in mentions] == ["T1", "T3", "T2", "A1"]  # sorted by (start, end)
    composite, discontiguous, _, dopamine = mentions
    assert composite.gold_ids == ["MESH:D001943", "MESH:D010051"]
    assert (discontiguous.start, discontiguous.end, discontiguous.text) == (0, 25, "Breast cancer")
    assert dopamine.gold_ids == ["MESH:D004298"]  # from the BC5CDR-style MESH infon
    assert dopamine.document_text == "Breast and ovarian cancer.    Dopamine was high. It fell."
    assert (dopamine.passage_index, dopamine.passage_text) == (1, "Dopamine was high. It fell.")
    assert dopamine.sentence_text == "Dopamine was high."
    assert composite.sentence_text == "Breast and ovarian cancer." and composite.type == "Disease"


def test_document_level_annotations_and_selected_annotations_without_location():
    collection = sample_collection()
    document = collection.documents[0]
    document.add_annotation(_annotation("D1", [(49, 2)], "It", type="Pronoun"))
    document.add_annotation(_annotation("D2", [], "indexing", type="MeSH_Indexing_Chemical"))
    (pronoun,) = iter_mentions(collection, entity_types=["Pronoun"])
    assert (pronoun.passage_index, pronoun.sentence_text) == (1, "It fell.")
    with pytest.raises(SpacyXmrError, match="D2.*no location"):
        list(iter_mentions(collection))
    # a command linking the pronouns writes the others back as they are: the location-less D2 is not built either
    assert [m.annotation_id for m in mentions_to_link(collection, ["Pronoun"], Path("sample.xml"))] == ["D1"]


def test_gold_ids_of_any_scheme_are_kept_as_written():
    collection = sample_collection()
    collection.documents[0].passages[0].annotations[0].infons["identifier"] = "XYZ:1|0001"
    assert next(iter(iter_mentions(collection))).gold_ids == ["XYZ:1", "0001"]


def test_ncbi_sentences_hold_their_mentions(ncbi_dir):
    grouped = documents_with_mentions(read_pubtator(ncbi_dir / "NCBIdevelopset_corpus.txt"))
    assert len(grouped) == 100
    assert_sentences_hold_their_mentions(grouped)


def test_synthetic_sentences_hold_their_mentions(synthetic_corpus_dir):
    grouped = documents_with_mentions(read_corpus(synthetic_corpus_dir / "train.xml"))
    assert len(grouped) == 60
    assert_sentences_hold_their_mentions(grouped)


def assert_sentences_hold_their_mentions(grouped) -> None:
    for _, mentions in grouped:
        for mention in mentions:
            assert mention.passage_start <= mention.sentence_start <= mention.start
            assert mention.end <= mention.sentence_end <= mention.passage_end
            assert len(mention.sentence_text) < 1500
