"""The features of a (mention, candidate) pair, computed from what the XMR stage returns (`XMRModel.channel_scores`),
the ontology and the training mentions' concept counts.

Every feature is listed once in `feature_table` with its group and what it measures; the groups are the units of
the benchmark's ablation. A batch is featurised at once, with numpy over all its candidates (ranks and margins are
relative to the mention's list, the document features count the other mentions' lists; the string features are
`names.py`'s), so that the ranker costs a fraction of the XMR stage it follows.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..corpus.mention import Mention
from ..ontology import Ontology
from ..xmr import CandidateEvidence, normalize_text, texts_to_link
from ..xmr.runs import places_in_runs
from .names import NameIndex, string_features
from .pairs import DistinctPairs, factorize
from .stems import StemIndex, stem_features

ABSENT_RANK = 100.0  # the rank of a candidate that a channel did not score

GROUPS = {
    "channels": "each channel's unweighted score and the candidate's rank by it",
    "fused": "the XMR stage's fused score, rank, and distance to the mention's best candidate",
    "alias": "the kind of alias match between the mention and the concept's names",
    "overlap": "character and word overlap with the concept's closest name, and length ratios",
    "abbreviation": "whether the mention is a short form, and whether it was expanded from its document",
    "prior": "the concept's share of the training mentions",
    "document": "how often the other mentions of the same document propose the candidate",
    "ontology": "the concept's depth in the ontology and its number of names",
    "stems": "word-stem and space-free overlap with the concept's names (word endings and hyphens set aside)",
    "hierarchy": "whether the candidate is above or below the XMR stage's first candidate, and the other candidates of its list",
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
        Feature("name_stems_covered", "stems", "the largest share of a name's word stems (first 6 letters) that the mention has"),
        Feature("mention_stems_covered", "stems", "the largest share of the mention's word stems that one name of the concept has"),
        Feature("compact_match", "stems", "1 when the mention equals a name of the concept once spaces and hyphens are removed"),
        Feature("above_first", "hierarchy", "1 when the concept is an ancestor of the XMR stage's first candidate (more general)"),
        Feature("below_first", "hierarchy", "1 when the concept is a descendant of the XMR stage's first candidate (more specific)"),
        Feature("ancestors_listed", "hierarchy", "number of the list's other candidates that are ancestors of the concept"),
        Feature("descendants_listed", "hierarchy", "number of the list's other candidates that are descendants of the concept"),
    ]
    if with_cross_encoder:
        table += [Feature("cross_encoder_score", "cross_encoder", "the cross-encoder's score of the (mention, concept) pair"),
                  Feature("cross_encoder_rank", "cross_encoder", "the candidate's rank by the cross-encoder's score")]
    return table


class ConceptFacts:
    """What the features need to know of the concepts: their names (`NameIndex`, `StemIndex`), ancestors, depth and
    training counts, read on first use and kept."""

    def __init__(self, ontology: Ontology, concept_counts: dict[str, int]):
        self.ontology = ontology
        self.concept_counts = dict(concept_counts)
        self.n_training_mentions = sum(self.concept_counts.values())
        self.names = NameIndex(ontology)
        self.stems = StemIndex(ontology)
        self._depth: dict[str, int] = {}
        self._ancestors: dict[str, frozenset[str]] = {}

    def depth(self, concept_id: str) -> int:
        """Edges on the shortest path up to a concept without known parents (parent cycles are cut)."""
        if concept_id in self._depth:
            return self._depth[concept_id]
        self._depth[concept_id] = 0  # a cycle back to here counts as a root
        concept = self.ontology.get(concept_id)
        parents = [p for p in (concept.parents if concept else []) if self.ontology.get(p) is not None]
        self._depth[concept_id] = 1 + min(self.depth(self.ontology.resolve(p)) for p in parents) if parents else 0
        return self._depth[concept_id]

    def ancestors(self, concept_id: str) -> frozenset[str]:
        """Every concept above `concept_id` through its parents (alt ids resolved; a cycle stops where it closes)."""
        if concept_id not in self._ancestors:
            found: set[str] = set()
            stack = [concept_id]
            while stack:
                concept = self.ontology.get(stack.pop())
                for parent in (self.ontology.resolve(p) for p in (concept.parents if concept else [])):
                    if parent is not None and parent not in found:
                        found.add(parent)
                        stack.append(parent)
            self._ancestors[concept_id] = frozenset(found - {concept_id})
        return self._ancestors[concept_id]

    def columns(self, unique: Sequence[str], inverse: np.ndarray) -> np.ndarray:
        """rows × (prior, log_count, depth, n_names) of the concepts `unique[inverse]`."""
        counts = np.array([self.concept_counts.get(concept_id, 0) for concept_id in unique], dtype=np.float64)
        table = np.stack([counts / max(self.n_training_mentions, 1), np.log1p(counts),
                          [float(self.depth(concept_id)) for concept_id in unique],
                          [float(len(self.names.names(concept_id))) for concept_id in unique]], axis=1).reshape(-1, 4)
        return table[inverse]


def concept_counts(mentions: Sequence[Mention], ontology: Ontology) -> dict[str, int]:
    """{concept id: number of mentions linked to it} (alt ids resolved; a mention with two concepts counts for both)."""
    counts: Counter = Counter()
    for mention in mentions:
        counts.update({ontology.resolve(gold) or gold for gold in mention.gold_ids})
    return dict(counts)


def _is_short_form(text: str) -> bool:
    letters = [c for c in text if c.isalnum()]
    return " " not in text.strip() and len(letters) <= 10 and sum(c.isupper() or c.isdigit() for c in letters) * 2 > len(letters)


@dataclass
class _Rows:
    """A batch's candidate lists flattened: one row per candidate, mention after mention, in list order."""

    owners: np.ndarray  # the mention of each row
    places: np.ndarray  # 0-based place in its list
    concepts: list[str]  # the batch's distinct candidate concepts, in order of first appearance
    concept_of: np.ndarray  # each row's concept, an index into `concepts`
    fused: np.ndarray
    n_mentions: int

    @classmethod
    def of(cls, evidence: Sequence[Sequence[CandidateEvidence]]) -> "_Rows":
        sizes = np.array([len(candidates) for candidates in evidence], dtype=np.int64)
        owners = np.repeat(np.arange(len(evidence)), sizes)
        places = places_in_runs(sizes)
        flat = [candidate for candidates in evidence for candidate in candidates]
        concepts, concept_of = factorize([c.concept_id for c in flat])
        return cls(owners, places, concepts, concept_of, np.array([c.score for c in flat], dtype=np.float64), len(evidence))

    def padded(self, values: np.ndarray) -> np.ndarray:
        """mentions × longest list (× columns of `values`), -inf where a list is shorter."""
        width = int(self.places.max()) + 1 if len(self.places) else 0
        grid = np.full((self.n_mentions, width, *values.shape[1:]), -np.inf)
        grid[self.owners, self.places] = values
        return grid

    def ranks(self, values: np.ndarray) -> np.ndarray:
        """1-based rank of each row's value (or of each column of `values`) within its list, highest first; ties
        share the better rank."""
        grid = self.padded(values)
        greater = (grid[:, None, :] > grid[:, :, None]).sum(axis=2)
        return 1.0 + greater[self.owners, self.places]

    def list_max(self, values: np.ndarray) -> np.ndarray:
        return self.padded(values).max(axis=1)[self.owners]


