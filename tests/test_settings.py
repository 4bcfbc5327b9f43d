"""The settings machinery (`spacy_xmr.settings`) on every settings class: values of the right type round-trip,
values of a wrong type or out of range are rejected naming the full key and the range, unknown keys list the
known ones, and nested sections name their path."""
from __future__ import annotations

import dataclasses
import typing

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from spacy_xmr.errors import ConfigError
from spacy_xmr.rerank.config import RerankerConfig
from spacy_xmr.settings import SettingError
from spacy_xmr.xmr import XMRConfig
from spacy_xmr.xmr.config import DenseConfig
from spacy_xmr.xmr.dense_training import DenseTrainingConfig

TOP_LEVEL = [XMRConfig, RerankerConfig, DenseTrainingConfig, DenseConfig]


def leaf_fields(cls, prefix: str = ""):
    """(dotted key, type, field) of every non-section field, sections walked recursively."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from leaf_fields(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name], f


def nested(key: str, value) -> dict:
    """{"a": {"b": value}} for "a.b"."""
    head, _, rest = key.partition(".")
    return {head: nested(rest, value) if rest else value}


def valid_values(hint, f: dataclasses.Field):
    """A strategy for values of the field's type within its declared range (cross-field rules aside)."""
    metadata = f.metadata
    if "parse" in metadata:
        return st.sampled_from(["auto", "cpu", "cuda", "cuda:0", "cuda:3"])
    if "one_of" in metadata:
        return st.sampled_from(metadata["one_of"])
    bounds = metadata.get("bounds", {})
    low = bounds.get("at_least", bounds.get("above"))
    high = bounds.get("at_most", bounds.get("below"))
    if hint is bool:
        return st.booleans()
    if hint is str:
        return st.text(max_size=20)
    if hint is int:
        return st.integers(min_value=None if low is None else low + ("above" in bounds),
                           max_value=None if high is None else high - ("below" in bounds))
    if hint is float:
        return st.floats(min_value=low, max_value=high, exclude_min="above" in bounds, exclude_max="below" in bounds,
                         allow_nan=False, allow_infinity=False)
    if typing.get_origin(hint) is tuple:
        return st.lists(st.integers(min_value=low or 0, max_value=10), min_size=2, max_size=2).map(sorted)
    raise AssertionError(f"no strategy for {hint}")


CROSS_FIELD_RULES = {XMRConfig: {"tree.branching_factor", "features.char_weight"}, RerankerConfig: {"max_length"}}
CASES = [(cls, key, hint, f) for cls in TOP_LEVEL for key, hint, f in leaf_fields(cls)]
IDS = [f"{cls.__name__}.{key}" for cls, key, _, _ in CASES]


@pytest.mark.parametrize("cls, key, hint, f", CASES, ids=IDS)
@hypothesis_settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_values_in_range_round_trip_or_break_a_named_rule(cls, key, hint, f, data):
    value = data.draw(valid_values(hint, f))
    try:
        config = cls.from_dict(nested(key, value))
    except SettingError as err:  # only a rule across fields (power of two, room for the context) may say no
        assert err.key in CROSS_FIELD_RULES.get(cls, ()) and err.key in str(err)
        return
    assert cls.from_dict(config.to_dict()) == config
    stored = config.to_dict()
    for part in key.split("."):
        stored = stored[part]
    assert stored == (list(value) if isinstance(value, (tuple, list)) else value)


WRONG_TYPE = {bool: [1, "true", None], int: ["2", 2.0, True, None], float: ["3e-5", True, None, float("nan")],
              str: [1, None, ["cpu"]]}


@pytest.mark.parametrize("cls, key, hint, f", CASES, ids=IDS)
def test_a_value_of_the_wrong_type_is_rejected_naming_the_key(cls, key, hint, f):
    for value in WRONG_TYPE.get(hint, [[1], "1, 2", [1, 2, 3]]):
        with pytest.raises(SettingError) as caught:
            cls.from_dict(nested(key, value))
        assert caught.value.key == key and f"{key} = {value!r}" in str(caught.value)


BOUNDED = [(cls, key, hint, f) for cls, key, hint, f in CASES if f.metadata.get("bounds") and hint in (int, float)]


@pytest.mark.parametrize("cls, key, hint, f", BOUNDED, ids=[f"{c.__name__}.{k}" for c, k, _, _ in BOUNDED])
def test_a_value_out_of_range_is_rejected_with_the_range(cls, key, hint, f):
    bounds = f.metadata["bounds"]
    outside = [bounds["at_least"] - 1] if "at_least" in bounds else []
    outside += [bounds["above"]] if "above" in bounds else []
    outside += [bounds["below"]] if "below" in bounds else []
    outside += [bounds["at_most"] + 1] if "at_most" in bounds else []
    for value in outside:
        with pytest.raises(SettingError) as caught:
            cls.from_dict(nested(key, hint(value)))
        message = str(caught.value)
        assert caught.value.key == key
        assert all(str(bound) in message for bound in bounds.values()), message


@pytest.mark.parametrize("data, message", [
    ({"tree": {"name_weight": 1.0}}, "XMR config: tree.name_weight = 1.0 is invalid; it must be a number in [0, 1)"),
    ({"matcher": {"C": 0}}, "matcher.C = 0 is invalid; it must be a number > 0"),
    ({"tree": {"path_scoring": "softmax"}}, "tree.path_scoring = 'softmax' is invalid; it must be one of l3-hinge, sigmoid"),
    ({"features": {"char_ngram_range": [0, 3]}},
     "features.char_ngram_range = [0, 3] is invalid; it must be a pair [low, high] of integers with low <= high, each >= 1"),
    ({"dense": {"device": "gpu"}}, "dense.device = 'gpu' is invalid; it must be auto, cpu, cuda or cuda:N"),
    ({"tree": {"branching_factor": 12}}, "tree.branching_factor = 12 is invalid; it must be a power of two >= 2"),
])
def test_messages_state_what_the_value_must_be(data, message):
    with pytest.raises(ConfigError) as caught:
        XMRConfig.from_dict(data)
    assert message in str(caught.value)


def test_reranker_config_checks_types_at_construction():
    """A string learning rate from a JSON file or Python call stops here, not as a TypeError inside training."""
    with pytest.raises(SettingError, match=r"reranker config: lr = '3e-5' is invalid; it must be a number > 0"):
        RerankerConfig(lr="3e-5")
    with pytest.raises(SettingError, match=r"max_length = 40 .* at least 2 \* max_candidate_tokens \+ 8 = 56"):
        RerankerConfig(max_length=40)
    assert RerankerConfig(lr=1).lr == 1.0 and isinstance(RerankerConfig(lr=1).lr, float)
    assert RerankerConfig.from_dict(RerankerConfig(top_k=4, crosstype="multi").to_dict()) == RerankerConfig(top_k=4, crosstype="multi")


def test_unknown_keys_are_rejected_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) fusion\.beam_width; known keys: .*tree_weight"):
        XMRConfig.from_dict({"fusion": {"beam_width": 3}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) learning_rate; known keys: crosstype, .*\blr\b"):
        RerankerConfig.from_dict({"learning_rate": 1e-5})


def test_a_section_must_be_an_object_and_errors_name_the_source_file():
    with pytest.raises(ConfigError, match=r"XMR config: tree must be a JSON object \(a section\), got 16"):
        XMRConfig.from_dict({"tree": 16})
    with pytest.raises(ConfigError, match=r"^model/reranker\.json: reranker config: top_k = 0"):
        RerankerConfig.from_dict({"top_k": 0}, source="model/reranker.json")
