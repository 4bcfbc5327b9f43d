"""The one input builder: every (mention, candidate) pair lands in exactly one slot, marked and split right."""
from __future__ import annotations

import pytest

from spacy_xmr.rerank import CROSSTYPES, InputBuilder, RerankerConfig
from spacy_xmr.rerank.batching import collate, document_chunks, iter_group_batches, iter_sequence_batches
from spacy_xmr.rerank.markers import add_marker_tokens
from spacy_xmr.rerank.verbalize import candidate_text
from rerank_support import toy_candidates, toy_mentions, toy_ontology, write_tiny_bert


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(write_tiny_bert(tmp_path_factory.mktemp("bert")), local_files_only=True)
    add_marker_tokens(tokenizer, RerankerConfig().max_mentions_per_sequence)
    return tokenizer


def _build(tokenizer, crosstype, attention="isolated", max_length=128, k=4):
    config = RerankerConfig(crosstype=crosstype, attention=attention, max_length=max_length, max_candidate_tokens=12,
                            model_name="unused")
    mentions = toy_mentions()
    candidate_ids = [[c for c, _ in ranked] for ranked in toy_candidates(mentions, k)]
    builder = InputBuilder(tokenizer, config, toy_ontology(), max_length)
    groups, stats = builder.build(mentions, candidate_ids)
    return mentions, candidate_ids, groups, stats


def _check_slots(tokenizer, mentions, candidate_ids, groups, max_length):
    """Each pair scored once; its slot is its mention's [C j] marker followed by the candidate's own tokens,
    and the context marks that mention's text with [M j] ... [/M j]."""
    seen = []
    for group in groups:
        for sequence in group.sequences:
            assert len(sequence.input_ids) <= max_length
            tokens = tokenizer.convert_ids_to_tokens(sequence.input_ids)
            for mention_index, candidate_index, position in sequence.slots:
                seen.append((mention_index, candidate_index))
                j = group.mention_indices.index(mention_index)
                assert tokens[position] == f"[C{j}]"
                end = tokens.index("[SEP]", position)
                expected = tokenizer.tokenize(candidate_text(toy_ontology(), candidate_ids[mention_index][candidate_index], 2))[:12]
                assert tokens[position + 1:end] == expected
                marked = tokens[tokens.index(f"[M{j}]") + 1:tokens.index(f"[/M{j}]")]
                assert marked == tokenizer.tokenize(mentions[mention_index].text)
    expected_pairs = [(m, c) for m, ids in enumerate(candidate_ids) for c in range(len(ids))]
    assert sorted(seen) == expected_pairs


@pytest.mark.parametrize("crosstype", CROSSTYPES)
@pytest.mark.parametrize("attention", ["full", "isolated"])
def test_every_pair_in_exactly_one_right_slot(tokenizer, crosstype, attention):
    mentions, candidate_ids, groups, stats = _build(tokenizer, crosstype, attention)
    _check_slots(tokenizer, mentions, candidate_ids, groups, 128)
    assert stats.n_windowed == 0


def test_sequence_counts_follow_the_crosstype(tokenizer):
    counts = {crosstype: _build(tokenizer, crosstype, max_length=256)[3].n_sequences for crosstype in CROSSTYPES}
    mentions = toy_mentions()
    n_sentences = len({(m.document_id, m.sentence_start) for m in mentions})
    assert counts == {"base": 4 * len(mentions), "parallel": len(mentions), "multi": n_sentences,
                      "passage": 3, "document": 3}


def test_identical_surface_forms_get_distinct_markers(tokenizer):
    mentions, _, groups, _ = _build(tokenizer, "multi")
    twins = [i for i, m in enumerate(mentions) if m.text == "lung tumor"]
    group = next(g for g in groups if twins[0] in g.mention_indices)
    assert twins[1] in group.mention_indices
    tokens = tokenizer.convert_ids_to_tokens(group.sequences[0].input_ids)
    assert "[M0]" in tokens and "[M1]" in tokens and tokens.index("[M0]") < tokens.index("[/M0]") < tokens.index("[M1]")


@pytest.mark.parametrize("crosstype", ["parallel", "multi", "document"])
def test_overlong_inputs_split_without_losing_pairs(tokenizer, crosstype):
    max_length = 32  # the smallest allowed with 12-token candidates
    mentions, candidate_ids, groups, stats = _build(tokenizer, crosstype, max_length=max_length, k=5)
    _check_slots(tokenizer, mentions, candidate_ids, groups, max_length)
    assert stats.n_split_groups > 0
    assert stats.n_sequences > _build(tokenizer, crosstype, k=5)[3].n_sequences
    if crosstype == "document":  # a whole document plus one candidate does not fit in 32 tokens
        assert stats.n_windowed > 0