def featurize(mentions: Sequence[Mention], evidence: Sequence[Sequence[CandidateEvidence]], facts: ConceptFacts,
              channels: Sequence[str], cross_encoder: Sequence[Sequence[float]] | None = None) -> np.ndarray:
    """(total candidates) × (features of `feature_table(channels, cross_encoder is not None)`): the rows of each
    mention's candidates in order, mention after mention, computed with numpy over the whole batch.
    `cross_encoder`: a score per candidate, aligned with `evidence`."""
    rows = _Rows.of(evidence)
    width = len(feature_table(channels, cross_encoder is not None))
    if not len(rows.owners):
        return np.zeros((0, width), dtype=np.float32)
    long_forms = texts_to_link(mentions)
    keys = [[normalize_text(m.text)] + ([normalize_text(long_form)] if long_form != m.text else [])
            for m, long_form in zip(mentions, long_forms)]
    per_mention = np.array([(len(set(mention_keys[-1].split())), _is_short_form(m.text), long_form != m.text)
                            for m, long_form, mention_keys in zip(mentions, long_forms, keys)], dtype=np.float64).reshape(-1, 3)
    concepts = facts.columns(rows.concepts, rows.concept_of)
    pairs = DistinctPairs.of(keys, rows.owners, rows.concepts, rows.concept_of)
    blocks = [_channel_block(rows, evidence, channels), _fused_block(rows), string_features(facts.names, pairs)[pairs.of_row],
              per_mention[rows.owners], concepts[:, :2], _document_block(rows, mentions), concepts[:, 2:],
              stem_features(facts.stems, pairs)[pairs.of_row], _hierarchy_block(rows, facts)]
    if cross_encoder is not None:
        scores = np.array([score for scores in cross_encoder for score in scores], dtype=np.float64)
        blocks.append(np.stack([scores, rows.ranks(scores)], axis=1))
    return np.concatenate(blocks, axis=1).astype(np.float32)


