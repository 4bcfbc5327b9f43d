"""Corpus files written a document at a time (`corpus/writers.py`): the same bytes as a whole collection written
at once, atomic (nothing replaced on error), gzipped reproducibly, and temporaries of killed writes cleaned up."""
from __future__ import annotations

import copy
import gzip

import bioc
import pytest
from bioc import biocxml

from spacy_xmr.atomic import remove_leftover_temporaries
from spacy_xmr.corpus import read_corpus, set_candidates, write_bioc
from spacy_xmr.corpus.bioc_io import BIOC_XML_OUTPUT
from spacy_xmr.corpus.jsonl import JSONL_OUTPUT
from spacy_xmr.corpus.pubtator_writer import PUBTATOR_OUTPUT
from spacy_xmr.corpus.writers import corpus_writer, write_collection
from synthetic import synthetic_collection

ODD_TEXTS = ["   ", "", "\n\n", " a\n b ", "<&>\u00e9\U0001F600 \"'", "\t"]


def _odd_collection() -> bioc.BioCCollection:
    """Whitespace-only and empty texts, markup characters, sentences, relations, empty passages and infons: what
    pretty-printing could treat differently inside and outside a collection."""
    collection = bioc.BioCCollection()
    collection.source, collection.key, collection.infons = "odd", "", {"k": "  ", "empty": ""}
    for number, text in enumerate(ODD_TEXTS):
        document = bioc.BioCDocument()
        document.id, document.infons = f"d{number}", {"w": text}
        passage = bioc.BioCPassage.of_text(text, 0)
        passage.infons["type"] = text
        annotation = bioc.BioCAnnotation()
        annotation.id, annotation.text, annotation.infons = "1", text, {"x": text}
        annotation.add_location(bioc.BioCLocation(0, 1))
        passage.add_annotation(annotation)
        sentence = bioc.BioCSentence()
        sentence.offset, sentence.text = 0, text
        passage.add_sentence(sentence)
        relation = bioc.BioCRelation()
        relation.id = "R1"
        relation.add_node(bioc.BioCNode("1", "role"))
        document.add_relation(relation)
        document.add_passage(passage)
        document.add_passage(bioc.BioCPassage())
        collection.add_document(document)
    return collection


def test_bioc_xml_written_by_document_is_what_biocxml_dumps_gives(tmp_path):
    for collection in [_odd_collection(), bioc.BioCCollection()]:
        write_bioc(collection, tmp_path / "out.xml")
        assert (tmp_path / "out.xml").read_bytes() == biocxml.dumps(collection).encode("utf-8")


def test_a_real_corpus_round_trips_byte_for_byte(ncbi_dir, tmp_path):
    collection = read_corpus(ncbi_dir / "NCBIdevelopset_corpus.txt")
    write_bioc(collection, tmp_path / "dev.xml")
    assert (tmp_path / "dev.xml").read_bytes() == biocxml.dumps(collection).encode("utf-8")


@pytest.mark.parametrize("output_format", [BIOC_XML_OUTPUT, JSONL_OUTPUT, PUBTATOR_OUTPUT], ids=lambda f: f.name)
def test_batches_written_one_after_another_equal_the_whole_collection(synthetic_ontology, tmp_path, output_format):
    collection = synthetic_collection(synthetic_ontology, 7, seed=3)
    for document in collection.documents:
        for annotation in document.passages[-1].annotations:
            set_candidates(annotation, [("MESH:D000001", 0.5), ("MESH:D000002", 0.25)])
    write_collection(collection, tmp_path / "whole", output_format)
    with corpus_writer(tmp_path / "batched.gz", output_format) as writer:
        for first in range(0, 7, 3):
            batch = copy.copy(collection)
            batch.documents = collection.documents[first:first + 3]
            writer.write(batch)
    assert writer.documents == 7
    assert gzip.decompress((tmp_path / "batched.gz").read_bytes()) == (tmp_path / "whole").read_bytes()
    first_bytes = (tmp_path / "batched.gz").read_bytes()
    with corpus_writer(tmp_path / "batched.gz", output_format) as writer:
        writer.write(collection)
    assert (tmp_path / "batched.gz").read_bytes() == first_bytes  # gzip without a timestamp: reproducible


def test_a_writer_that_wrote_nothing_gives_an_empty_collection(tmp_path):
    with corpus_writer(tmp_path / "empty.xml", BIOC_XML_OUTPUT):
        pass
    assert read_corpus(tmp_path / "empty.xml").documents == []


def test_an_error_while_writing_leaves_the_previous_output_and_no_temporary(synthetic_ontology, tmp_path):
    collection = synthetic_collection(synthetic_ontology, 4, seed=5)
    write_bioc(collection, tmp_path / "out.xml")
    before = (tmp_path / "out.xml").read_bytes()
    with pytest.raises(RuntimeError, match="linking failed"):
        with corpus_writer(tmp_path / "out.xml", BIOC_XML_OUTPUT) as writer:
            writer.write(synthetic_collection(synthetic_ontology, 2, seed=6))
            raise RuntimeError("linking failed")
    assert (tmp_path / "out.xml").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xml"]


def test_leftover_temporaries_of_one_output_are_removed_and_no_others(tmp_path):
    names = [".out.xml.abc123.tmp", ".out.xml.x.tmp", ".other.xml.abc.tmp", "out.xml", ".out.xml[1].q.tmp"]
    for name in names:
        (tmp_path / name).write_text("partial")
    remove_leftover_temporaries(tmp_path / "out.xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.xml.abc.tmp", ".out.xml[1].q.tmp", "out.xml"]
