"""The features of a (mention, candidate) pair, computed from what the XMR stage returns (`XMRModel.channel_scores`),
the ontology and the training mentions' concept counts.

Every feature is listed once in `feature_table` with its group and what it measures; the groups are the units of
the benchmark's ablation. A mention's candidates are featurised together, since ranks and margins are relative to
the mention's list, and a document's mentions together, since the document feature counts the other mentions' lists.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..corpus.mention import Mention
from ..ontology import Ontology
from ..xmr import CandidateEvidence, normalize_text, texts_to_link

MAX_NAMES = 50  # names compared per concept: MEDIC's longest synonym lists add time, not signal
ABSENT_RANK = 100.0  # the rank of a candidate that a channel did not score

# alias_match values
NO_MATCH, SAME_WORDS, SYNONYM, PREFERRED_NAME = 0.0, 1.0, 2.0, 3.0

GROUPS = {
    "channels": "each channel's unweighted score and the candidate's rank by it",
    "fused": "the XMR stage's fused score, rank, and distance to the mention's best candidate",
    "alias": "the kind of alias match between the mention and the concept's names",
    "overlap": "character and word overlap with the concept's closest name, and length ratios",
    "abbreviation": "whether the mention is a short form, and whether it was expanded from its document",
    "prior": "the concept's share of the training mentions",
    "document": "how often the other mentions of the same document propose the candidate",
    "ontology": "the concept's depth in the ontology and its number of names",
    "cross_encoder": "the cross-encoder's score and rank (only when the ranker is trained with one)",
}


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    explanation: str


def feature_table(channels: Sequence[str], with_cross_encoder: bool = False) -> list[Feature]:
    """Every feature in column order, for a model whose channels are `channels`."""
    table = []
    for channel in channels:
        table += [Feature(f"{channel}_score", "channels", f"the {channel} channel's unweighted score (0: it did not score the candidate)"),
                  Feature(f"{channel}_rank", "channels", f"the candidate's rank by the {channel} channel's score ({ABSENT_RANK:.0f}: unscored)")]
    table += [
        Feature("fused_score", "fused", "the XMR stage's fused score"),
        Feature("fused_rank", "fused", "the candidate's place in the XMR stage's list (1: first)"),
        Feature("fused_margin", "fused", "the best candidate's fused score minus this one's"),
        Feature("fused_ratio", "fused", "this candidate's fused score divided by the best one's"),
        Feature("alias_match", "alias", "3: the mention is the concept's preferred name; 2: one of its synonyms; 1: a name with the "
                                        "same words in another order; 0: none (after normalisation)"),
        Feature("word_jaccard", "overlap", "the largest word Jaccard similarity between the mention and a name of the concept"),
        Feature("char_jaccard", "overlap", "the largest character-trigram Jaccard similarity between the mention and a name"),
        Feature("length_ratio", "overlap", "shorter / longer length in characters of the mention and its closest name"),
        Feature("missing_words", "overlap", "words of the closest name that the mention lacks"),
        Feature("extra_words", "overlap", "words of the mention that the closest name lacks"),
        Feature("mention_words", "overlap", "the mention's number of words"),
        Feature("short_form", "abbreviation", "1 when the mention looks like an abbreviation (one word, mostly capitals or digits)"),
        Feature("expanded", "abbreviation", "1 when the mention was linked by a long form defined in its document"),
        Feature("prior", "prior", "the concept's share of the training mentions"),
        Feature("log_count", "prior", "log(1 + the concept's number of training mentions)"),
        Feature("document_votes", "document", "share of the document's other mentions that have the candidate in their list"),
        Feature("document_firsts", "document", "number of the document's other mentions whose first candidate it is"),
        Feature("depth", "ontology", "the concept's depth below a root of the ontology (0: a root or a concept of the corpus only)"),
        Feature("n_names", "ontology", "the concept's number of names (preferred name and synonyms)"),
    ]
    if with_cross_encoder:
        table += [Feature("cross_encoder_score", "cross_encoder", "the cross-encoder's score of the (mention, concept) pair"),
                  Feature("cross_encoder_rank", "cross_encoder", "the candidate's rank by the cross-encoder's score")]
    return table


def _trigrams(key: str) -> frozenset[str]:
    padded = f" {key} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


@dataclass(frozen=True)
class _Name:
    key: str
    words: frozenset[str]
    trigrams: frozenset[str]


def _name(text: str) -> _Name:
    key = normalize_text(text)
    return _Name(key, frozenset(key.split()), _trigrams(key))


@dataclass(frozen=True)
class _ConceptNames:
    """A concept's normalised names (preferred first), indexed for the alias-match lookups."""

    names: list[_Name]
    preferred: dict[str, bool]  # normalised name → whether it is the preferred one
    word_sets: frozenset[frozenset[str]]

    @classmethod
    def of(cls, aliases: list[str]) -> "_ConceptNames":
        names = [_name(alias) for alias in aliases[:MAX_NAMES]]
        preferred: dict[str, bool] = {}
        for place, name in enumerate(names):
            preferred.setdefault(name.key, place == 0)
        return cls(names, preferred, frozenset(name.words for name in names))