def _channel_block(rows: _Rows, evidence: Sequence[Sequence[CandidateEvidence]], channels: Sequence[str]) -> np.ndarray:
    """rows × (score, rank) of each channel; an unscored candidate scores 0 and ranks ABSENT_RANK."""
    scores = np.array([[c.channels.get(name, 0.0) for name in channels] for candidates in evidence for c in candidates],
                      dtype=np.float64).reshape(-1, len(channels))
    ranks = np.where(scores > 0, rows.ranks(scores), ABSENT_RANK)
    return np.stack([scores, ranks], axis=2).reshape(len(scores), -1)


def _fused_block(rows: _Rows) -> np.ndarray:
    """rows × (fused score, place, margin to the best, ratio to the best)."""
    best = rows.list_max(rows.fused)
    ratio = np.divide(rows.fused, best, out=np.zeros_like(best), where=best > 0)
    return np.stack([rows.fused, rows.places + 1.0, best - rows.fused, ratio], axis=1)


def _document_block(rows: _Rows, mentions: Sequence[Mention]) -> np.ndarray:
    """rows × (share of the document's other mentions that list the candidate, number of them that put it first)."""
    _, document_of = factorize([m.document_id for m in mentions])
    mentions_in_document = np.bincount(document_of)
    concept_of, n_concepts = rows.concept_of, len(rows.concepts)
    document_concept = document_of[rows.owners] * n_concepts + concept_of
    listed = np.unique(rows.owners * n_concepts + concept_of)  # a mention lists a concept once
    listers, lister_counts = np.unique(document_of[listed // n_concepts] * n_concepts + listed % n_concepts, return_counts=True)
    firsts, first_counts = np.unique(document_concept[rows.places == 0], return_counts=True)
    votes = lister_counts[np.searchsorted(listers, document_concept)] - 1.0
    at = np.minimum(np.searchsorted(firsts, document_concept), len(firsts) - 1)
    first = np.where(firsts[at] == document_concept, first_counts[at], 0) - (rows.places == 0)
    others = np.maximum(mentions_in_document[document_of[rows.owners]] - 1, 1)
    return np.stack([votes / others, first], axis=1)


def _hierarchy_block(rows: _Rows, facts: ConceptFacts) -> np.ndarray:
    """rows × (ancestor of the list's first candidate, descendant of it, ancestors listed, descendants listed)."""
    concepts = rows.concepts
    position = {concept_id: i for i, concept_id in enumerate(concepts)}
    n = len(concepts)
    # above[m, a, b]: mention m's candidate a is an ancestor of its candidate b; codes ancestor * n + descendant
    lineage = np.array([position[ancestor] * n + below for below, concept_id in enumerate(concepts)
                        for ancestor in facts.ancestors(concept_id) if ancestor in position], dtype=np.int64)
    grid = np.full((rows.n_mentions, int(rows.places.max()) + 1), -1, dtype=np.int64)
    grid[rows.owners, rows.places] = rows.concept_of
    listed = grid >= 0
    above = np.isin(grid[:, :, None] * n + grid[:, None, :], lineage) & listed[:, :, None] & listed[:, None, :]
    owners, places = rows.owners, rows.places
    return np.stack([above[owners, places, 0], above[owners, 0, places],
                     above.sum(axis=1)[owners, places], above.sum(axis=2)[owners, places]], axis=1).astype(np.float64)
