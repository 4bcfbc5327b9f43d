"""`build_training_data` against the plain definition of its examples: one per distinct normalised string, with the summed
support of every (string, concept) occurrence (the function gathers them as flat arrays to spare memory at UMLS size)."""
from __future__ import annotations

import numpy as np

from spacy_xmr.corpus.mention import Mention
from spacy_xmr.xmr.abbreviations import texts_to_link
from spacy_xmr.xmr.config import TrainingDataConfig
from spacy_xmr.xmr.normalize import normalize_text
from spacy_xmr.xmr.training_data import build_training_data


def _reference(ontology, mentions, config: TrainingDataConfig) -> dict[tuple[str, str], float]:
    """(string, concept id) → support, by the definition, with a dict."""
    support: dict[tuple[str, str], float] = {}
    for concept in ontology:
        for alias in concept.aliases:
            if normalize_text(alias):
                support[normalize_text(alias), concept.id] = support.get((normalize_text(alias), concept.id), 0.0) + config.alias_weight
    for mention, long_form in zip(mentions, texts_to_link(mentions)):
        for text in {mention.text, long_form}:
            for concept_id in {ontology.resolve(gold) for gold in mention.gold_ids} - {None}:
                if normalize_text(text):
                    key = (normalize_text(text), concept_id)
                    support[key] = support.get(key, 0.0) + config.mention_weight
    return support


def _supports(data) -> dict[tuple[str, str], float]:
    coo = data.labels.tocoo()
    return {(data.keys[r], data.concept_ids[c]): float(v) for r, c, v in zip(coo.row, coo.col, coo.data)}


def test_examples_are_the_distinct_strings_with_their_summed_support(synthetic_ontology, synthetic_mentions):
    config = TrainingDataConfig(alias_weight=1.0, mention_weight=0.75)
    mentions = synthetic_mentions["train"] + [Mention("x", "1", 0, 3, "!!!", gold_ids=[synthetic_ontology.ids[5]]),
                                              Mention("x", "2", 0, 3, "abc", gold_ids=["NOT:AN-ID"])]
    data = build_training_data(synthetic_ontology, mentions, config)
    expected = _reference(synthetic_ontology, mentions, config)
    assert data.keys == sorted({key for key, _ in expected})
    assert _supports(data) == {key: np.float32(value) for key, value in expected.items()}
    assert data.labels.has_sorted_indices and data.labels.dtype == np.float32
    assert np.array_equal(data.weights, data.labels.max(axis=1).toarray().ravel())
    assert any(value > 1 for value in expected.values())  # some strings are supported more than once
    assert data.n_mentions_skipped == 2 and data.n_mentions_used == len(mentions) - 2


def test_name_rows_point_at_each_concepts_preferred_name(synthetic_ontology):
    data = build_training_data(synthetic_ontology, [], TrainingDataConfig())
    for concept, row in zip(synthetic_ontology, data.name_rows):
        assert data.keys[row] == normalize_text(concept.name) if normalize_text(concept.name) else row == -1