@pytest.mark.parametrize("attention", ["full", "isolated"])
def test_position_ids_restart_per_candidate_only_when_isolated(tokenizer, attention):
    _, _, groups, _ = _build(tokenizer, "parallel", attention)
    sequence = groups[0].sequences[0]
    n_context = sequence.segment_ids.count(0)
    starts = [position for _, _, position in sequence.slots]
    restarts = [sequence.position_ids[p] for p in starts]
    assert restarts == ([n_context] * len(starts) if attention == "isolated" else starts)


@pytest.mark.parametrize("crosstype", CROSSTYPES)
def test_inference_batches_hold_every_sequence_once_sorted_by_length(tokenizer, crosstype):
    _, _, groups, _ = _build(tokenizer, crosstype, k=5)
    batches = list(iter_sequence_batches(groups, batch_size=2))
    flat = [sequence for batch in batches for sequence in batch]
    assert sorted(map(id, flat)) == sorted(id(s) for g in groups for s in g.sequences)
    lengths = [len(s.input_ids) for s in flat]
    assert lengths == sorted(lengths)
    n_mentions = sum(len(g.mention_indices) for g in groups)
    budget = 2 * sum(lengths) / n_mentions
    for batch in batches:  # padded to its last (longest) sequence, within the budget unless it is alone
        assert len(batch) == 1 or len(batch) * len(batch[-1].input_ids) <= budget


def test_length_sorted_batches_pad_less_than_whole_mentions(tokenizer):
    _, _, groups, _ = _build(tokenizer, "base", k=5)

    def padded_tokens(batches):
        return sum(len(batch) * max(len(s.input_ids) for s in batch) for batch in batches)

    by_mention = [[s for g in batch for s in g.sequences] for batch in iter_group_batches(groups, 2)]
    assert padded_tokens(iter_sequence_batches(groups, 2)) < padded_tokens(by_mention)


def test_document_chunks_keep_documents_whole():
    document_ids = ["a", "b", "a", "c", "b", "c", "c", "d"]
    chunks = document_chunks(document_ids, 3)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(document_ids)))
    assert all(len({document_ids[i] for i in chunk} & {document_ids[i] for i in other}) == 0
               for n, chunk in enumerate(chunks) for other in chunks[n + 1:])
    assert all(len(chunk) >= 3 for chunk in chunks[:-1])
    assert chunks == [[0, 2, 1, 4], [3, 5, 6], [7]]
    assert document_chunks([], 3) == []


def test_collate_builds_token_types_masks_and_slots(tokenizer):
    _, _, groups, _ = _build(tokenizer, "parallel", k=3)
    sequences = [s for g in groups for s in g.sequences][:3]
    batch = collate(sequences, isolated=True, pad_id=tokenizer.pad_token_id)
    width = max(len(s.input_ids) for s in sequences)
    for row, sequence in enumerate(sequences):
        n, n_context = len(sequence.input_ids), sequence.segment_ids.count(0)
        assert batch["input_ids"][row, :n].tolist() == sequence.input_ids
        assert batch["input_ids"][row, n:].eq(tokenizer.pad_token_id).all()
        assert batch["token_type_ids"][row].tolist() == [0] * n_context + [1] * (n - n_context) + [0] * (width - n)
        assert batch["position_ids"][row, :n].tolist() == sequence.position_ids
        mask = batch["attention_mask"][row, 0]
        for query in range(n):
            visible = [key < n and (sequence.segment_ids[key] == 0 or sequence.segment_ids[key] == sequence.segment_ids[query])
                       for key in range(width)]
            assert mask[query].tolist() == visible
    slots = [(row, *slot) for row, s in enumerate(sequences) for slot in s.slots]
    assert list(zip(*(batch[k].tolist() for k in ("slot_row", "slot_mention", "slot_candidate", "slot_position")))) == slots
    plain = collate(sequences, isolated=False, pad_id=tokenizer.pad_token_id)
    assert plain["attention_mask"].tolist() == [[1] * len(s.input_ids) + [0] * (width - len(s.input_ids)) for s in sequences]
    assert "position_ids" not in plain
