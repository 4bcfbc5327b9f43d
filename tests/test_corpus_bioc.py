"""BioC files, candidate infons and the BioC ⇄ spaCy Doc round trip."""
from __future__ import annotations

import gzip

import bioc
import pytest
import spacy
from bioc import biocxml
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin

from spacy_xmr.corpus import (
    GOLD_SPANS_KEY, collection_to_docs, docs_to_collection, get_candidates, get_confidence, iter_mentions, read_bioc,
    read_corpus, set_candidates, write_bioc, write_candidates,
)
from spacy_xmr.errors import InputFormatError, SpacyXmrError


def _annotation(annotation_id, locations, text, **infons):
    annotation = bioc.BioCAnnotation()
    annotation.id = annotation_id
    annotation.text = text
    annotation.infons.update(infons)
    for offset, length in locations:
        annotation.add_location(bioc.BioCLocation(offset, length))
    return annotation


def sample_collection() -> bioc.BioCCollection:
    """Two passages with a gap, overlapping and discontiguous annotations, unknown infons and a relation."""
    title = bioc.BioCPassage.of_text("Breast and ovarian cancer.", 0)
    title.infons["type"] = "title"
    title.add_annotation(_annotation("T1", [(0, 25)], "Breast and ovarian cancer", type="Disease",
                                     identifier="MESH:D001943|MESH:D010051", note="composite"))
    title.add_annotation(_annotation("T2", [(11, 14)], "ovarian cancer", type="Disease", identifier="D010051"))
    title.add_annotation(_annotation("T3", [(0, 6), (19, 6)], "Breast cancer", type="Disease", identifier="MESH:D001943"))
    abstract = bioc.BioCPassage.of_text("Dopamine was high. It fell.", 30)
    abstract.infons["type"] = "abstract"
    abstract.add_annotation(_annotation("A1", [(30, 8)], "Dopamine", type="Chemical", MESH="D004298", confidence="0.9"))
    document = bioc.BioCDocument()
    document.id = "42"
    document.infons["journal"] = "J Test"
    document.add_passage(title)
    document.add_passage(abstract)
    relation = bioc.BioCRelation()
    relation.id = "R1"
    relation.infons["type"] = "CID"
    relation.add_node(bioc.BioCNode("A1", "Chemical"))
    relation.add_node(bioc.BioCNode("T2", "Disease"))
    document.add_relation(relation)
    collection = bioc.BioCCollection()
    collection.source = "test"
    collection.key = "k"
    collection.infons["release"] = "1"
    collection.add_document(document)
    return collection


@pytest.mark.parametrize("name", ["c.xml", "c.xml.gz"])
def test_bioc_write_read_round_trip(tmp_path, name):
    collection = sample_collection()
    write_bioc(collection, tmp_path / name)
    assert biocxml.dumps(read_bioc(tmp_path / name)) == biocxml.dumps(collection)
    assert biocxml.dumps(read_corpus(tmp_path / name)) == biocxml.dumps(collection)


def test_read_corpus_sniffs_xml_without_suffix(tmp_path):
    write_bioc(sample_collection(), tmp_path / "c.xml")
    (tmp_path / "c.bioc").write_bytes((tmp_path / "c.xml").read_bytes())
    assert [d.id for d in read_corpus(tmp_path / "c.bioc", entity_types=["Chemical"]).documents] == ["42"]
    assert [m.type for m in iter_mentions(read_corpus(tmp_path / "c.bioc", entity_types=["Chemical"]))] == ["Chemical"]


