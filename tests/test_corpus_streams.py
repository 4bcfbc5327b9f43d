"""Corpus files read a document at a time (`stream_corpus`): the same documents as reading them whole, handed out
before the end of the file is read, and not kept by the reader once the next one is handed out."""
from __future__ import annotations

import gc
import gzip
import json
import weakref

import pytest

from spacy_xmr.corpus import read_corpus, stream_corpus
from spacy_xmr.corpus.jsonl import write_jsonl
from spacy_xmr.corpus.pubtator_writer import write_pubtator
from spacy_xmr.errors import InputFormatError
from synthetic import CORPUS_FILE_WRITERS, pubmed_xml, synthetic_collection

N_DOCUMENTS = 12


def _pubmed_xml_with_an_old_record(collection, revised: str) -> str:
    """The collection as PubMed XML with an earlier version of document `revised` (its title starting "Old: ")
    as the 4th article."""
    articles = pubmed_xml(collection).splitlines(keepends=True)
    old = next(line for line in articles if f"<PMID>{revised}</PMID>" in line)
    articles.insert(2 + 3, old.replace("<ArticleTitle>", "<ArticleTitle>Old: "))
    return "".join(articles)


def _identity(collection) -> list:
    return [(d.id, [(p.offset, p.text) for p in d.passages],
             sorted((a.locations[0].offset, a.locations[0].length, a.infons.get("type")) for p in d.passages for a in p.annotations))
            for d in collection.documents]


@pytest.mark.parametrize("name", list(CORPUS_FILE_WRITERS))
def test_streamed_documents_are_the_documents_read_whole(synthetic_ontology, tmp_path, name):
    CORPUS_FILE_WRITERS[name](synthetic_collection(synthetic_ontology, N_DOCUMENTS, seed=11), tmp_path / name)
    stream = stream_corpus(tmp_path / name)
    whole = read_corpus(tmp_path / name)
    assert len(whole.documents) == N_DOCUMENTS
    assert _identity(stream.collection()) == _identity(whole)
    assert stream.fields.documents == [] and stream.fields.source == whole.source


@pytest.mark.parametrize("name", ["bioc.xml", "bioc.json", "pubtator.txt", "docs.jsonl", "pubmed.xml.gz"])
def test_a_reader_keeps_no_document_it_handed_out(synthetic_ontology, tmp_path, name):
    CORPUS_FILE_WRITERS[name](synthetic_collection(synthetic_ontology, N_DOCUMENTS, seed=12), tmp_path / name)
    handed_out = []
    for document in stream_corpus(tmp_path / name).documents:
        handed_out.append(weakref.ref(document))
        del document
        gc.collect()
        assert all(ref() is None for ref in handed_out[:-1])  # a generator's local may hold the latest one
    assert len(handed_out) == N_DOCUMENTS


def test_documents_before_a_bad_line_are_handed_out_before_it_is_reported(synthetic_ontology, tmp_path):
    collection = synthetic_collection(synthetic_ontology, N_DOCUMENTS, seed=13)
    write_jsonl(collection, tmp_path / "docs.jsonl")
    lines = (tmp_path / "docs.jsonl").read_text(encoding="utf8").splitlines()
    (tmp_path / "docs.jsonl").write_text("\n".join([*lines[:5], '{"id": "x", "text": 3}', *lines[5:]]) + "\n", encoding="utf8")
    documents = stream_corpus(tmp_path / "docs.jsonl").documents
    assert [next(documents).id for _ in range(5)] == [d.id for d in collection.documents[:5]]
    with pytest.raises(InputFormatError, match=r"docs\.jsonl.*line 6.*'text' must be a string"):
        next(documents)


