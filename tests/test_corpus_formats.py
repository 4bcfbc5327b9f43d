"""Files recognised by content, not by name: BioC XML, BioC JSON (bioc package, PubTator 3 and PMC BioC API
shapes), PubTator, gzip by magic bytes, ontologies; and the user's own ids from corpus file to linked mention."""
from __future__ import annotations

import gzip
import json

import pytest
from bioc import biocjson, biocxml

from spacy_xmr.corpus import corpus_format, iter_mentions, read_bioc, read_corpus, write_bioc
from spacy_xmr.corpus.conversion import resolve_gold_ids
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import Concept, Ontology, read_ontology_file

from test_corpus_bioc import sample_collection
from test_corpus_pubtator import GOOD


def _write(path, data: str | bytes, compress: bool = False):
    raw = data.encode("utf8") if isinstance(data, str) else data
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def pubtator3_json_document(pmid: str = "31000001") -> dict:
    """A document as PubTator 3's biocjson export writes it: numbers and nulls in infons, passages with
    offsets, an abstract passage that does not start right after the title, no `sentences` keys."""
    title = "BRAF mutations in melanoma."
    abstract = "Melanoma patients with BRAF V600E respond to vemurafenib."
    return {
        "id": pmid, "infons": {"year": 2019, "journal": None},
        "passages": [
            {"offset": 0, "infons": {"type": "title"}, "text": title, "annotations": [
                {"id": "1", "infons": {"identifier": "673", "type": "Gene"}, "text": "BRAF",
                 "locations": [{"offset": 0, "length": 4}]},
                {"id": "2", "infons": {"identifier": "MESH:D008545", "type": "Disease"}, "text": "melanoma",
                 "locations": [{"offset": 18, "length": 8}]},
            ]},
            {"offset": 40, "infons": {"type": "abstract"}, "text": abstract, "annotations": [
                {"id": "3", "infons": {"identifier": "tmVar:p|SUB|V|600|E;HGVS:p.V600E", "type": "Variant"},
                 "text": "V600E", "locations": [{"offset": 40 + abstract.index("V600E"), "length": 5}]},
                {"id": "4", "infons": {"identifier": "MESH:D008545", "type": "Disease"}, "text": "Melanoma",
                 "locations": [{"offset": 40, "length": 8}]},
            ], "relations": []},
        ],
        "relations": [{"id": "R1", "infons": {"type": "Association"},
                       "nodes": [{"refid": "1", "role": "Gene"}, {"refid": "2", "role": "Disease"}]}],
    }


def test_bioc_json_from_the_bioc_package_round_trips(tmp_path):
    collection = sample_collection()
    path = _write(tmp_path / "corpus.txt", biocjson.dumps(collection))
    assert corpus_format(path).name == "BioC JSON"
    assert biocxml.dumps(read_corpus(path)) == biocxml.dumps(collection)


@pytest.mark.parametrize("shape", ["pubtator3", "list_of_collections", "json_lines", "single_document"])
def test_bioc_json_api_shapes(tmp_path, shape):
    documents = [pubtator3_json_document("1"), pubtator3_json_document("2")]
    collection = {"source": "PMC", "date": "2024", "key": "BioC.key", "infons": {}, "documents": documents}
    text = {
        "pubtator3": json.dumps({"PubTator3": documents}),
        "list_of_collections": json.dumps([collection]),
        "json_lines": "\n".join(json.dumps(d) for d in documents),
        "single_document": json.dumps(documents[0]),
    }[shape]
    loaded = read_corpus(_write(tmp_path / "export.json", text))
    assert [d.id for d in loaded.documents] == ["1", "2"][: len(loaded.documents)] and loaded.documents
    mentions = list(iter_mentions(loaded, entity_types=["Disease", "Variant"]))
    assert [(m.text, m.gold_ids) for m in mentions[:3]] == [
        ("melanoma", ["MESH:D008545"]), ("Melanoma", ["MESH:D008545"]), ("V600E", ["tmVar:p|SUB|V|600|E", "HGVS:p.V600E"]),
    ]
    assert all(m.document_text[m.start:m.end] == m.text for m in mentions)
    assert loaded.documents[0].infons == {"year": "2019", "journal": ""}


