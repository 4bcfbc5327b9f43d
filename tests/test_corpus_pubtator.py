"""PubTator reading: real NCBI Disease / BC5CDR counts, id normalisation, and errors that name file and line."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.corpus import iter_mentions, read_pubtator
from spacy_xmr.errors import InputFormatError

# Counted from the raw files with a one-off awk script (lines with >= 6 tab-separated cells per document).
NCBI_COUNTS = {"trainset": (593, 5145), "developset": (100, 787), "testset": (100, 960)}
BC5CDR_DISEASE_DEV = (500, 4244)  # the official BC5CDR development figures


@pytest.mark.parametrize("split", sorted(NCBI_COUNTS))
def test_ncbi_disease_counts_offsets_and_ids(ncbi_dir, split):
    collection = read_pubtator(ncbi_dir / f"NCBI{split}_corpus.txt")
    mentions = list(iter_mentions(collection))
    assert (len(collection.documents), len(mentions)) == NCBI_COUNTS[split]
    for mention in mentions:
        assert mention.document_text[mention.start:mention.end] == mention.text
        assert mention.gold_ids and all(i.startswith(("MESH:D", "MESH:C", "OMIM:")) for i in mention.gold_ids)


def test_ncbi_duplicate_document_is_kept_under_a_unique_id(ncbi_dir):
    collection = read_pubtator(ncbi_dir / "NCBItrainset_corpus.txt")
    ids = [document.id for document in collection.documents]
    assert len(ids) == len(set(ids))
    repeat = next(d for d in collection.documents if d.id == "8528200-2")
    assert repeat.infons["duplicate_of"] == "8528200"


def test_ncbi_composite_ids_are_split(ncbi_dir):
    mentions = list(iter_mentions(read_pubtator(ncbi_dir / "NCBItrainset_corpus.txt")))
    plus_joined = [m for m in mentions if m.text.startswith('generalized epilepsy and febrile seizures " plus "')]
    assert plus_joined and plus_joined[0].gold_ids == ["MESH:D004829", "MESH:D003294"]


def test_bc5cdr_disease_only_with_composites(bc5cdr_dir):
    collection = read_pubtator(bc5cdr_dir / "CDR_DevelopmentSet.PubTator.txt", entity_types=["Disease"])
    mentions = list(iter_mentions(collection))
    assert (len(collection.documents), len(mentions)) == BC5CDR_DISEASE_DEV
    assert {m.type for m in mentions} == {"Disease"}
    composites = [
        a for d in collection.documents for p in d.passages for a in p.annotations if "composite_mentions" in a.infons
    ]
    hemorrhagic_cystitis = [a for a in composites if a.infons["composite_mentions"] == "hemorrhagic|cystitis"]
    assert hemorrhagic_cystitis and hemorrhagic_cystitis[0].infons["identifier"] == "MESH:D006470|MESH:D003556"
    without_id = [m for m in mentions if not m.gold_ids]
    assert without_id, "BC5CDR has -1 ids; they must give mentions without gold ids, not fail"


def _write(tmp_path, text: str):
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf8")
    return path


GOOD = "1|t|Breast cancer.\n1|a|It is rare.\n1\t0\t13\tBreast cancer\tDisease\tD001943\n1\tCID\tD1\tD2\n"


def test_title_and_abstract_offsets_and_relation_lines(tmp_path):
    collection = read_pubtator(_write(tmp_path, GOOD))
    title, abstract = collection.documents[0].passages
    assert (title.offset, abstract.offset) == (0, len("Breast cancer.") + 1)
    (annotation,) = title.annotations
    assert annotation.infons == {"type": "Disease", "identifier": "MESH:D001943"}


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("1|t|Cancer.\n1\t0\t99\tCancer\tDisease\tD1\n", 2, "outside"),
        ("1|t|Cancer.\n1\t0\t6\tTumour\tDisease\tD001943\n", 2, "does not match"),
        ("1|t|Cancer.\n1\t0\t6\tCancer\tDisease\tFOO:1\n", 2, "unknown prefix"),
        ("1|t|Cancer.\n1\t0\t6\tCancer\n", 2, "columns"),
        ("1|t|Cancer.\n1\tx\t6\tCancer\tDisease\tD001943\n1\t0\tsix\tCancer\tDisease\tD001943\n", 3, "not integers"),
        ("2\t0\t6\tCancer\tDisease\tD001943\n", 1, "does not follow"),
        ("1|t|Cancer.\n\n1|t|Other.\n", 3, "different content"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputFormatError, match=message) as info:
        read_pubtator(path)
    assert info.value.line == line and str(path) in str(info.value)


def test_empty_file_and_minus_one_ids(tmp_path):
    with pytest.raises(InputFormatError, match="no documents"):
        read_pubtator(_write(tmp_path, "\n\n"))
    collection = read_pubtator(_write(tmp_path, "1|t|Cancer.\n1\t0\t6\tCancer\tDisease\t-1\n"))
    (mention,) = iter_mentions(collection)
    assert mention.gold_ids == [] and "identifier" not in collection.documents[0].passages[0].annotations[0].infons


words = st.text(alphabet="abcdefgh XYZ.,-", min_size=1, max_size=12).filter(lambda w: w.strip() == w and w)


@settings(max_examples=40, deadline=None)
@given(title=st.lists(words, min_size=1, max_size=6), abstract=st.lists(words, max_size=12), data=st.data())
def test_written_pubtator_reads_back(tmp_path_factory, title, abstract, data):
    title_text, abstract_text = " ".join(title), " ".join(abstract)
    full = f"{title_text} {abstract_text}"
    spans = []
    for offset, text in ((0, title_text), (len(title_text) + 1, abstract_text)):
        cursor = 0
        for word in text.split(" "):
            start = text.index(word, cursor)
            cursor = start + len(word)
            if word.strip() and data.draw(st.booleans()):
                spans.append((offset + start, offset + cursor))
    lines = [f"7|t|{title_text}", f"7|a|{abstract_text}"]
    lines += [f"7\t{s}\t{e}\t{full[s:e]}\tDisease\tD{100000 + i:06d}" for i, (s, e) in enumerate(spans)]
    path = tmp_path_factory.mktemp("pt") / "c.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    mentions = list(iter_mentions(read_pubtator(path)))
    assert [(m.start, m.end) for m in mentions] == sorted(spans)
    for mention in mentions:
        assert mention.document_text == full
        assert full[mention.start:mention.end] == mention.text
        assert mention.sentence_start <= mention.start < mention.end <= mention.sentence_end
