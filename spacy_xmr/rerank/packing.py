"""The one input builder of every crosstype: (mentions in context, candidate ids) -> packed token sequences.

Every crosstype builds the same kind of sequence, `[CLS] context [SEP]` followed by candidate
segments `[C{j}] name ; synonym ; ... [SEP]`; they differ only in what one context holds:

- `base`: the mention's sentence and ONE candidate (one sequence per (mention, candidate) pair);
- `parallel`: the mention's sentence and all its candidates;
- `multi`: a sentence with all its mentions, each marked `[M{j}] ... [/M{j}]`, and all their candidates;
- `passage` / `document`: the same over a passage / the whole document.

Each candidate is scored by the shared head at its own `[C{j}]` marker (`base` included, so a packed
sequence with isolated attention reproduces `base` exactly). Whether packed candidates see each other is
the `attention` setting: `full` lets every token see every token (positions run on through the
candidates); `isolated` lets context tokens see the context only and each candidate segment the context
plus itself, with position ids restarting where the context ends, so every candidate gets the positions it
would have in `base` (built as a 4-D attention mask in `batching.py`).

Nothing is truncated silently. A sequence longer than `max_length` is split greedily: candidate
segments are added mention by mention, and a new sequence (repeating the context) starts whenever the next
one would not fit. Only when the context cannot fit beside even one candidate segment is it cut, to a
window around the mentions of that sequence; such windows (and mentions longer than the room left, whose
middle is cut) are counted in `PackingStats` and logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from ..ontology import Ontology
from . import markers
from .config import RerankerConfig
from .verbalize import candidate_text

if TYPE_CHECKING:  # Mention is only read through its attributes, so the GPU benchmark needs no bioc
    from ..corpus.mention import Mention

logger = logging.getLogger(__name__)

# What a context spans, per crosstype.
CONTEXT_LEVEL = {"base": "sentence", "parallel": "sentence", "multi": "sentence", "passage": "passage", "document": "document"}


@dataclass
class PackedSequence:
    input_ids: list[int]
    position_ids: list[int]
    segment_ids: list[int]  # 0 for the context, i >= 1 for the i-th candidate segment (token type: segment > 0)
    slots: list[tuple[int, int, int]]  # (mention index, candidate index, position of its [C] marker)


@dataclass
class PackedGroup:
    """The sequences of one context (a sentence, passage, ...): all candidates of its mentions."""

    mention_indices: list[int]
    sequences: list[PackedSequence]


@dataclass
class PackingStats:
    n_sequences: int = 0
    n_split_groups: int = 0  # contexts that needed more than one sequence
    n_windowed: int = 0  # sequences whose context was cut to a window around their mentions
    n_truncated_mentions: int = 0  # mentions longer than the room left, whose middle was cut
    unknown_candidates: set = field(default_factory=set)  # ids not in the ontology (shown as the id itself)


def _mention_location(mention: "Mention") -> tuple[str, int, int]:
    """(document text, start, end); a mention without document text is its own context."""
    text = mention.document_text
    if text and text[mention.start:mention.end] == mention.text:
        return text, mention.start, mention.end
    return mention.text, 0, len(mention.text)


def _context_span(mention: "Mention", level: str) -> tuple[int, int]:
    """Document offsets of the mention's sentence / passage / document (wider when a level is unset)."""
    text, start, end = _mention_location(mention)
    if text is mention.text:
        return 0, len(text)
    spans = {"sentence": (mention.sentence_start, mention.sentence_end), "passage": (mention.passage_start, mention.passage_end)}
    for candidate_level in ("sentence", "passage")[("sentence", "passage", "document").index(level):]:
        lo, hi = spans[candidate_level]
        if lo <= start and end <= hi and lo < hi:
            return lo, hi
    return 0, len(text)


