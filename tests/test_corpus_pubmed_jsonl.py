"""PubMed XML and JSONL readers, and the JSONL and PubTator writers, through the content-sniffing `read_corpus`."""
from __future__ import annotations

import gzip
import json

import pytest

from spacy_xmr.corpus import document_text, iter_mentions
from spacy_xmr.corpus.candidates import NIL, PREDICTED_ID, get_candidates, set_candidates
from spacy_xmr.corpus.formats import corpus_format, read_corpus
from spacy_xmr.corpus.jsonl import read_jsonl, write_jsonl
from spacy_xmr.corpus.pubtator_writer import write_pubtator
from spacy_xmr.errors import InputFormatError
from synthetic import synthetic_collection, synthetic_ontology

PUBMED_XML = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">{pmid1}</PMID>
      <Article PubModel="Print">
        <ArticleTitle>Familial <i>BRCA1</i> breast cancer.</ArticleTitle>
        <Abstract>
          <AbstractText Label="BACKGROUND">Breast cancer runs in
            families.</AbstractText>
          <AbstractText Label="RESULTS">Ovarian cancer was seen in 3 of 12 carriers.</AbstractText>
        </Abstract>
      </Article>
    </MedlineCitation>
  </PubmedArticle>
  <PubmedBookArticle><BookDocument><PMID Version="1">999</PMID></BookDocument></PubmedBookArticle>
  <PubmedArticle>
    <MedlineCitation><PMID Version="1">{pmid2}</PMID><Article><ArticleTitle>A title without abstract.</ArticleTitle></Article></MedlineCitation>
  </PubmedArticle>
  <PubmedArticle>
    <MedlineCitation><PMID Version="2">{pmid1}</PMID><Article><ArticleTitle>Revised title.</ArticleTitle>
      <Abstract><AbstractText>Revised abstract.</AbstractText></Abstract></Article></MedlineCitation>
  </PubmedArticle>
