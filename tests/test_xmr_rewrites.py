"""Word keys, learned word rewrites and the word-key channel: tiny inline cases and real MEDIC."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spacy_xmr.xmr.channels import WordKeyChannel
from spacy_xmr.xmr.config import FeatureConfig, WordKeyConfig
from spacy_xmr.xmr.example_strings import ExampleStrings
from spacy_xmr.xmr.features import Featurizer
from spacy_xmr.xmr.normalize import american_spelling, normalize_text, singular, word_key
from spacy_xmr.xmr.rewrites import Rewrites, learn_rewrites


def key(text: str) -> str:
    return word_key(normalize_text(text))


@pytest.mark.parametrize(
    "first, second",
    [("Cancer of the Prostate", "prostate cancers"), ("Cancer, Prostate", "prostate cancer"), ("Type II diabetes", "type 2 diabetes"),
     ("α-thalassemia", "alpha thalassaemia"), ("pancreatic tumours", "Pancreatic Tumor"), ("oedema of the fibres", "fiber edema"),
     ("Alzheimer's disease", "disease, Alzheimer"), ("leukaemias", "leukemia")],
)
def test_word_key_equates_variants(first, second):
    assert key(first) == key(second)


@pytest.mark.parametrize(
    "first, second",
    [("hemophilia A", "hemophilia B"), ("type 1 diabetes", "type 2 diabetes"), ("X-linked disease", "linked disease"),
     ("vitamin A deficiency", "vitamin deficiency"), ("MEN type I", "MEN type V")],
)
def test_word_key_keeps_distinctions(first, second):
    assert key(first) != key(second)


def test_word_pieces():
    assert [singular(w) for w in ("tumors", "deficiencies", "sclerosis", "virus", "illness", "syndromes", "dms", "p53s")] == [
        "tumor", "deficiency", "sclerosis", "virus", "illness", "syndrome", "dms", "p53s"]
    assert [american_spelling(w) for w in ("tumour", "anaemia", "oesophageal", "fibre", "paralysed", "colour", "four", "toes")] == [
        "tumor", "anemia", "esophageal", "fiber", "paralyzed", "color", "four", "toes"]
    assert key("of the") == "of the"  # function words only: kept, not an empty key
    assert key("") == ""


def sets(*keys: str) -> list[frozenset[str]]:
    return [frozenset(k.split()) for k in keys]


def test_rewrites_need_enough_concepts():
    concepts = [sets(f"{site} cancer", f"{site} neoplasm", f"familial {site} cancer") for site in ("breast", "lung", "colon")]
    concepts.append(sets("diabetes type 1", "diabetes type 2"))  # digits are never interchangeable
    concepts += [sets("a b", "a c")] * 2  # single letters are not rewritten either
    rewrites = learn_rewrites(concepts, min_concepts=3)
    assert rewrites.substitutes == {"cancer": ("neoplasm",), "neoplasm": ("cancer",)}
    assert rewrites.droppable == frozenset({"familial"})
    assert learn_rewrites(concepts, min_concepts=4).substitutes == {}
    substituted, dropped = rewrites.variants(frozenset({"familial", "prostate", "cancer"}))
    assert substituted == [frozenset({"familial", "prostate", "neoplasm"})]
    assert dropped == [frozenset({"prostate", "cancer"})]


def test_rewrites_apply_only_where_they_change_the_key():
    rewrites = Rewrites({"cancer": ("neoplasm",), "neoplasm": ("cancer",)}, frozenset({"familial", "cancer"}))
    assert list(rewrites.edits(frozenset({"cancer", "neoplasm"}))) == [("cancer", None)]  # no substitute already there
    assert list(rewrites.edits(frozenset({"cancer"}))) == [("cancer", "neoplasm")]  # the only word is never dropped
    assert not Rewrites.applies(frozenset({"cancer", "neoplasm"}), "cancer", "neoplasm")  # the substitute is there already


def word_channel(examples: ExampleStrings, substitution_weight=0.5, drop_weight=0.5, rewrite_min_concepts=3) -> WordKeyChannel:
    return WordKeyChannel(examples, WordKeyConfig(substitution_weight, drop_weight, rewrite_min_concepts))


def tiny_examples(keys: list[str], concept_of: list[int]) -> ExampleStrings:
    labels = sp.csr_matrix((np.ones(len(keys), np.float32), (np.arange(len(keys)), concept_of)), shape=(len(keys), max(concept_of) + 1))
    _, features = Featurizer.fit_transform(keys, FeatureConfig())
    return ExampleStrings(keys, labels, features)


def test_word_match_scores_keys_and_rewrites():
    keys = ["breast neoplasms", "breast cancer", "lung neoplasms", "lung cancer", "colon neoplasms", "colon cancer", "prostate neoplasms"]
    examples = tiny_examples(keys, [0, 0, 1, 1, 2, 2, 3])
    scores = word_channel(examples).match([normalize_text(t) for t in ("Neoplasm of the colon", "prostate cancers", "kidney cancer", "")])
    assert scores.shape == (4, 4)
    assert scores[0].toarray().ravel().tolist() == [0, 0, 1, 0]  # word key: exact, any word order
    assert scores[1].toarray().ravel().tolist() == [0, 0, 0, 0.5]  # one learned substitution away
    assert scores[2].nnz == scores[3].nnz == 0
    assert word_channel(examples, 0.0, 0.0).match(["prostate cancers"]).nnz == 0  # rewrites off
    assert word_channel(examples, 0.0, 0.0).match(["cancer of the colon"]).toarray().ravel().tolist() == [0, 0, 1, 0]  # own keys still
    assert word_channel(examples, rewrite_min_concepts=4).match(["prostate cancers"]).nnz == 0  # cancer/neoplasm attested by 3 concepts only


def test_canonical_features_share_word_ngrams():
    texts = ["pancreatic tumours", "pancreatic tumor", "type ii diabetes", "type 2 diabetes"]
    _, on = Featurizer.fit_transform(texts, FeatureConfig(canonical_words=True))
    _, off = Featurizer.fit_transform(texts, FeatureConfig(canonical_words=False))
    assert abs(on[0] - on[1]).max() < 1e-6 and abs(on[2] - on[3]).max() < 1e-6
    assert abs(off[0] - off[1]).max() > 0.1


@pytest.fixture(scope="module")
def medic_index(medic):
    pairs = sorted({(normalize_text(alias), concept_id) for alias, concept_id in medic.aliases()} - {("", c) for c in medic.ids})
    keys = sorted({k for k, _ in pairs})
    row = {k: i for i, k in enumerate(keys)}
    column = {c: i for i, c in enumerate(medic.ids)}
    labels = sp.csr_matrix(
        (np.ones(len(pairs), np.float32), ([row[k] for k, _ in pairs], [column[c] for _, c in pairs])), shape=(len(keys), len(column))
    )
    return word_channel(ExampleStrings(keys, labels, sp.csr_matrix((len(keys), 1), dtype=np.float32)))


def test_medic_synonymy_teaches_disease_name_rewrites(medic_index):
    rewrites = medic_index.rewrites()
    assert {"neoplasm", "carcinoma", "tumor"} <= set(rewrites.substitutes["cancer"])
    assert "syndrome" in rewrites.substitutes["disease"]
    assert {"familial", "congenital"} <= rewrites.droppable
    assert not any(any(c.isdigit() for c in w) for w in rewrites.substitutes)


def test_medic_word_channel_links_unseen_phrasings(medic, medic_index):
    prostate = medic.ids_for_alias("Prostatic Neoplasms")
    assert len(prostate) == 1
    for text in ("prostate carcinomas", "Tumours of the prostate"):
        assert normalize_text(text) not in medic_index.examples.keys  # no alias spells them out
        scores = medic_index.match([normalize_text(text)]).toarray().ravel()
        assert medic.ids[int(scores.argmax())] == prostate[0], text
