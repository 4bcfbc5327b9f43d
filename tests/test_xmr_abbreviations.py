"""Schwartz–Hearst abbreviation detection on real NCBI Disease abstracts, and mention texts to link."""
from __future__ import annotations

import pytest

from spacy_xmr.corpus import Mention, document_text, read_corpus
from spacy_xmr.xmr import abbreviation_map, expand_abbreviations, find_abbreviations, texts_to_link


@pytest.fixture(scope="module")
def dev_texts(ncbi_dir):
    return {d.id: document_text(d) for d in read_corpus(ncbi_dir / "NCBIdevelopset_corpus.txt").documents}


@pytest.mark.parametrize(
    "document_id, short_form, long_form",
    [("8808605", "G6PD", "glucose-6-phosphate dehydrogenase"),
     ("9012409", "GALT", "galactose-1-phosphate uridyltransferase"),
     ("8755645", "FED", "fish-eye disease")],
)
def test_definitions_in_real_abstracts(dev_texts, document_id, short_form, long_form):
    text = dev_texts[document_id]
    found = {a.short_form: a for a in find_abbreviations(text)}
    assert found[short_form].long_form == long_form
    abbreviation = found[short_form]
    assert text[abbreviation.short_start:abbreviation.short_end] == short_form
    assert text[abbreviation.long_start:abbreviation.long_end] == long_form


def test_no_definition_without_a_matching_long_form():
    assert find_abbreviations("Patients were treated (n = 12) with a drug (see Table 1) in Wilms tumour (WT1).") == []


@pytest.mark.parametrize(
    "text, expected",
    [("coronary artery disease (CAD) is common", {"CAD": "coronary artery disease", "CADs": "coronary artery disease"}),
     ("in ataxia-telangiectasia (A-T) patients", {"A-T": "ataxia-telangiectasia", "A-Ts": "ataxia-telangiectasia"}),
     # BC5CDR dev: a plural short form whose `s` the long form does not spell, then used in the plural and singular
     ("deaths from cocaine-induced excited delirium (EDDs) in Dade County", {"EDDs": "excited delirium", "EDD": "excited delirium"}),
     ("rats with prostate adenocarcinomas (PAs) and controls", {"PAs": "prostate adenocarcinomas", "PA": "prostate adenocarcinomas"}),
     # a variant never replaces a short form defined in its own right
     ("computed tomography (CT) and carpal tunnels (CTs)", {"CT": "computed tomography", "CTs": "carpal tunnels"})],
)
def test_abbreviation_map(text, expected):
    assert abbreviation_map(text) == expected


def test_expand_abbreviations_replaces_whole_words_only():
    mapping = {"DM": "myotonic dystrophy", "A-T": "ataxia-telangiectasia"}
    assert expand_abbreviations("DM type 1 and A-T", mapping) == "myotonic dystrophy type 1 and ataxia-telangiectasia"
    assert expand_abbreviations("DMD", mapping) == "DMD"


def test_texts_to_link_uses_the_mentions_document(dev_texts):
    text = dev_texts["8808605"]
    start = text.index("G6PD deficiency", text.index("(G6PD)"))
    short = Mention("8808605", "1", start, start + 15, "G6PD deficiency", document_text=text)
    other_doc = Mention("x", "2", 0, 4, "G6PD", document_text="G6PD is an enzyme.")
    assert texts_to_link([short, other_doc]) == ["glucose-6-phosphate dehydrogenase deficiency", "G6PD"]


def test_definition_followed_by_other_names(dev_texts):
    """`long form (SF; other names)`: the text before the `;` is the short form (Schwartz & Hearst)."""
    text = dev_texts["9083764"]
    found = {a.short_form: a for a in find_abbreviations(text)}
    assert found["SJS"].long_form == "Schwartz-Jampel syndrome"
    assert text[found["SJS"].short_start:found["SJS"].short_end] == "SJS"
    assert abbreviation_map("in Wilms tumour (WT, nephroblastoma) and (Smith et al., 1998)") == {"WT": "Wilms tumour", "WTs": "Wilms tumour"}
    assert find_abbreviations("mutations were found (in patients from Turkey (D114E, R168C), the Netherlands (I16T))") == []


@pytest.fixture(scope="module")
def synthetic_definitions(synthetic_mentions):
    """(long form, short form) gold mention pairs written `long form (SF)` in the synthetic train documents."""
    mentions = synthetic_mentions["train"]
    pairs = [(long, short) for long, short in zip(mentions, mentions[1:])
             if long.document_id == short.document_id and long.document_text[long.end:short.start] == " ("
             and long.gold_ids == short.gold_ids]
    assert len(pairs) >= 5
    return pairs


def test_definitions_in_synthetic_documents_are_found_at_their_offsets(synthetic_definitions):
    for long, short in synthetic_definitions:
        found = {a.short_form: a for a in find_abbreviations(long.document_text)}
        assert short.text in found, long.document_text
        assert (found[short.text].long_form, found[short.text].long_start, found[short.text].long_end) == (long.text, long.start, long.end)
        assert (found[short.text].short_start, found[short.text].short_end) == (short.start, short.end)


def test_later_uses_of_a_defined_short_form_are_linked_as_the_long_form(synthetic_definitions, synthetic_mentions):
    definitions = {(short.document_id, short.text): (short.end, long.text) for long, short in synthetic_definitions}
    later = [m for m in synthetic_mentions["train"]
             if (m.document_id, m.text) in definitions and m.start > definitions[m.document_id, m.text][0]]
    assert later
    assert texts_to_link(later) == [definitions[m.document_id, m.text][1] for m in later]


def test_a_documents_definitions_are_found_once_for_the_linker_and_the_ranker_and_again_for_a_changed_text(monkeypatch):
    from spacy_xmr.xmr import abbreviations

    found = []
    monkeypatch.setattr(abbreviations, "abbreviation_map", lambda text: found.append(text) or {"HD": "heart disease"})
    abbreviations._document_abbreviations.cache_clear()
    text = "Heart disease (HD) is common. HD kills."
    mentions = [Mention("cache-test-doc", "1", 30, 32, "HD", document_text=text)]
    assert texts_to_link(mentions) == texts_to_link(mentions) == ["heart disease"]
    assert found == [text]
    edited = text.replace("common", "frequent")
    texts_to_link([Mention("cache-test-doc", "1", 32, 34, "HD", document_text=edited)])
    assert found == [text, edited]
    abbreviations._document_abbreviations.cache_clear()
