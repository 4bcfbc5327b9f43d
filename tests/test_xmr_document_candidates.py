"""Document candidates: the concepts a document's mentions rank first fill the end of its mentions' lists."""
from __future__ import annotations

import dataclasses

import pytest

from spacy_xmr.errors import ConfigError
from spacy_xmr.xmr import XMRConfig
from spacy_xmr.xmr.channels.document import document_slots, offered_concepts, with_document_candidates


def placed(rankings, document_ids, top_k, max_slots):
    """The rankings with the concepts their documents offer them placed, as the model places them."""
    return with_document_candidates(rankings, offered_concepts(rankings, document_ids, top_k, max_slots), top_k, max_slots)


def own_list(prefix: str, n: int) -> list[tuple[str, float]]:
    return [(f"{prefix}{i}", 1.0 - i / 100) for i in range(n)]


@pytest.mark.parametrize("top_k, max_slots, expected", [(1, 3, 0), (3, 3, 0), (4, 3, 1), (5, 3, 1), (10, 3, 2), (20, 3, 3), (50, 3, 3), (20, 0, 0)])
def test_the_document_takes_at_most_a_quarter_of_the_list(top_k, max_slots, expected):
    assert document_slots(top_k, max_slots) == expected


def test_concepts_the_documents_mentions_rank_first_fill_the_last_slots():
    clear_a = own_list("A", 8)
    clear_b = [("B0", 1.5)] + own_list("x", 7)
    vague = own_list("v", 8)
    other_document = [("C0", 1.5)] + own_list("y", 7)
    out = placed([clear_a, clear_b, vague, other_document, clear_a], ["d1", "d1", "d1", "d2", "d1"], 8, 3)
    assert out[2][:6] == vague[:6]  # top_k // 4 = 2 slots: the first 6 are the mention's own
    # A0 is ranked first by two mentions, B0 by one, v0 by the vague mention itself (already held)
    assert [concept for concept, _ in out[2][6:]] == ["A0", "B0"]
    assert [score for _, score in out[2][6:]] == [vague[5][1]] * 2  # the score of the last own candidate kept
    assert "C0" not in dict(out[2])  # another document's concept
    assert [concept for concept, _ in out[1][6:]] == ["A0", "v0"]
    assert out[0][:7] == clear_a[:6] + [("B0", clear_a[5][1])]  # A0 is held already: B0 and v0 take the slots
    assert out[0][7][0] == "v0"
    assert out[3] == other_document  # alone in its document: nothing to add
    for ranking in out:
        assert len(ranking) == 8 and len(dict(ranking)) == 8
        assert [score for _, score in ranking] == sorted((score for _, score in ranking), reverse=True)


def test_a_concept_the_mention_holds_further_down_moves_up_and_is_not_repeated():
    mention = own_list("m", 10)
    neighbour = [("m9", 2.0)] + own_list("n", 9)
    out = placed([mention, neighbour], ["d", "d"], 10, 3)
    assert [concept for concept, _ in out[0]] == [f"m{i}" for i in range(8)] + ["m9", "m8"]
    assert out[0][8][1] == mention[7][1] and out[0][9] == mention[8]


def test_short_lists_empty_lists_and_no_slots():
    rankings = [own_list("a", 2), [], own_list("b", 2)]
    assert placed(rankings, ["d", "d", "d"], 3, 3) == rankings  # top_k 3: no slot
    out = placed(rankings, ["d", "d", "d"], 8, 3)
    assert out[1] == []  # no candidate of its own (a text without letters): none from the document either
    assert [concept for concept, _ in out[0]] == ["a0", "a1", "b0"]
    assert placed([own_list("a", 9)], ["d"], 4, 0) == [own_list("a", 4)]
    with pytest.raises(ValueError, match="2 rankings for 1 document ids"):
        offered_concepts(rankings[:2], ["d"], 8, 3)
    with pytest.raises(ValueError, match="zip"):
        with_document_candidates(rankings[:2], [[]], 8, 3)


def test_config_field_is_checked():
    assert XMRConfig().fusion.document_candidates == 3
    with pytest.raises(ConfigError, match="fusion.document_candidates"):
        XMRConfig.from_dict({"fusion": {"document_candidates": -1}})
    with pytest.raises(ConfigError, match="fusion.document_candidates"):
        XMRConfig.from_dict({"fusion": {"document_candidates": 1.5}})
    assert dataclasses.asdict(XMRConfig.from_dict({"fusion": {"document_candidates": 0}}))["fusion"]["document_candidates"] == 0
