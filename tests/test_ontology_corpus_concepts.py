"""Concepts that only a training corpus names, and the training data built with them."""
from __future__ import annotations

from spacy_xmr.corpus.mention import Mention
from spacy_xmr.ontology import Concept, Ontology, with_corpus_concepts
from spacy_xmr.xmr.config import TrainingDataConfig
from spacy_xmr.xmr.training_data import build_training_data

ONTOLOGY = Ontology([Concept("MESH:D001943", "Breast Neoplasms", alt_ids=["MESH:D018567"]), Concept("MESH:D010051", "Ovarian Neoplasms")],
                    name="MEDIC")


def mention(text: str, *gold_ids: str) -> Mention:
    return Mention("doc", text, 0, len(text), text, gold_ids=list(gold_ids))


def test_unknown_gold_ids_become_concepts_named_by_their_most_frequent_mention():
    mentions = [mention("C9-deficient", "OMIM:613825"), mention("C9 deficiency", "OMIM:613825"), mention("C9 deficiency", "OMIM:613825"),
                mention("breast cancer", "MESH:D018567"), mention("breast or C9", "MESH:D001943", "OMIM:999999")]
    extended = with_corpus_concepts(ONTOLOGY, mentions)
    assert extended.ids == [*ONTOLOGY.ids, "OMIM:613825", "OMIM:999999"]  # an alt id of a known concept adds nothing
    assert extended["OMIM:613825"].name == "C9 deficiency"
    assert "3 training mention(s)" in extended["OMIM:613825"].definition and "MEDIC" in extended["OMIM:613825"].definition
    assert extended["OMIM:999999"].name == "breast or C9"
    assert with_corpus_concepts(extended, mentions).ids == extended.ids


def test_gold_ids_written_without_the_ontologys_prefix_are_named_in_a_warning(caplog):
    mentions = [mention("breast cancer", "D001943"), mention("ovarian cancer", "D010051"), mention("C9 deficiency", "613825")]
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        with_corpus_concepts(ONTOLOGY, mentions)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("2 of those gold ids are in the ontology spelled otherwise")
    assert "the corpus's 'D001943' is the ontology's 'MESH:D001943'" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        with_corpus_concepts(ONTOLOGY, [mention("C9 deficiency", "OMIM:613825")])
    assert not [record for record in caplog.records if record.levelname == "WARNING"]


def test_gold_ids_with_a_prefix_the_ontology_lacks_or_in_another_case_are_named_in_a_warning(caplog):
    """BC5CDR's bare MeSH ids are read as MESH:...; an ontology written with the bare ids would double every concept."""
    bare = Ontology([Concept("D001943", "Breast Neoplasms", alt_ids=["D018567"]), Concept("MESH:D010051", "Ovarian Neoplasms")])
    mentions = [mention("breast cancer", "MESH:D001943"), mention("breast tumour", "MESH:D018567"),
                mention("ovarian cancer", "mesh:d010051"), mention("C9 deficiency", "OMIM:613825")]
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        with_corpus_concepts(bare, mentions)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("3 of those gold ids are in the ontology spelled otherwise")
    assert "the corpus's 'MESH:D001943' is the ontology's 'D001943'" in warnings[0] and "MESH:..." in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        with_corpus_concepts(bare, mentions, report=False)
    assert not caplog.records


def test_without_unknown_gold_ids_the_ontology_is_returned_unchanged():
    assert with_corpus_concepts(ONTOLOGY, [mention("breast cancer", "MESH:D001943"), mention("   ", "OMIM:613825")]) is ONTOLOGY


def test_mentions_of_corpus_concepts_are_used_and_others_skipped():
    mentions = [mention("C9 deficiency", "OMIM:613825"), mention("ovarian cancer", "MESH:D010051")]
    plain = build_training_data(ONTOLOGY, mentions, TrainingDataConfig())
    assert (plain.n_mentions_used, plain.n_mentions_skipped) == (1, 1)
    extended = build_training_data(with_corpus_concepts(ONTOLOGY, mentions), mentions, TrainingDataConfig())
    assert (extended.n_mentions_used, extended.n_mentions_skipped) == (2, 0)
    row = extended.keys.index("c9 deficiency")
    assert extended.labels[row].indices.tolist() == [extended.concept_ids.index("OMIM:613825")]