def test_truncated_and_empty_xml_name_file_and_line(tmp_path):
    write_bioc(sample_collection(), tmp_path / "c.xml")
    text = (tmp_path / "c.xml").read_text(encoding="utf8")
    (tmp_path / "cut.xml").write_text(text[: len(text) // 2], encoding="utf8")
    with pytest.raises(InputFormatError, match="truncated") as info:
        read_bioc(tmp_path / "cut.xml")
    assert "cut.xml" in str(info.value) and info.value.line is not None
    (tmp_path / "empty.xml").write_text("", encoding="utf8")
    with pytest.raises(InputFormatError, match="empty.xml"):
        read_bioc(tmp_path / "empty.xml")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: setattr(a.locations[0], "offset", 500), "outside the document text"),
        (lambda a: setattr(a, "text", "Tumour"), "does not match"),
        (lambda a: setattr(a, "id", "T2"), "appears twice"),
    ],
)
def test_bad_annotations_name_file_document_and_annotation(tmp_path, change, message):
    collection = sample_collection()
    change(collection.documents[0].passages[0].annotations[0])
    (tmp_path / "bad.xml").write_text(biocxml.dumps(collection), encoding="utf8")
    with pytest.raises(InputFormatError, match=message) as info:
        read_bioc(tmp_path / "bad.xml")
    assert "bad.xml" in str(info.value) and "document 42" in str(info.value)


def test_failed_write_leaves_existing_output_unchanged(tmp_path, monkeypatch):
    out = tmp_path / "out.xml.gz"
    write_bioc(sample_collection(), out)
    before = out.read_bytes()

    class DiskFull(gzip.GzipFile):
        def write(self, data):
            super().write(data[: len(data) // 2])
            raise OSError("No space left on device")

    monkeypatch.setattr(gzip, "GzipFile", DiskFull)
    with pytest.raises(OSError, match="No space"):
        write_bioc(sample_collection(), out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xml.gz"]


def test_candidates_round_trip_and_never_touch_gold():
    annotation = _annotation("x", [(0, 1)], "a", identifier="MESH:D1")
    candidates = [("MESH:D2", 0.1 + 0.2), ("OMIM:3", -1e-300)]
    set_candidates(annotation, candidates)
    assert get_candidates(annotation) == candidates
    assert annotation.infons["predicted_id"] == "MESH:D2" and annotation.infons["identifier"] == "MESH:D1"
    set_candidates(annotation, [])
    assert get_candidates(annotation) == [] and annotation.infons["predicted_id"] == "NIL"
    with pytest.raises(SpacyXmrError, match="contains"):
        set_candidates(annotation, [("A|B", 1.0)])


def test_a_confidence_round_trips_and_a_stale_one_goes_with_the_candidates_it_was_about():
    annotation = _annotation("x", [(0, 1)], "a", identifier="MESH:D1")
    set_candidates(annotation, [("MESH:D2", 3.0)], confidence=0.1 + 0.2)
    assert get_confidence(annotation) == 0.1 + 0.2
    set_candidates(annotation, [("MESH:D3", 1.0)])  # a later stage without a confidence of its own
    assert get_confidence(annotation) is None and "confidence" not in annotation.infons
    for bad in ("high", "1.5", "nan"):
        annotation.infons["confidence"] = bad
        with pytest.raises(SpacyXmrError, match=f"annotation 'x': confidence '{bad}' is not a probability"):
            get_confidence(annotation)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"MESH:D[0-9]{6}", fullmatch=True), st.floats(allow_nan=False)), max_size=8))
def test_candidate_scores_are_exact(candidates):
    annotation = _annotation("x", [(0, 1)], "a")
    set_candidates(annotation, candidates)
    assert get_candidates(annotation) == [(c, float(s)) for c, s in candidates]


def test_write_candidates_returns_a_copy_and_rejects_unknown_keys():
    collection = sample_collection()
    before = biocxml.dumps(collection)
    predicted = write_candidates(collection, {("42", "T2"): [("MESH:D010051", 2.0)]})
    assert biocxml.dumps(collection) == before
    annotation = predicted.documents[0].passages[0].annotations[1]
    assert get_candidates(annotation) == [("MESH:D010051", 2.0)] and annotation.infons["identifier"] == "D010051"
    with pytest.raises(SpacyXmrError, match="name no"):
        write_candidates(collection, {("42", "nope"): []})


