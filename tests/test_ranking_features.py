"""The learned ranker's features, on hand-made candidate lists over a four-concept ontology: each feature measures
what `feature_table` says it does."""
from __future__ import annotations

import numpy as np
import pytest

from spacy_xmr.corpus import Mention
from spacy_xmr.ontology import Concept, Ontology
from spacy_xmr.ranking import GROUPS, feature_table
from spacy_xmr.ranking.features import ABSENT_RANK, ConceptFacts, concept_counts, featurize
from spacy_xmr.xmr import CandidateEvidence

CHANNELS = ["tree", "exact", "document"]
ONTOLOGY = Ontology([
    Concept("D1", "heart disease", synonyms=["cardiac disorder"]),
    Concept("D2", "cardiac syndrome", synonyms=["heart syndrome"], parents=["D1"]),
    Concept("D3", "renal cardiac syndrome", parents=["D2"], alt_ids=["OMIM:1"]),
    Concept("D4", "liver failure"),
])


def mention(text: str, document: str = "doc1", document_text: str = "") -> Mention:
    document_text = document_text or text
    start = document_text.rindex(text)
    return Mention(document, f"{document}-{start}", start, start + len(text), text, gold_ids=["D1"], document_text=document_text)


def evidence(*candidates: tuple[str, float, dict]) -> list[CandidateEvidence]:
    return [CandidateEvidence(concept, score, channels) for concept, score, channels in candidates]


def columns(mentions, lists, facts=None, **kwargs) -> dict[str, np.ndarray]:
    facts = facts or ConceptFacts(ONTOLOGY, {})
    matrix = featurize(mentions, lists, facts, CHANNELS, **kwargs)
    names = [feature.name for feature in feature_table(CHANNELS, "cross_encoder" in kwargs)]
    assert matrix.shape == (sum(map(len, lists)), len(names))
    return dict(zip(names, matrix.T))


def test_every_feature_has_a_unique_name_a_known_group_and_an_explanation():
    table = feature_table(["tree", "exact", "nearest"], with_cross_encoder=True)
    assert len({feature.name for feature in table}) == len(table)
    assert {feature.group for feature in table} == set(GROUPS)
    assert all(len(feature.explanation) > 20 for feature in table)


def test_channel_scores_and_ranks_absent_channels_rank_last():
    lists = [evidence(("D1", 3.0, {"tree": 0.2, "exact": 1.0}), ("D2", 2.0, {"tree": 0.9}), ("D4", 1.0, {}))]
    got = columns([mention("heart disease")], lists)
    assert got["tree_score"].tolist() == pytest.approx([0.2, 0.9, 0.0])
    assert got["tree_rank"].tolist() == [2, 1, ABSENT_RANK]
    assert got["exact_rank"].tolist() == [1, ABSENT_RANK, ABSENT_RANK]


def test_fused_rank_margin_and_ratio_are_relative_to_the_best_candidate():
    got = columns([mention("heart disease")], [evidence(("D1", 4.0, {}), ("D2", 3.0, {}), ("D4", 1.0, {}))])
    assert got["fused_rank"].tolist() == [1, 2, 3]
    assert got["fused_margin"].tolist() == pytest.approx([0.0, 1.0, 3.0])
    assert got["fused_ratio"].tolist() == pytest.approx([1.0, 0.75, 0.25])


@pytest.mark.parametrize("text, expected", [
    ("Heart disease", 3.0),  # the preferred name, after normalisation
    ("cardiac disorder", 2.0),  # a synonym
    ("disease, heart", 1.0),  # the name's words in another order
    ("heart attack", 0.0),
])
def test_alias_match_kind(text, expected):
    assert columns([mention(text)], [evidence(("D1", 1.0, {}))])["alias_match"].tolist() == [expected]


def test_overlap_with_the_closest_name():
    got = columns([mention("heart syndromes")], [evidence(("D2", 1.0, {}), ("D4", 0.5, {}))])
    assert got["word_jaccard"][0] == pytest.approx(1 / 3)  # {heart, syndromes} vs {heart, syndrome}
    assert 0.5 < got["char_jaccard"][0] < 1.0
    assert got["char_jaccard"][1] < 0.2  # "liver failure" shares almost nothing
    assert got["length_ratio"][0] == pytest.approx(len("heart syndrome") / len("heart syndromes"))
    assert got["missing_words"][0] == 1 and got["extra_words"][0] == 1
    assert got["mention_words"].tolist() == [2, 2]