def test_truncated_pubmed_xml_is_reported_before_any_document(synthetic_ontology, tmp_path):
    text = pubmed_xml(synthetic_collection(synthetic_ontology, N_DOCUMENTS, seed=14))
    (tmp_path / "pubmed.xml.gz").write_bytes(gzip.compress(text[: len(text) * 2 // 3].encode("utf8")))
    with pytest.raises(InputFormatError, match=r"pubmed\.xml\.gz.*malformed or truncated PubMed XML"):
        next(iter(stream_corpus(tmp_path / "pubmed.xml.gz").documents))


def test_a_revised_pubmed_record_replaces_the_earlier_one_in_its_own_place(synthetic_ontology, tmp_path):
    collection = synthetic_collection(synthetic_ontology, N_DOCUMENTS, seed=15)
    revised = collection.documents[6].id
    (tmp_path / "pubmed.xml").write_text(_pubmed_xml_with_an_old_record(collection, revised), encoding="utf8")
    documents = list(stream_corpus(tmp_path / "pubmed.xml").documents)
    assert [d.id for d in documents] == [d.id for d in collection.documents]  # the old record (4th) dropped, the revision kept at 7th
    assert not documents[6].passages[0].text.startswith("Old: ")


def test_a_changed_pubtator_repeat_is_an_error_and_an_exact_one_gets_its_own_id(synthetic_ontology, tmp_path):
    collection = synthetic_collection(synthetic_ontology, 3, seed=16)
    write_pubtator(collection, tmp_path / "docs.txt")
    text = (tmp_path / "docs.txt").read_text(encoding="utf8")
    first = text.split("\n\n")[0] + "\n\n"
    (tmp_path / "repeat.txt").write_text(text + first, encoding="utf8")
    assert [d.id for d in stream_corpus(tmp_path / "repeat.txt").documents][-1] == f"{collection.documents[0].id}-2"
    changed = first.replace("|t|", "|t|Changed ", 1)
    (tmp_path / "changed.txt").write_text(text + changed, encoding="utf8")
    with pytest.raises(InputFormatError, match=r"appears twice with different content \(first at line 1\)"):
        list(stream_corpus(tmp_path / "changed.txt").documents)
    assert json.dumps([d.id for d in read_corpus(tmp_path / "docs.txt").documents]) == json.dumps([d.id for d in collection.documents])


def test_pubmed_articles_below_another_element_are_freed_without_losing_any(tmp_path):
    """Parsed articles are deleted from their parent as reading goes on; one not directly under the root must not
    make that delete anything else."""
    article = "<PubmedArticle><MedlineCitation><PMID>{}</PMID><Article><ArticleTitle>T</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
    nested = "".join(article.format(pmid) for pmid in range(1, 5))
    (tmp_path / "nested.xml").write_text(f"<PubmedArticleSet><Set>{nested}</Set>{article.format(9)}</PubmedArticleSet>", encoding="utf8")
    assert [d.id for d in stream_corpus(tmp_path / "nested.xml").documents] == ["1", "2", "3", "4", "9"]


_BIOC_DOCUMENT = """<document><id>{id}</id><infon key="journal">J</infon>
  <passage><infon key="type">title</infon><offset>0</offset><text>Breast cancer.</text>
    <annotation id="{id}-1"><infon key="type">Disease</infon><location offset="0" length="13"/><text>Breast cancer</text></annotation>
  </passage>
  <passage><offset>15</offset><sentence><offset>15</offset><text>No text.</text></sentence>
    <relation id="R1"><infon key="kind">x</infon><node refid="{id}-1" role="a"/></relation></passage>
</document>"""


def test_bioc_xml_streamed_is_what_the_bioc_library_reads_and_its_documents_are_freed(tmp_path):
    """Against `biocxml.load` (the whole file at once): the collection's fields, infons, sentences and relations,
    and an encoding other than UTF-8; the parsed <document> elements are gone from the tree once read."""
    from bioc import biocxml, biocjson

    from spacy_xmr.corpus.xml_records import XmlRecords

    documents = "".join(_BIOC_DOCUMENT.format(id=f"d{number}") for number in range(5))
    xml = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<collection><source>PubTator</source><date>2026</date>'
           f'<key>k.key</key><infon key="note">Sjögren</infon>{documents}</collection>')
    (tmp_path / "c.xml").write_bytes(xml.encode("latin-1"))
    stream = stream_corpus(tmp_path / "c.xml")
    with open(tmp_path / "c.xml", "rb") as handle:
        expected = biocxml.load(handle)
    assert biocjson.dumps(stream.collection()) == biocjson.dumps(expected)
    assert stream.fields.encoding == expected.encoding == "ISO-8859-1"

    records = XmlRecords(tmp_path / "c.xml", "collection", "document", "BioC XML")
    assert len(list(records)) == 5 and records.root.findall("document") == []
    assert [child.tag for child in records.root] == ["source", "date", "key", "infon"]


@pytest.mark.parametrize("damage, message", [
    (lambda xml: xml[: len(xml) * 3 // 4], "malformed or truncated BioC XML"),
    (lambda xml: xml.replace("<id>d3</id>", "<id>d1</id>"), "document id 'd1' appears twice"),
    (lambda xml: xml.replace('<location offset="0" length="13"/>', '<location offset="0"/>', 5), "needs an integer 'length'"),
])
def test_bad_bioc_xml_is_reported_before_any_document_is_handed_out(tmp_path, damage, message):
    documents = "".join(_BIOC_DOCUMENT.format(id=f"d{number}") for number in range(5))
    (tmp_path / "c.xml").write_text(damage(f"<collection><source>S</source>{documents}</collection>"), encoding="utf8")
    with pytest.raises(InputFormatError, match=rf"c\.xml, line \d+: .*{message}"):
        stream_corpus(tmp_path / "c.xml")


def _bioc_json_document(number: int) -> dict:
    """A document whose texts hold escapes and characters of 2 to 4 UTF-8 bytes, so that a small window cuts them."""
    title = f"Sjögren\u2019s syndrome \U0001F9EC \"case\" {number}\\"
    return {"id": f"d{number}", "infons": {"year": 2000 + number, "note": None},
            "passages": [{"offset": 0, "infons": {"type": "title"}, "text": title, "annotations": [
                {"id": f"{number}-1", "infons": {"type": "Disease", "identifier": "MESH:D012859"}, "text": "Sjögren\u2019s syndrome",
                 "locations": [{"offset": 0, "length": 18}]}]}]}


def _bioc_json_shapes() -> dict[str, str]:
    documents = [_bioc_json_document(number) for number in range(4)]
    fields = {"source": "PMC", "date": "20240101", "key": "BioC.key", "infons": {"note": "n"}}
    return {
        "collection, fields after its documents": json.dumps({"documents": documents, **fields}, indent=1),
        "collection, fields first, ASCII escapes": json.dumps({**fields, "documents": documents}),
        "list of collections": json.dumps([{**fields, "documents": documents[:2]}, {"source": "other", "documents": documents[2:]}]),
        "PubTator 3 wrapper": json.dumps({"PubTator3": documents}),
        "JSON lines": "\n".join(json.dumps(document, ensure_ascii=False) for document in documents),
        "document with an authors list first": json.dumps({"authors": [{"name": "A"}], **documents[0]}),
    }


@pytest.mark.parametrize("shape", list(_bioc_json_shapes()))
def test_bioc_json_streamed_through_any_window_is_what_it_holds(tmp_path, monkeypatch, shape):
    """Read with windows of 1 to 40 bytes, so that every key, number, escape and multi-byte character is cut somewhere:
    the same documents and collection fields as `json` reading the file whole."""
    from spacy_xmr.corpus import json_stream

    text = _bioc_json_shapes()[shape]
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(("\ufeff" + text).encode("utf8")))
    expected = stream_corpus(tmp_path / "c.json.gz")
    expected_documents = [(d.id, d.infons, d.passages[0].text) for d in expected.documents]
    assert len(expected_documents) in (1, 4) and "\U0001F9EC" in expected_documents[0][2]
    for window in (1, 2, 3, 5, 7, 40):
        monkeypatch.setattr(json_stream, "CHUNK_BYTES", window)
        stream = stream_corpus(tmp_path / "c.json.gz")
        assert [(d.id, d.infons, d.passages[0].text) for d in stream.documents] == expected_documents
        assert (stream.fields.source, stream.fields.date, stream.fields.infons) == (
            (expected.fields.source, expected.fields.date, expected.fields.infons))
    if shape.startswith("collection"):
        assert (expected.fields.source, expected.fields.key, expected.fields.infons) == ("PMC", "BioC.key", {"note": "n"})


def _on_line(text: str, line: int, old: str, new: str) -> str:
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace(old, new)
    return "\n".join(lines)


@pytest.mark.parametrize("damage, message, line", [
    (lambda text: text[: len(text) * 3 // 4], "malformed or truncated JSON", None),
    (lambda text: text.replace('"id": "d3"', '"id": "d1"'), "document id 'd1' appears twice", 5),
    (lambda text: _on_line(text, 5, '"length": 18', '"length": "18"'), "location length must be an integer", 5),
    (lambda text: _on_line(text, 4, '"offset": 0, "infons": {"type": "title"}', '"offset": 0 "infons": {}'), "Expecting ','", 4),
    (lambda text: _on_line(text, 3, "}]}]},", "}]}]}"), r"expecting ',' or '\]', found '{'", 4),
    (lambda text: text.replace('{"documents": [', '{"documents": [3, '), "'documents' must hold objects, found 3", 1),
])
def test_bad_bioc_json_is_reported_with_its_line_before_any_document_is_handed_out(tmp_path, damage, message, line):
    documents = ",\n".join(json.dumps(_bioc_json_document(number)) for number in range(5))
    (tmp_path / "c.json").write_text(damage('{"documents": [\n' + documents + '\n], "source": "S"}'), encoding="utf8")
    with pytest.raises(InputFormatError, match=rf"c\.json, line \d+: .*{message}") as info:
        stream_corpus(tmp_path / "c.json")
    assert line is None or info.value.line == line


def test_undecodable_bytes_and_corrupt_gzip_in_bioc_json_name_their_line(tmp_path):
    text = "[\n" + ",\n".join(json.dumps(_bioc_json_document(number), ensure_ascii=False) for number in range(3)) + "\n]"
    latin1 = text.replace("\u2019", "'").replace("\U0001F9EC", "-")
    lines = latin1.split("\n")
    (tmp_path / "latin1.json").write_bytes(b"\n".join(line.encode("latin-1" if number == 3 else "utf8") for number, line in enumerate(lines, 1)))
    with pytest.raises(InputFormatError, match="not UTF-8") as info:
        stream_corpus(tmp_path / "latin1.json")
    assert info.value.line == 3
    data = gzip.compress(text.encode("utf8"))
    (tmp_path / "cut.json.gz").write_bytes(data[: len(data) - 12])
    with pytest.raises(InputFormatError, match=r"cut\.json\.gz.*(truncated|corrupt)"):
        stream_corpus(tmp_path / "cut.json.gz")


@pytest.mark.parametrize("value, message", [
    ({"PubTator3": [_bioc_json_document(1)], "count": 1}, r"found an object with keys \['PubTator3', 'count'\]"),
    ({"documents": [_bioc_json_document(1)], "passages": []}, 'holds both "documents" and "passages"'),
    ({"documents": {"id": "1"}}, "'documents' must be a list"),
    ('{"documents": [], "source": "S", "documents": [{"id": "1", "passages": []}]}', "'documents' appears twice"),
])
def test_bioc_json_objects_that_are_neither_collection_nor_document_nor_wrapper(tmp_path, value, message):
    (tmp_path / "c.json").write_text("\n" + (value if isinstance(value, str) else json.dumps(value)), encoding="utf8")
    with pytest.raises(InputFormatError, match=message) as info:
        stream_corpus(tmp_path / "c.json")
    assert info.value.line == 2
