"""XMRConfig: JSON round trip and validation errors that name the field."""
from __future__ import annotations

import json

import pytest

from spacy_xmr.errors import ConfigError
from spacy_xmr.xmr import XMRConfig


def test_round_trip_through_json(tmp_path):
    config = XMRConfig.from_dict({"tree": {"branching_factor": 8, "max_leaf_size": 50}, "features": {"char_ngram_range": [3, 4]}, "seed": 7})
    config.to_json(tmp_path / "xmr.json")
    again = XMRConfig.from_json(tmp_path / "xmr.json")
    assert again == config
    assert again.features.char_ngram_range == (3, 4)
    assert XMRConfig.from_dict(XMRConfig().to_dict()) == XMRConfig()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"tree": {"branching_factor": 3}}, "tree.branching_factor"),
        ({"tree": {"max_leaf_size": 1}}, "tree.max_leaf_size"),
        ({"tree": {"name_weight": 1.0}}, "tree.name_weight"),
        ({"features": {"char_ngram_range": [5, 3]}}, "features.char_ngram_range"),
        ({"features": {"min_df": "2"}}, "features.min_df"),
        ({"matcher": {"C": 0}}, "matcher.C"),
        ({"matcher": {"max_node_examples": 0}}, "matcher.max_node_examples"),
        ({"matcher": {"hard_negatives": -1}}, "matcher.hard_negatives"),
        ({"tree": {"path_scoring": "softmax"}}, "tree.path_scoring"),
        ({"fusion": {"nearest_weight": -1}}, "fusion.nearest_weight"),
        ({"word_key": {"substitution_weight": -0.5}}, "word_key.substitution_weight"),
        ({"word_key": {"rewrite_min_concepts": 0}}, "word_key.rewrite_min_concepts"),
        ({"fusion": {"parent_weight": 1.0}}, "fusion.parent_weight"),
        ({"parent": {"top_children": 0}}, "parent.top_children"),
        ({"features": {"canonical_words": 1}}, "features.canonical_words"),
        ({"training": {"add_long_forms": "yes"}}, "training.add_long_forms"),
        ({"training": {"corpus_concepts": 1}}, "training.corpus_concepts"),
        ({"seed": -1}, "seed"),
        ({"tree": {"bogus": 1}}, "tree.bogus"),
        ({"tree": 16}, "tree"),
    ],
)
def test_bad_values_name_the_field(data, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        XMRConfig.from_dict(data)


def test_bad_json_file_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        XMRConfig.from_json(path)
    path.write_text(json.dumps({"matcher": {"C": -1}}))
    with pytest.raises(ConfigError, match=r"bad\.json.*matcher\.C"):
        XMRConfig.from_json(path)
    with pytest.raises(ConfigError, match="not found"):
        XMRConfig.from_json(tmp_path / "missing.json")