def test_passages_not_starting_at_zero_and_discontinuous_annotations(tmp_path):
    document = pubtator3_json_document()
    for passage in document["passages"]:
        passage["offset"] += 1000
        for annotation in passage["annotations"]:
            annotation["locations"][0]["offset"] += 1000
    document["passages"][1]["annotations"].append(
        {"id": "5", "infons": {"type": "Disease", "identifier": "MESH:D008545"}, "text": "Melanoma patients",
         "locations": [{"offset": 1040, "length": 8}, {"offset": 1049, "length": 8}]})
    collection = read_corpus(_write(tmp_path / "x.json", json.dumps(document)))
    mentions = {m.annotation_id: m for m in iter_mentions(collection)}
    assert (mentions["2"].start, mentions["2"].document_text[mentions["2"].start:mentions["2"].end]) == (1018, "melanoma")
    assert (mentions["5"].start, mentions["5"].end) == (1040, 1057), "linked as the covering span"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda text: text[: len(text) // 2], "truncated JSON"),
        (lambda text: text.replace('"offset": 0,', '"offset": "zero",', 1), "must be an integer"),
        (lambda text: text.replace('"passages"', '"passage_list"', 1), "expected a BioC collection"),
        (lambda text: text.replace('"text": "BRAF"', '"text": "BRAG"', 1), "document 2, annotation '1'.*does not match"),
        (lambda text: text.replace('"id": "2"', '"id": "1"', 1), "document id '1' appears twice"),
    ],
)
def test_bad_bioc_json_names_file_line_and_field(tmp_path, mutate, message):
    text = json.dumps(pubtator3_json_document("1")) + "\n" + mutate(json.dumps(pubtator3_json_document("2")))
    path = _write(tmp_path / "bad.json", text)
    with pytest.raises(InputFormatError, match=message) as info:
        read_corpus(path)
    assert info.value.path == path and info.value.line == 2


@pytest.mark.parametrize("compress", [False, True])
def test_format_is_decided_by_content_whatever_the_name(tmp_path, compress):
    write_bioc(sample_collection(), tmp_path / "bioc.xml")
    files = {
        "BioC XML": _write(tmp_path / "corpus.txt", (tmp_path / "bioc.xml").read_bytes(), compress),
        "BioC JSON": _write(tmp_path / "corpus.xml", biocjson.dumps(sample_collection()), compress),
        "PubTator": _write(tmp_path / "corpus.json.gz", GOOD, compress),
    }
    for name, path in files.items():
        assert corpus_format(path).name == name
        assert read_corpus(path).documents


def test_unknown_content_and_wrong_reader_errors_say_what_was_found(tmp_path):
    with pytest.raises(InputFormatError, match=r"unrecognised corpus format: found the text 'hello'.*PubTator") as info:
        read_corpus(_write(tmp_path / "notes.txt", "\n\nhello\n"))
    assert info.value.line == 3
    with pytest.raises(InputFormatError, match="root element <html>"):
        read_corpus(_write(tmp_path / "page.xml", "<?xml version='1.0'?>\n<!-- x -->\n<html></html>"))
    with pytest.raises(InputFormatError, match="looks like PubTator") as info:
        read_bioc(_write(tmp_path / "named.xml", GOOD))
    assert info.value.line == 1
    assert read_corpus(_write(tmp_path / "empty.txt", "")).documents == []


def test_ontology_files_are_recognised_by_content(tmp_path, synthetic_ontology):
    names = ["onto.json.gz", "onto.jsonl", "ontology.txt"]
    synthetic_ontology.to_disk(tmp_path / names[0])
    (tmp_path / names[1]).write_bytes(gzip.decompress((tmp_path / names[0]).read_bytes()))
    (tmp_path / names[2]).write_bytes((tmp_path / names[0]).read_bytes())
    for name in names:
        assert len(read_ontology_file(tmp_path / name)) == len(synthetic_ontology)
    medic_row = "Breast cancer\tMESH:D001943\t\t\t\t\t\tbreast tumour\t\n"
    _write(tmp_path / "medic.dat", "# DiseaseName\tDiseaseID\n" + medic_row, compress=True)
    assert read_ontology_file(tmp_path / "medic.dat").resolve("MESH:D001943") == "MESH:D001943"
    with pytest.raises(InputFormatError, match="expected a spacy-xmr ontology.*found 'hello'"):
        read_ontology_file(_write(tmp_path / "x.jsonl.gz", "hello\n"))