def group_mentions(mentions: Sequence["Mention"], crosstype: str) -> list[list[int]]:
    """Mention indices grouped by shared context, groups in first-appearance order, members by offset."""
    level = CONTEXT_LEVEL[crosstype]
    groups: dict[tuple, list[int]] = {}
    for index, mention in enumerate(mentions):
        own_context = crosstype in ("base", "parallel") or _mention_location(mention)[0] is mention.text
        key = ("mention", index) if own_context else (mention.document_id, _context_span(mention, level))
        groups.setdefault(key, []).append(index)
    return [sorted(members, key=lambda i: (mentions[i].start, mentions[i].end, i)) for members in groups.values()]


class InputBuilder:
    """Tokenizes contexts and candidates once and packs them into sequences of at most `max_length` tokens."""

    def __init__(self, tokenizer, config: RerankerConfig, ontology: Ontology, max_length: int):
        self.tokenizer = tokenizer
        self.config = config
        self.ontology = ontology
        self.max_length = max_length
        self.ids = markers.MarkerIds.from_tokenizer(tokenizer, config.max_mentions_per_sequence)
        self._candidate_tokens: dict[str, list[int]] = {}

    def build(self, mentions: Sequence["Mention"], candidate_ids: Sequence[Sequence[str]]) -> tuple[list[PackedGroup], PackingStats]:
        """Pack every (mention, candidate) pair into exactly one slot of one sequence."""
        if len(mentions) != len(candidate_ids):
            raise ValueError(f"{len(mentions)} mentions but {len(candidate_ids)} candidate lists")
        stats = PackingStats()
        self._tokenize_candidates({concept_id for ids in candidate_ids for concept_id in ids}, stats)
        size = self.config.max_mentions_per_sequence
        chunks = []
        for members in group_mentions(mentions, self.config.crosstype):
            members = [i for i in members if candidate_ids[i]]
            chunks += [members[lo:lo + size] for lo in range(0, len(members), size)]
        texts = [self._marked_text([mentions[i] for i in chunk]) for chunk in chunks]
        # one batched call; verbose=False: contexts longer than the model are expected here (split or windowed below)
        contexts = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
        groups = []
        for chunk, context in zip(chunks, contexts):
            sequences = self._pack_chunk(candidate_ids, chunk, context, stats)
            stats.n_sequences += len(sequences)
            stats.n_split_groups += len(sequences) > 1 and self.config.crosstype != "base"
            groups.append(PackedGroup(chunk, sequences))
        if stats.n_windowed or stats.n_truncated_mentions:
            logger.info("reranker packing: %d of %d sequences had their context windowed, %d mentions truncated",
                        stats.n_windowed, stats.n_sequences, stats.n_truncated_mentions)
        return groups, stats

    # ---- tokens -------------------------------------------------------------------------
    def _tokenize_candidates(self, concept_ids: set[str], stats: PackingStats) -> None:
        """Token ids of every candidate text not seen before, in one batched tokenizer call."""
        stats.unknown_candidates.update(c for c in concept_ids if self.ontology.get(c) is None)
        new = sorted(c for c in concept_ids if c not in self._candidate_tokens)
        if new:
            texts = [candidate_text(self.ontology, c, self.config.n_synonyms) for c in new]
            for concept_id, ids in zip(new, self.tokenizer(texts, add_special_tokens=False)["input_ids"]):
                self._candidate_tokens[concept_id] = ids[: self.config.max_candidate_tokens]

    def _segment(self, local_index: int, concept_id: str) -> list[int]:
        return [self.ids.candidate[local_index], *self._candidate_tokens[concept_id], self.ids.sep]

    def _marked_text(self, chunk: list["Mention"]) -> str:
        """The shared context of `chunk` with every mention marked `[M{j}] ... [/M{j}]`."""
        text, _, _ = _mention_location(chunk[0])
        level = CONTEXT_LEVEL[self.config.crosstype]
        spans = [_context_span(m, level) for m in chunk]
        ctx_start = min(min(s for s, _ in spans), *(_mention_location(m)[1] for m in chunk))
        ctx_end = max(max(e for _, e in spans), *(_mention_location(m)[2] for m in chunk))
        inserts = []
        for j, mention in enumerate(chunk):
            _, start, end = _mention_location(mention)
            inserts.append((start, 1, -end, f" {markers.mention_start(j)} "))
            inserts.append((end, 0, -start, f" {markers.mention_end(j)} "))
        pieces, cursor = [], ctx_start
        for offset, *_, marker in sorted(inserts):
            pieces += [text[cursor:offset], marker]
            cursor = offset
        pieces.append(text[cursor:ctx_end])
        return "".join(pieces)

    def _marker_spans(self, context: list[int], n_mentions: int) -> list[tuple[int, int]]:
        """Each mention's (start, end) token span including its markers (end exclusive)."""
        where = {token: position for position, token in enumerate(context)}
        return [(where[self.ids.start[j]], where[self.ids.end[j]] + 1) for j in range(n_mentions)]

    # ---- packing ------------------------------------------------------------------------
    def _pack_chunk(self, candidate_ids, chunk: list[int], context: list[int], stats: PackingStats) -> list[PackedSequence]:
        spans = self._marker_spans(context, len(chunk))
        budget = self.max_length - 2  # [CLS] context [SEP]
        per_sequence = 1 if self.config.crosstype == "base" else None
        segments = [[self._segment(j, concept_id) for concept_id in candidate_ids[i]] for j, i in enumerate(chunk)]
        # Pack against the whole context when it fits beside the longest segment; else against the mentions' hull
        # (the context is then windowed around them).
        whole_context = len(context) + max(len(s) for row in segments for s in row) <= budget
        sequences: list[PackedSequence] = []
        chosen: list[tuple[int, int, list[int]]] = []
        chosen_tokens = 0  # the candidate segments' tokens in `chosen`
        hull: tuple[int, int] | None = None
        for j, mention_index in enumerate(chunk):
            for candidate_index, segment in enumerate(segments[j]):
                new_hull = spans[j] if hull is None else (min(hull[0], spans[j][0]), max(hull[1], spans[j][1]))
                context_cost = len(context) if whole_context else new_hull[1] - new_hull[0]
                if chosen and (chosen_tokens + len(segment) + context_cost > budget or len(chosen) == per_sequence):
                    sequences.append(self._sequence(context, hull, chosen, stats))
                    chosen, chosen_tokens, new_hull = [], 0, spans[j]
                chosen.append((mention_index, candidate_index, segment))
                chosen_tokens += len(segment)
                hull = new_hull
        if chosen:
            sequences.append(self._sequence(context, hull, chosen, stats))
        return sequences

    def _window(self, context: list[int], hull: tuple[int, int], room: int, stats: PackingStats) -> list[int]:
        """The whole context when it fits in `room` tokens, else a window centred on `hull`."""
        if len(context) <= room:
            return context
        stats.n_windowed += 1
        lo, hi = hull
        if hi - lo > room:  # a single mention longer than the room: keep its start, its end marker
            stats.n_truncated_mentions += 1
            return context[lo:lo + room - 1] + [context[hi - 1]]
        extra = room - (hi - lo)
        right = min(extra - min(extra // 2, lo), len(context) - hi)
        left = min(extra - right, lo)
        return context[lo - left:hi + right]

    def _sequence(self, context, hull, chosen, stats: PackingStats) -> PackedSequence:
        room = self.max_length - 2 - sum(len(segment) for *_, segment in chosen)
        window = self._window(context, hull, room, stats)
        input_ids = [self.ids.cls, *window, self.ids.sep]
        n_context = len(input_ids)
        sequence = PackedSequence(input_ids, list(range(n_context)), [0] * n_context, [])
        isolated = self.config.attention == "isolated"
        for number, (mention_index, candidate_index, segment) in enumerate(chosen, start=1):
            first = n_context if isolated else len(sequence.input_ids)
            sequence.slots.append((mention_index, candidate_index, len(sequence.input_ids)))
            sequence.input_ids += segment
            sequence.position_ids += range(first, first + len(segment))
            sequence.segment_ids += [number] * len(segment)
        return sequence