</PubmedArticleSet>
"""


def _pubmed(tmp_path, name="pubmed24n0001.xml", pmid1="11111", pmid2="22222", text=None):
    path = tmp_path / name
    data = (text or PUBMED_XML.format(pmid1=pmid1, pmid2=pmid2)).encode("utf8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", ["pubmed24n0001.xml", "pubmed24n0001.xml.gz"])
def test_pubmed_xml_gives_pmid_title_and_abstract(tmp_path, name):
    path = _pubmed(tmp_path, name)
    assert corpus_format(path).name == "PubMed XML"
    collection = read_corpus(path)
    assert [d.id for d in collection.documents] == ["22222", "11111"]  # the book is skipped, the revision replaces
    no_abstract, revised = collection.documents
    assert [p.text for p in no_abstract.passages] == ["A title without abstract.", ""]
    assert document_text(revised) == "Revised title. Revised abstract."
    assert [p.infons["type"] for p in revised.passages] == ["title", "abstract"]


def test_an_update_files_deleted_citations_are_left_out(tmp_path):
    deletion = "<DeleteCitation><PMID Version=\"1\">11111</PMID><PMID Version=\"1\">33333</PMID></DeleteCitation>\n"
    text = PUBMED_XML.format(pmid1="11111", pmid2="22222").replace("</PubmedArticleSet>", deletion + "</PubmedArticleSet>")
    assert [d.id for d in read_corpus(_pubmed(tmp_path, text=text)).documents] == ["22222"]


def test_pubmed_xml_flattens_markup_and_joins_sections(tmp_path):
    text = PUBMED_XML.format(pmid1="1", pmid2="2").replace("Revised", "Other").replace('<PMID Version="2">1', '<PMID Version="2">3')
    document = read_corpus(_pubmed(tmp_path, text=text)).documents[0]
    title, abstract = document.passages
    assert title.text == "Familial BRCA1 breast cancer."
    assert abstract.offset == len(title.text) + 1
    assert abstract.text == "Breast cancer runs in families. Ovarian cancer was seen in 3 of 12 carriers."


def test_truncated_pubmed_xml_names_the_line(tmp_path):
    lines = PUBMED_XML.format(pmid1="1", pmid2="2").splitlines()
    path = _pubmed(tmp_path, text="\n".join(lines[:12]))
    with pytest.raises(InputFormatError, match=r"pubmed24n0001.xml, line \d+: malformed or truncated PubMed XML"):
        read_corpus(path)


def test_a_cut_gzipped_pubmed_file_is_named_by_the_last_record_read_whole(tmp_path):
    articles = "".join(f"<PubmedArticle><MedlineCitation><PMID>{n}</PMID><Article><ArticleTitle>Title {n} " + "x" * 200
                       + "</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n" for n in range(1, 400))
    data = gzip.compress(f"<PubmedArticleSet>\n{articles}</PubmedArticleSet>\n".encode())
    path = tmp_path / "pubmed24n0002.xml.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="truncated or corrupt gzip") as info:
        read_corpus(path)
    assert 1 < info.value.line < 400  # the line of the last article read before the cut


def test_pubmed_article_without_pmid_is_an_error(tmp_path):
    text = PUBMED_XML.format(pmid1="1", pmid2="").replace('<PMID Version="1"></PMID>', "")
    article_lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "<PubmedArticle>"]
    with pytest.raises(InputFormatError, match=f"line {article_lines[1]}: PubmedArticle without MedlineCitation/PMID"):
        read_corpus(_pubmed(tmp_path, text=text))


def _write_lines(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf8")
    return path


def test_jsonl_reads_text_and_title_abstract_lines_with_entities(tmp_path):
    path = _write_lines(tmp_path / "docs.jsonl", [
        {"id": "a", "text": "Lung cancer and asthma.", "entities": [{"start": 0, "end": 11, "type": "Disease", "identifier": "MESH:D008175"}]},
        "",
        {"id": 7, "title": "Asthma", "abstract": "Wheezing in asthma.", "entities": [{"start": 19, "end": 25, "type": "Disease"}]},
    ])
    assert corpus_format(path).name == "JSONL"
    first, second = read_corpus(path).documents
    assert document_text(first) == "Lung cancer and asthma." and second.id == "7"
    assert document_text(second) == "Asthma Wheezing in asthma."
    [lung] = [m for m in iter_mentions(read_corpus(path)) if m.document_id == "a"]
    assert (lung.text, lung.gold_ids) == ("Lung cancer", ["MESH:D008175"])
    [asthma] = second.passages[1].annotations  # placed in the passage that holds it
    assert asthma.text == "asthma" and "identifier" not in asthma.infons


@pytest.mark.parametrize("record, message", [
    ('{"id": "a", "text": ', "line 2: not valid JSON"),
    ({"text": "no id"}, 'line 2: each document needs a non-empty "id"'),
    ({"id": "b"}, 'line 2: a document needs "text", or "title" and "abstract"'),
    ({"id": "b", "text": "short", "entities": [{"start": 2, "end": 9, "type": "X"}]}, "line 2: entity 0: start/end 2-9"),
    ({"id": "a", "text": "again"}, "line 2: document id 'a' already used on line 1"),
    ({"id": "b", "text": "short", "entities": [{"start": 0, "end": 5, "type": "X", "kb_id": 7}]}, "line 2: entity 0: kb_id must be"),
])
def test_bad_jsonl_lines_are_named(tmp_path, record, message):
    path = _write_lines(tmp_path / "bad.jsonl", [{"id": "a", "text": "fine"}, record])
    with pytest.raises(InputFormatError, match=message):
        read_jsonl(path)


def _predicted_collection():
    """A synthetic BioC collection whose annotations carry candidates (as annotate writes them)."""
    collection = synthetic_collection(synthetic_ontology(60, seed=3), 8, seed=3)
    for document in collection.documents:
        for passage in document.passages:
            for index, annotation in enumerate(passage.annotations):
                gold = annotation.infons["identifier"].split("|")[0]
                set_candidates(annotation, [(gold, 0.9), ("MESH:D000001", 0.1 * index)])
                if index % 2:  # made NIL by a threshold, as the linker does: the decision is not the first candidate
                    annotation.infons[PREDICTED_ID] = NIL
    return collection


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz"])
def test_jsonl_writer_round_trips_text_spans_and_candidates(tmp_path, name):
    collection = _predicted_collection()
    write_jsonl(collection, tmp_path / name)
    again = read_corpus(tmp_path / name)
    assert [document_text(d) for d in again.documents] == [document_text(d) for d in collection.documents]
    original = {(m.document_id, m.start, m.end, m.text, tuple(m.gold_ids)) for m in iter_mentions(collection)}
    assert {(m.document_id, m.start, m.end, m.text, tuple(m.gold_ids)) for m in iter_mentions(again)} == original
    candidates = [(get_candidates(a), a.infons[PREDICTED_ID]) for d in again.documents for p in d.passages for a in p.annotations]
    assert candidates == [(get_candidates(a), a.infons[PREDICTED_ID]) for d in collection.documents for p in d.passages
                          for a in p.annotations]
    assert NIL in {kb_id for _, kb_id in candidates}


def test_pubtator_writer_round_trips_and_writes_predictions(tmp_path):
    collection = _predicted_collection()
    write_pubtator(collection, tmp_path / "out.pubtator")
    again = read_corpus(tmp_path / "out.pubtator")
    assert [document_text(d) for d in again.documents] == [document_text(d) for d in collection.documents]
    predicted = {(m.document_id, m.start, m.end, m.text, tuple(m.gold_ids)) for m in iter_mentions(again)}
    decisions = {(d.id, a.id): a.infons[PREDICTED_ID] for d in collection.documents for p in d.passages for a in p.annotations}
    assert predicted == {(m.document_id, m.start, m.end, m.text, () if decisions[m.key] == NIL else (decisions[m.key],))
                         for m in iter_mentions(collection)}  # a NIL decision is written as PubTator's -1: no id


def test_pubtator_output_of_a_pubmed_file_reads_back(tmp_path):
    collection = read_corpus(_pubmed(tmp_path))
    write_pubtator(collection, tmp_path / "out.txt")
    assert [document_text(d) for d in read_corpus(tmp_path / "out.txt").documents] == [document_text(d) for d in collection.documents]


def test_annotates_manifest_is_named_when_read_as_a_corpus(tmp_path):
    manifest = _write_lines(tmp_path / "_manifest.jsonl", [{"input": "a.xml", "output": "a.xml", "documents": 3, "status": "ok"}])
    with pytest.raises(InputFormatError, match="_manifest.jsonl: the manifest that `spacy-xmr annotate` writes"):
        read_corpus(manifest)