def test_docs_round_trip_keeps_text_offsets_ids_and_infons():
    collection = sample_collection()
    nlp = spacy.blank("en")
    (doc,) = collection_to_docs(collection, nlp)
    mentions = list(iter_mentions(collection))
    assert doc.text == mentions[0].document_text
    gold = {(s.start_char, s.end_char, s.label_, s.kb_id_) for s in doc.spans[GOLD_SPANS_KEY]}
    assert (0, 25, "Disease", "MESH:D001943") in gold and (30, 38, "Chemical", "MESH:D004298") in gold
    assert len(doc.spans[GOLD_SPANS_KEY]) == 4  # every annotation, discontiguous T3 as 0..25
    assert [(e.start_char, e.end_char) for e in doc.ents] == [(0, 25), (30, 38)]  # T2 overlaps T1, T3 is discontiguous
    bytes_data = DocBin(docs=[doc], store_user_data=True).to_bytes()
    (restored,) = DocBin().from_bytes(bytes_data).get_docs(nlp.vocab)
    assert biocxml.dumps(docs_to_collection([restored])) == biocxml.dumps(collection)


def test_docs_without_bioc_user_data_become_one_passage_documents():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("Dopamine rises.")
    doc.ents = [doc.char_span(0, 8, label="Chemical", kb_id="MESH:D004298")]
    (document,) = docs_to_collection([doc]).documents
    (annotation,) = document.passages[0].annotations
    assert document.passages[0].text == "Dopamine rises."
    assert annotation.infons == {"type": "Chemical", "identifier": "MESH:D004298"} and annotation.text == "Dopamine"


def test_misaligned_spans_are_widened_and_reported(caplog):
    collection = bioc.BioCCollection()
    document = bioc.BioCDocument()
    document.id = "1"
    passage = bioc.BioCPassage.of_text("Apomorphineinduced hypothermia", 0)
    passage.add_annotation(_annotation("1", [(0, 11)], "Apomorphine", type="Chemical"))
    document.add_passage(passage)
    collection.add_document(document)
    (doc,) = collection_to_docs(collection, spacy.blank("en"))
    assert (doc.ents[0].start_char, doc.ents[0].end_char) == (0, 18)
    assert "1/1" in caplog.text
    assert biocxml.dumps(docs_to_collection([doc])) == biocxml.dumps(collection)


@settings(max_examples=25, deadline=None)
@given(
    passages=st.lists(st.text(alphabet="abc de.XY-", min_size=1, max_size=30), min_size=1, max_size=3),
    gaps=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    data=st.data(),
)
def test_random_collections_round_trip_through_files_and_docs(tmp_path_factory, passages, gaps, data):
    document = bioc.BioCDocument()
    document.id = "d"
    offset = 0
    for index, text in enumerate(passages):
        passage = bioc.BioCPassage.of_text(text, offset)
        for a_index in range(data.draw(st.integers(0, 3))):
            start = data.draw(st.integers(offset, offset + len(text) - 1))
            end = data.draw(st.integers(start + 1, offset + len(text)))
            if not text[start - offset:end - offset].strip():
                continue
            passage.add_annotation(_annotation(f"{index}.{a_index}", [(start, end - start)], text[start - offset:end - offset],
                                               type="T", extra=str(a_index)))
        document.add_passage(passage)
        offset += len(text) + gaps[index]
    collection = bioc.BioCCollection()
    collection.add_document(document)
    path = tmp_path_factory.mktemp("bioc") / "c.xml"
    write_bioc(collection, path)
    reread = read_bioc(path)
    assert biocxml.dumps(reread) == biocxml.dumps(collection)
    docs = collection_to_docs(reread, spacy.blank("en"))
    assert biocxml.dumps(docs_to_collection(docs)) == biocxml.dumps(collection)
    for mention in iter_mentions(reread):
        assert mention.document_text[mention.start:mention.end] == mention.text == docs[0].text[mention.start:mention.end]