def test_short_forms_defined_in_the_document_are_expanded():
    text = "Patients with cardiac syndrome (CS) were seen. CS is rare."
    got = columns([mention("CS", document_text=text)], [evidence(("D2", 1.0, {}))])
    assert got["short_form"].tolist() == [1.0] and got["expanded"].tolist() == [1.0]
    assert got["alias_match"].tolist() == [3.0]  # matched by its long form
    plain = columns([mention("cardiac syndrome")], [evidence(("D2", 1.0, {}))])
    assert plain["short_form"].tolist() == [0.0] and plain["expanded"].tolist() == [0.0]


def test_prior_counts_training_mentions_through_alt_ids():
    training = [Mention("d", str(i), 0, 1, "x", gold_ids=[gold]) for i, gold in enumerate(["D1", "D1", "OMIM:1", "D4"])]
    counts = concept_counts(training, ONTOLOGY)
    assert counts == {"D1": 2, "D3": 1, "D4": 1}
    got = columns([mention("x")], [evidence(("D1", 1.0, {}), ("D2", 0.5, {}))], ConceptFacts(ONTOLOGY, counts))
    assert got["prior"].tolist() == pytest.approx([0.5, 0.0])
    assert got["log_count"].tolist() == pytest.approx([np.log1p(2), 0.0])


def test_document_votes_count_the_other_mentions_of_the_same_document_only():
    text = "heart disease and cardiac syndrome and heart"
    mentions = [mention("heart disease", "a", text), mention("cardiac syndrome", "a", text), mention("heart", "a", text),
                mention("heart disease", "b")]
    lists = [evidence(("D1", 1.0, {}), ("D2", 0.5, {})), evidence(("D2", 1.0, {}), ("D1", 0.5, {})),
             evidence(("D1", 1.0, {}), ("D4", 0.5, {})), evidence(("D4", 1.0, {}))]
    got = columns(mentions, lists)
    # first list: D1 is listed by both other mentions of "a" and first in one; D2 by one, first in one
    assert got["document_votes"][:2].tolist() == pytest.approx([1.0, 0.5])
    assert got["document_firsts"][:2].tolist() == [1, 1]
    assert got["document_votes"][-1] == 0.0  # D4 of document "b": document "a" does not count


def test_depth_and_number_of_names():
    got = columns([mention("x")], [evidence(("D1", 1.0, {}), ("D2", 0.9, {}), ("D3", 0.8, {}), ("unknown", 0.1, {}))])
    assert got["depth"].tolist() == [0, 1, 2, 0]
    assert got["n_names"].tolist() == [2, 2, 1, 0]


def test_stems_set_word_endings_and_hyphens_aside():
    ontology = Ontology([Concept("H", "Hypertrophy"), Concept("C", "Cicatrix, Hypertrophic"), Concept("V", "Venous Thromboembolism")])
    facts = ConceptFacts(ontology, {})
    got = columns([mention("hypertrophic"), mention("venous thrombo-embolisms")],
                  [evidence(("H", 1.0, {}), ("C", 0.9, {})), evidence(("V", 1.0, {}))], facts)
    # stems: {hypert} against {hypert} and {cicatr, hypert}; {venous, thromb, emboli} against {venous, thromb}
    assert got["name_stems_covered"].tolist() == pytest.approx([1.0, 0.5, 1.0])
    assert got["mention_stems_covered"].tolist() == pytest.approx([1.0, 1.0, 2 / 3])
    assert got["compact_match"].tolist() == [0, 0, 1]


def test_hierarchy_places_each_candidate_above_or_below_the_first_and_the_rest_of_its_list():
    got = columns([mention("x")], [evidence(("D2", 1.0, {}), ("D1", 0.9, {}), ("D3", 0.8, {}), ("D4", 0.1, {}))])
    assert got["above_first"].tolist() == [0, 1, 0, 0]  # D1 is D2's parent
    assert got["below_first"].tolist() == [0, 0, 1, 0]  # D3 is D2's child
    assert got["ancestors_listed"].tolist() == [1, 0, 2, 0]  # D3 sits below D2 and D1
    assert got["descendants_listed"].tolist() == [1, 2, 0, 0]


def test_ancestors_resolve_alt_ids_and_stop_at_cycles():
    ontology = Ontology([Concept("A", "a", parents=["OMIM:2"]), Concept("B", "b", parents=["A"], alt_ids=["OMIM:2"]),
                         Concept("C", "c", parents=["B"])])
    facts = ConceptFacts(ontology, {})
    assert facts.ancestors("C") == {"A", "B"}
    assert facts.ancestors("A") == {"B"}  # through the alt id, and not itself