class ConceptFacts:
    """What the features need to know of the concepts: their normalised names, depth and training counts.

    Names and depths are computed on first use and kept, so a pipeline pays for the concepts it meets only.
    """

    def __init__(self, ontology: Ontology, concept_counts: dict[str, int]):
        self.ontology = ontology
        self.concept_counts = dict(concept_counts)
        self.n_training_mentions = sum(self.concept_counts.values())
        self._names: dict[str, _ConceptNames] = {}
        self._depth: dict[str, int] = {}

    def names(self, concept_id: str) -> _ConceptNames:
        if concept_id not in self._names:
            concept = self.ontology.get(concept_id)
            self._names[concept_id] = _ConceptNames.of(concept.aliases if concept else [])
        return self._names[concept_id]

    def depth(self, concept_id: str) -> int:
        """Edges on the shortest path up to a concept without known parents (parent cycles are cut)."""
        if concept_id in self._depth:
            return self._depth[concept_id]
        self._depth[concept_id] = 0  # a cycle back to here counts as a root
        concept = self.ontology.get(concept_id)
        parents = [p for p in (concept.parents if concept else []) if self.ontology.get(p) is not None]
        self._depth[concept_id] = 1 + min(self.depth(self.ontology.resolve(p)) for p in parents) if parents else 0
        return self._depth[concept_id]

    def prior(self, concept_id: str) -> tuple[float, float]:
        count = self.concept_counts.get(concept_id, 0)
        return count / max(self.n_training_mentions, 1), math.log1p(count)


def concept_counts(mentions: Sequence[Mention], ontology: Ontology) -> dict[str, int]:
    """{concept id: number of mentions linked to it} (alt ids resolved; a mention with two concepts counts for both)."""
    counts: Counter = Counter()
    for mention in mentions:
        counts.update({ontology.resolve(gold) or gold for gold in mention.gold_ids})
    return dict(counts)


def _is_short_form(text: str) -> bool:
    letters = [c for c in text if c.isalnum()]
    return " " not in text.strip() and len(letters) <= 10 and sum(c.isupper() or c.isdigit() for c in letters) * 2 > len(letters)


def _ranks(values: np.ndarray) -> np.ndarray:
    """`_descending_ranks`, with ABSENT_RANK where the value is 0 (the channel did not score the candidate)."""
    return np.where(values > 0, _descending_ranks(values), ABSENT_RANK)


