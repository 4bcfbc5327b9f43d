"""PubTator reading: real NCBI Disease / BC5CDR counts, every public shape (multi-type PubTator 3 exports,
BioRED relation lines, passage records), opaque ids, and errors that name file and line."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.corpus import iter_mentions, read_corpus, read_pubtator
from spacy_xmr.corpus.conversion import resolve_gold_ids
from spacy_xmr.errors import InputFormatError
from spacy_xmr.ontology import Concept, Ontology

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


def _write(tmp_path, text: str | bytes, name: str = "corpus.txt"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf8"))
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
        ("1|t|Cancer.\nCancer is bad\n", 2, "neither"),
        ("1|t|Cancer.\n1\t0\t6\tCancer\n", 2, "columns"),
        ("1|t|Cancer.\n1\tx\t6\tCancer\tDisease\tD001943\n1\t0\tsix\tCancer\tDisease\tD001943\n", 3, "not integers"),
        ("2\t0\t6\tCancer\tDisease\tD001943\n", 1, "does not follow"),
        ("1|t|Cancer.\n\n2|t|Two.\n\n1|t|Other.\n", 5, "different content"),
        ("1|t|Cancer. Here.\n1|a|More.\n1\t10\t16\tre. Mo\tDisease\t-\n", 3, "crosses"),
        ("1|a|Only an abstract.\n", 1, "no title line"),
        (b"1|t|Caf\xe9.\n", 1, "not UTF-8"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputFormatError, match=message) as info:
        read_pubtator(path)
    assert info.value.line == line and str(path) in str(info.value)


def test_empty_file_and_minus_one_ids(tmp_path):
    assert read_pubtator(_write(tmp_path, "\n\n")).documents == []
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


def _line(pmid, start, end, text, entity_type, ids):
    return f"{pmid}\t{start}\t{end}\t{text}\t{entity_type}\t{ids}"


def pubtator3_export() -> str:
    """A PubTator 3 / BioRED style abstract: genes, variants (dbSNP and tmVar), species, cell lines, a
    disease under a prefixed MeSH id, a chemical with two ids, and relation lines of 4 and 5 columns."""
    title = "BRAF V600E (rs113488022) drives melanoma in human A375 cells."
    abstract = "Vemurafenib; cisplatin+dacarbazine and TP53 p.R175H were tested."
    full = f"{title} {abstract}"

    def at(text, entity_type, ids, after=0):
        start = full.index(text, after)
        return _line("99", start, start + len(text), text, entity_type, ids)

    return "\n".join([
        f"99|t|{title}", f"99|a|{abstract}",
        at("BRAF", "Gene", "673"),
        at("V600E", "Variant", "tmVar:p|SUB|V|600|E;HGVS:p.V600E;VariantGroup:0;CorrespondingGene:673"),
        at("rs113488022", "Variant", "rs113488022"),
        at("melanoma", "Disease", "MESH:D008545"),
        at("human", "Species", "9606"),
        at("A375", "CellLine", "CVCL_0132"),
        at("Vemurafenib", "Chemical", "MESH:D000077484,CHEBI:63637"),
        at("cisplatin+dacarbazine", "Chemical", "MESH:D002945+MESH:D003606"),
        at("TP53", "Gene", "7157"),
        at("p.R175H", "Variant", "p|SUB|R|175|H"),
        "99\tAssociation\tMESH:D008545\t673",
        "99\tPositive_Correlation\tMESH:D008545\trs113488022\tNovel",
    ]) + "\n"


def test_pubtator3_multi_type_export_keeps_every_id_opaque(tmp_path):
    mentions = list(iter_mentions(read_pubtator(_write(tmp_path, pubtator3_export()))))
    ids = {m.text: m.gold_ids for m in mentions}
    assert ids["BRAF"] == ["673"] and ids["human"] == ["9606"] and ids["A375"] == ["CVCL_0132"]
    assert ids["rs113488022"] == ["rs113488022"] and ids["p.R175H"] == ["p|SUB|R|175|H"]
    assert ids["V600E"][0] == "tmVar:p|SUB|V|600|E" and "HGVS:p.V600E" in ids["V600E"]
    assert ids["melanoma"] == ["MESH:D008545"]
    assert ids["Vemurafenib"] == ["MESH:D000077484", "CHEBI:63637"]
    assert ids["cisplatin+dacarbazine"] == ["MESH:D002945", "MESH:D003606"]
    assert len(mentions) == 10, "relation lines of 4 and 5 columns are skipped, not read as mentions"


def test_entity_type_filter_comes_before_ids_and_only_kept_ids_resolve(tmp_path):
    path = _write(tmp_path, pubtator3_export())
    collection = read_corpus(path, entity_types=["Disease"])
    assert [m.text for m in iter_mentions(collection)] == ["melanoma"]
    ontology = Ontology([Concept("MESH:D008545", "Melanoma")])
    assert resolve_gold_ids(collection, ontology, "test").missing == {}
    everything = read_corpus(path)
    summary = resolve_gold_ids(everything, ontology, "test")
    assert summary.missing["673"] == 1 and summary.missing["rs113488022"] == 1, "unresolved ids are counted, not errors"


@pytest.mark.parametrize("separator", ["|", ",", ";", "+"])
def test_id_separators_and_no_id_markers(tmp_path, separator):
    text = f"5|t|Flu.\n5\t0\t3\tFlu\tDisease\tZZ:1{separator}ZZ:2{separator}-\n5\t0\t3\tFlu\tDisease\t-\n"
    first, second = iter_mentions(read_pubtator(_write(tmp_path, text)))
    assert first.gold_ids == ["ZZ:1", "ZZ:2"] and second.gold_ids == []


def test_bare_id_rules_are_the_ncbi_convention_and_can_be_switched_off(tmp_path):
    text = (
        "5|t|Flu and TP53 or flu.\n5\t0\t3\tFlu\tSpecificDisease\t0001|D000001\n5\t8\t12\tTP53\tGene\t7157\n"
        "5\t16\t19\tflu\tDisease\t0001|C000001\n"
    )
    path = _write(tmp_path, text)
    assert [m.gold_ids for m in iter_mentions(read_pubtator(path))] == [
        ["OMIM:0001", "MESH:D000001"], ["7157"], ["0001", "MESH:C000001"]]
    assert [m.gold_ids for m in iter_mentions(read_pubtator(path, bare_ids=()))] == [
        ["0001", "D000001"], ["7157"], ["0001", "C000001"]]


def test_only_mesh_shaped_ids_get_the_mesh_prefix_a_bare_umls_cui_stays_as_written(tmp_path):
    text = ("5|t|Flu and high blood pressure.\n5\t0\t3\tFlu\tDisease\tD000069196|C000590014\n"
            "5\t8\t27\thigh blood pressure\tDisease\tC0020538|C00205381\n")
    first, second = iter_mentions(read_pubtator(_write(tmp_path, text)))
    assert first.gold_ids == ["MESH:D000069196", "MESH:C000590014"]  # MeSH's newer 9-digit ids
    assert second.gold_ids == ["C0020538", "C00205381"]  # 7 and 8 digits: no MeSH id has them


def test_passage_records_of_a_full_text_export(tmp_path):
    records = ["Title of paper.", "Introduction: aspirin helps.", "Methods: we gave aspirin."]
    lines = []
    for record in records:
        start = record.find("aspirin")
        lines += [f"PMC1|t|{record}", "PMC1|a|"]
        if start >= 0:
            lines.append(_line("PMC1", start, start + 7, "aspirin", "Chemical", "MESH:D001241"))
        lines.append("")
    collection = read_pubtator(_write(tmp_path, "\n".join(lines)))
    (document,) = collection.documents
    assert [p.text for p in document.passages] == records
    assert [p.infons["type"] for p in document.passages] == ["title", "paragraph", "paragraph"]
    mentions = list(iter_mentions(collection))
    assert [m.text for m in mentions] == ["aspirin", "aspirin"]
    assert all(m.document_text[m.start:m.end] == "aspirin" for m in mentions)
    assert [m.passage_index for m in mentions] == [1, 2]


def test_an_abstract_repeated_right_after_itself_is_a_repeat_not_two_more_passages(tmp_path):
    """Two files joined with `cat`, the last document of one being the first of the other."""
    collection = read_pubtator(_write(tmp_path, GOOD + "\n" + GOOD))
    assert [(d.id, d.infons.get("duplicate_of"), len(d.passages)) for d in collection.documents] == [("1", None, 2), ("1-2", "1", 2)]
    assert len(list(iter_mentions(collection))) == 2
    changed = GOOD + "\n" + GOOD.replace("It is rare.", "It is common.")
    with pytest.raises(InputFormatError, match="line 6"):
        read_pubtator(_write(tmp_path, changed))


def test_gzip_crlf_and_bom_are_read_by_content(tmp_path):
    import gzip

    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    path = tmp_path / "corpus.xml"  # a misleading name: content decides
    path.write_bytes(gzip.compress(text.encode("utf8")))
    (mention,) = iter_mentions(read_corpus(path))
    assert (mention.text, mention.gold_ids) == ("Breast cancer", ["MESH:D001943"])