def test_cross_encoder_scores_become_two_columns():
    got = columns([mention("x")], [evidence(("D1", 1.0, {}), ("D2", 0.9, {}))], cross_encoder=[[0.1, 0.7]])
    assert got["cross_encoder_score"].tolist() == pytest.approx([0.1, 0.7])
    assert got["cross_encoder_rank"].tolist() == [2, 1]


def test_mentions_without_candidates_give_no_rows():
    assert featurize([mention("x"), mention("y")], [[], []], ConceptFacts(ONTOLOGY, {}), CHANNELS).shape == (0, len(feature_table(CHANNELS)))


def reference_string_features(keys: list[str], names: list[str]) -> list[float]:
    """The string features of one pair, the slow and plain way: every (key, name) pair compared with Python sets."""
    def trigrams(text):
        padded = f" {text} "
        return {padded[i:i + 3] for i in range(len(padded) - 2)}

    def jaccard(a, b):
        return len(a & b) / (len(a | b) or 1)

    if not names:
        return [0.0] * 6
    alias = max(((3.0 if key == names[0] else 2.0) if key in names else float(any(set(key.split()) == set(n.split()) for n in names)))
                for key in keys)
    pairs = [(jaccard(trigrams(key), trigrams(name)), jaccard(set(key.split()), set(name.split())), key, name)
             for key in keys for name in names]
    chars = max(pair[0] for pair in pairs)
    words, key, name = max(((w, k, n) for c, w, k, n in pairs if c == chars), key=lambda pair: pair[0])  # the first of the best
    return [alias, words, chars, min(len(key), len(name)) / max(len(key), len(name), 1),
            float(len(set(name.split()) - set(key.split()))), float(len(set(key.split()) - set(name.split())))]


@pytest.fixture(scope="module")
def synthetic_pairs(synthetic_model, synthetic_mentions) -> tuple[dict[str, np.ndarray], list[tuple[list[str], list[str]]]]:
    """The features of the synthetic dev lists, and each candidate row's (mention keys, concept names) for the plain checks."""
    from spacy_xmr.ranking.names import MAX_NAMES
    from spacy_xmr.xmr import normalize_text, texts_to_link

    mentions = synthetic_mentions["dev"]
    lists = synthetic_model.channel_scores(mentions, top_k=10)
    rows = []
    for mention, long_form, candidates in zip(mentions, texts_to_link(mentions), lists):
        keys = [normalize_text(mention.text)] + ([normalize_text(long_form)] if long_form != mention.text else [])
        for candidate in candidates:
            concept = synthetic_model.ontology.get(candidate.concept_id)
            rows.append((keys, [normalize_text(a) for a in (concept.aliases if concept else [])[:MAX_NAMES]]))
    return columns(mentions, lists, ConceptFacts(synthetic_model.ontology, {})), rows


def test_the_batch_string_features_equal_a_plain_per_pair_computation(synthetic_pairs):
    got, rows = synthetic_pairs
    expected = [reference_string_features(keys, names) for keys, names in rows]
    names = ["alias_match", "word_jaccard", "char_jaccard", "length_ratio", "missing_words", "extra_words"]
    assert np.stack([got[name] for name in names], axis=1) == pytest.approx(np.array(expected), abs=1e-6)
    assert len(set(got["alias_match"])) > 1 and len(set(got["char_jaccard"])) > 100  # varied pairs, not a trivial agreement


def test_the_batch_stem_features_equal_a_plain_per_pair_computation(synthetic_pairs):
    from spacy_xmr.ranking.stems import compact, stems

    got, rows = synthetic_pairs
    expected = []
    for keys, names in rows:
        pairs = [(stems(key), stems(name), compact(key) == compact(name)) for key in keys for name in names if name]
        expected.append([max((len(k & n) / max(len(n), 1) for k, n, _ in pairs), default=0.0),
                         max((len(k & n) / max(len(k), 1) for k, n, _ in pairs), default=0.0),
                         float(any(same for _, _, same in pairs))])
    names = ["name_stems_covered", "mention_stems_covered", "compact_match"]
    assert np.stack([got[name] for name in names], axis=1) == pytest.approx(np.array(expected), abs=1e-6)
    assert len(set(got["name_stems_covered"])) > 3 and 0 < got["compact_match"].sum() < len(got["compact_match"])