def _descending_ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, highest first; ties share the better rank."""
    return 1.0 + (values[None, :] > values[:, None]).sum(axis=1)


def _alias_match(keys: list[_Name], concept: _ConceptNames) -> float:
    match = NO_MATCH
    for key in keys:
        if key.key in concept.preferred:
            match = max(match, PREFERRED_NAME if concept.preferred[key.key] else SYNONYM)
        elif key.words in concept.word_sets:
            match = max(match, SAME_WORDS)
    return match


def _jaccard(a: frozenset, b: frozenset) -> float:
    common = len(a & b)
    return common / ((len(a) + len(b) - common) or 1)


def _string_features(keys: list[_Name], concept: _ConceptNames) -> list[float]:
    """alias_match, then word_jaccard, char_jaccard, length_ratio, missing_words, extra_words against the closest name
    (the highest character-trigram Jaccard similarity to the mention or its long form)."""
    pairs = [(_jaccard(key.trigrams, name.trigrams), key, name) for key in keys for name in concept.names]
    if not pairs:
        return [NO_MATCH, 0.0, 0.0, 0.0, 0.0, 0.0]
    chars = max(pair[0] for pair in pairs)
    closest = [(_jaccard(key.words, name.words), key, name) for pair_chars, key, name in pairs if pair_chars == chars]
    words, key, name = max(closest, key=lambda pair: pair[0])  # the first of the best: as the OOF lists were featurised
    lengths = sorted((len(key.key), len(name.key)))
    return [_alias_match(keys, concept), words, chars, lengths[0] / max(lengths[1], 1),
            float(len(name.words - key.words)), float(len(key.words - name.words))]


def featurize(mentions: Sequence[Mention], evidence: Sequence[Sequence[CandidateEvidence]], facts: ConceptFacts,
              channels: Sequence[str], cross_encoder: Sequence[Sequence[float]] | None = None) -> np.ndarray:
    """(total candidates) × (features of `feature_table(channels, cross_encoder is not None)`): the rows of each
    mention's candidates in order, mention after mention. `cross_encoder`: a score per candidate, aligned with `evidence`."""
    long_forms = texts_to_link(mentions)
    lists_of_document: dict[str, list[int]] = defaultdict(list)
    for index, mention in enumerate(mentions):
        lists_of_document[mention.document_id].append(index)
    votes, firsts = _document_counts(mentions, evidence, lists_of_document)
    rows = []
    for index, (mention, long_form, candidates) in enumerate(zip(mentions, long_forms, evidence)):
        if not candidates:
            continue
        keys = [_name(mention.text)] + ([_name(long_form)] if long_form != mention.text else [])
        mention_features = [float(len(keys[-1].words)), float(_is_short_form(mention.text)), float(long_form != mention.text)]
        cross = _cross_encoder_block(cross_encoder[index]) if cross_encoder is not None else np.zeros((len(candidates), 0))
        n_others = max(len(lists_of_document[mention.document_id]) - 1, 1)
        block = _channel_block(candidates, channels)
        fused = np.array([candidate.score for candidate in candidates], dtype=np.float64)
        best = fused.max()
        for place, candidate in enumerate(candidates):
            concept = candidate.concept_id
            strings = _string_features(keys, facts.names(concept))
            row = [*block[place], fused[place], place + 1.0, best - fused[place], fused[place] / best if best > 0 else 0.0,
                   *strings, *mention_features, *facts.prior(concept), votes[index][concept] / n_others,
                   float(firsts[index][concept]), float(facts.depth(concept)), float(len(facts.names(concept).names)), *cross[place]]
            rows.append(row)
    width = len(feature_table(channels, cross_encoder is not None))
    return np.asarray(rows, dtype=np.float32).reshape(-1, width)


def _channel_block(candidates: Sequence[CandidateEvidence], channels: Sequence[str]) -> np.ndarray:
    """candidates × (score, rank) of each channel."""
    scores = np.array([[candidate.channels.get(name, 0.0) for name in channels] for candidate in candidates], dtype=np.float64)
    block = np.empty((len(candidates), 2 * len(channels)))
    for column in range(len(channels)):
        block[:, 2 * column] = scores[:, column]
        block[:, 2 * column + 1] = _ranks(scores[:, column])
    return block


def _cross_encoder_block(scores: Sequence[float]) -> np.ndarray:
    """candidates × (cross-encoder score, rank by it)."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.stack([scores, _descending_ranks(scores)], axis=1)


def _document_counts(mentions, evidence, lists_of_document) -> tuple[list[Counter], list[Counter]]:
    """For each mention: how many other mentions of its document list each concept, and put it first."""
    listed_in_document: dict[str, Counter] = {}
    first_in_document: dict[str, Counter] = {}
    for document, indexes in lists_of_document.items():
        listed_in_document[document] = Counter(concept for i in indexes for concept in {c.concept_id for c in evidence[i]})
        first_in_document[document] = Counter(evidence[i][0].concept_id for i in indexes if evidence[i])
    votes, firsts = [], []
    for mention, candidates in zip(mentions, evidence):
        own = Counter({c.concept_id for c in candidates})
        votes.append(listed_in_document[mention.document_id] - own)
        own_first = Counter([candidates[0].concept_id]) if candidates else Counter()
        firsts.append(first_in_document[mention.document_id] - own_first)
    return votes, firsts