def test_a_users_own_prefix_works_from_corpus_file_to_linked_mention(tmp_path, synthetic_ontology, synthetic_mentions):
    """An ontology under the prefix `ZZ` (built with the Python API), a PubTator corpus annotated with those
    ids: nothing rejects, rewrites or loses them, and the trained model links to them."""
    from synthetic import train_model

    rename = {c.id: f"ZZ:{i:04d}" for i, c in enumerate(synthetic_ontology)}
    ontology = Ontology([
        Concept(rename[c.id], c.name, synonyms=c.synonyms, parents=[rename[p] for p in c.parents])
        for c in synthetic_ontology
    ])
    lines = []
    for number, mention in enumerate(synthetic_mentions["train"][:200]):
        ids = "|".join(rename[i] for i in mention.gold_ids)
        mention_line = f"{number}\t0\t{len(mention.text)}\t{mention.text}\tDisease\t{ids}"
        lines += [f"{number}|t|{mention.text}", f"{number}|a|", mention_line, ""]
    corpus = read_corpus(_write(tmp_path / "zz.txt", "\n".join(lines)))
    mentions = list(iter_mentions(corpus))
    assert all(i.startswith("ZZ:") for m in mentions for i in m.gold_ids)
    assert sum(resolve_gold_ids(corpus, ontology).missing.values()) == 0
    model = train_model(ontology, mentions)
    top = [ranking[0][0] for ranking in model.predict([m.text for m in mentions[:20]])]
    assert sum(t in m.gold_ids for t, m in zip(top, mentions)) >= 15


def test_blank_start_and_corrupt_gzip_are_not_taken_for_an_empty_file(tmp_path):
    assert len(read_corpus(_write(tmp_path / "late.txt", "\n" * 70_000 + GOOD)).documents) == 1
    with pytest.raises(InputFormatError, match="truncated or corrupt gzip") as info:
        read_corpus(_write(tmp_path / "cut.gz", gzip.compress(GOOD.encode("utf8"))[:12]))
    assert info.value.line == 1


def test_an_entity_type_that_no_annotation_has_is_named_in_a_warning(tmp_path, caplog):
    path = _write(tmp_path / "doc.json", json.dumps(pubtator3_json_document()))
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        assert not list(iter_mentions(read_corpus(path, entity_types=["Chemcial"])))
    assert "doc.json: no annotation has the entity type 'Chemcial'; the file's types are" in caplog.text
    assert "'Disease'" in caplog.text and "'Gene'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        assert list(iter_mentions(read_corpus(path, entity_types=["Disease", "Chemcial"])))
    assert not caplog.text


def test_a_json_line_whose_text_holds_a_pubtator_marker_is_read_as_jsonl(tmp_path):
    path = _write(tmp_path / "docs.txt", json.dumps({"id": "n1", "text": "Notes.\n\n99|t|not a title"}) + "\n")
    assert corpus_format(path).name == "JSONL"
    assert [d.id for d in read_corpus(path).documents] == ["n1"]


def test_a_document_longer_than_the_pipelines_max_length_is_named(tmp_path):
    import spacy

    from spacy_xmr.corpus import collection_to_docs
    from spacy_xmr.errors import SpacyXmrError

    path = _write(tmp_path / "docs.jsonl", "\n".join(json.dumps({"id": i, "text": text}) for i, text in
                                                     [("short", "Flu."), ("long1", "Flu and cold. " * 20)]))
    nlp = spacy.blank("en")
    nlp.max_length = 100
    with pytest.raises(SpacyXmrError, match=r"document long1: 280 characters, more than the pipeline's nlp.max_length \(100\)"):
        collection_to_docs(read_corpus(path), nlp)
