"""Training and prediction settings of the XMR model: small dataclasses that round-trip through JSON.

Every value is checked on construction; a bad value raises ConfigError naming the field
(`tree.branching_factor`) and what it must be.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_open
from ..errors import ConfigError


def _require(ok: bool, name: str, value, what: str) -> None:
    if not ok:
        raise ConfigError(f"XMR config field {name} = {value!r}: must be {what}")


def _check_range(name: str, value, minimum: int = 1) -> None:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value)
    _require(ok and minimum <= value[0] <= value[1], name, value, f"a pair [low, high] of integers with {minimum} <= low <= high")


@dataclass
class FeatureConfig:
    """TF-IDF over char n-grams within word boundaries plus word n-grams, each block l2-normalised."""

    char_ngram_range: tuple[int, int] = (2, 5)
    word_ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 1
    char_weight: float = 1.0
    word_weight: float = 1.0
    canonical_words: bool = True  # featurise `key_words` (singular, American spelling, Roman numerals as digits)

    def validate(self, prefix: str) -> None:
        _check_range(f"{prefix}.char_ngram_range", self.char_ngram_range)
        _check_range(f"{prefix}.word_ngram_range", self.word_ngram_range)
        _require(self.min_df >= 1, f"{prefix}.min_df", self.min_df, "an integer >= 1")
        for name in ("char_weight", "word_weight"):
            _require(getattr(self, name) >= 0, f"{prefix}.{name}", getattr(self, name), "a number >= 0")
        _require(self.char_weight + self.word_weight > 0, f"{prefix}.char_weight", self.char_weight, "> 0 when word_weight is 0")


@dataclass
class TrainingDataConfig:
    """Which strings become training examples and how much each kind weighs."""

    alias_weight: float = 1.0
    mention_weight: float = 1.0
    add_long_forms: bool = True  # also train on the long form of a mention that is a defined abbreviation
    corpus_concepts: bool = True  # learn gold ids the ontology lacks as concepts named by their mentions

    def validate(self, prefix: str) -> None:
        for name in ("alias_weight", "mention_weight"):
            _require(getattr(self, name) > 0, f"{prefix}.{name}", getattr(self, name), "a number > 0")


@dataclass
class TreeConfig:
    """Recursive balanced spherical 2-means over PIFA label embeddings, cut into B-way levels."""

    branching_factor: int = 16
    max_leaf_size: int = 100
    kmeans_iterations: int = 20
    name_weight: float = 0.0  # weight of each concept's own name features beside PIFA in the label embeddings

    def validate(self, prefix: str) -> None:
        ok = self.branching_factor >= 2 and self.branching_factor & (self.branching_factor - 1) == 0
        _require(0 <= self.name_weight < 1, f"{prefix}.name_weight", self.name_weight, "a number in [0, 1)")
        _require(ok, f"{prefix}.branching_factor", self.branching_factor, "a power of two >= 2")
        _require(self.max_leaf_size >= 2, f"{prefix}.max_leaf_size", self.max_leaf_size, "an integer >= 2")
        _require(self.kmeans_iterations >= 1, f"{prefix}.kmeans_iterations", self.kmeans_iterations, "an integer >= 1")


@dataclass
class MatcherConfig:
    """One-vs-rest L2-loss linear SVMs per tree node (liblinear dual), weights pruned below a threshold."""

    C: float = 1.0
    weight_threshold: float = 0.1
    max_iter: int = 20
    tolerance: float = 0.1
    # A node routed more examples than this learns from a seeded random sample of them: bounds a worker's memory
    # (the root sees every example) at 10^6 concepts; smaller trees never reach it, so their models are unchanged.
    max_node_examples: int = 250_000
    # Per example and level below the root, how many wrong nodes of the model's own beam also train on it
    # (PECOS's matcher-aware negatives); 0: teacher forcing alone, every level fitted at once.
    hard_negatives: int = 0

    def validate(self, prefix: str) -> None:
        _require(self.C > 0, f"{prefix}.C", self.C, "a number > 0")
        _require(self.hard_negatives >= 0, f"{prefix}.hard_negatives", self.hard_negatives, "an integer >= 0")
        _require(self.max_node_examples >= 1, f"{prefix}.max_node_examples", self.max_node_examples, "an integer >= 1")
        _require(self.weight_threshold >= 0, f"{prefix}.weight_threshold", self.weight_threshold, "a number >= 0")
        _require(self.max_iter >= 1, f"{prefix}.max_iter", self.max_iter, "an integer >= 1")
        _require(self.tolerance > 0, f"{prefix}.tolerance", self.tolerance, "a number > 0")


POST_PROCESSORS = ("l3-hinge", "sigmoid")
POOLINGS = ("mean", "cls")


@dataclass
class FusionConfig:
    """How the tree, the exact-alias, word-key and nearest-neighbour channels are combined."""

    post_processor: str = "l3-hinge"
    tree_weight: float = 1.5  # tuned on NCBI and BC5CDR dev (the tree generalises past the seen strings)
    exact_weight: float = 1.0
    nn_weight: float = 1.0
    nn_top_aliases: int = 100
    nn_query_terms: int = 8
    nn_index_terms: int = 32  # each example string's heaviest terms in the nearest-neighbour index (tuned on both dev sets)
    word_weight: float = 2.0  # the word-key channel (alias_index.word_match)
    substitution_weight: float = 0.5  # a key one learned word substitution away, relative to the query's own key
    drop_weight: float = 0.5  # a key one learned droppable word away
    rewrite_min_concepts: int = 3  # concepts that must attest a rewrite
    # The parent channel (hierarchy.py): the parents of the best `parent_top_children` concepts enter at this
    # fraction of their best child's score, unless they score higher already. 0.7 and 10 tuned on NCBI Disease
    # and BC5CDR dev: acc@1 unchanged, recall@10 +0.5 / +0.2 points, recall@20 +0.3 / +0.2 points.
    parent_weight: float = 0.7
    parent_top_children: int = 10
    # The dense channel's weight, when `dense.encoder` names one. 3 tuned on NCBI Disease and BC5CDR dev with
    # MiniLM-L6, as given and fine-tuned on MEDIC (benchmarks/dense_channel.py): acc@1 rose with it up to 3-4.
    dense_weight: float = 3.0
    # Document candidates (document_candidates.py): the last of a mention's `top_k` slots, up to this many and at
    # most a quarter of them, go to the concepts its document's other mentions rank first. 3 tuned on NCBI Disease
    # train (5-fold by document) and both dev sets: recall@20 +0.4 / +0.25 / +0.2 points, acc@1 unchanged.
    document_candidates: int = 3

    def validate(self, prefix: str) -> None:
        _require(self.post_processor in POST_PROCESSORS, f"{prefix}.post_processor", self.post_processor, f"one of {POST_PROCESSORS}")
        for name in ("tree_weight", "exact_weight", "nn_weight", "word_weight", "substitution_weight", "drop_weight", "dense_weight"):
            _require(getattr(self, name) >= 0, f"{prefix}.{name}", getattr(self, name), "a number >= 0")
        _require(0 <= self.parent_weight < 1, f"{prefix}.parent_weight", self.parent_weight, "a number in [0, 1) (a parent never outranks its child)")
        for name in ("nn_top_aliases", "nn_query_terms", "nn_index_terms", "rewrite_min_concepts", "parent_top_children"):
            _require(getattr(self, name) >= 1, f"{prefix}.{name}", getattr(self, name), "an integer >= 1")
        _require(self.document_candidates >= 0, f"{prefix}.document_candidates", self.document_candidates, "an integer >= 0")


@dataclass
class DenseConfig:
    """The optional dense channel (`dense.py`): a Hugging Face encoder by hub name or local path, e.g.
    cambridgeltl/SapBERT-from-PubMedBERT-fulltext with "cls" pooling; empty leaves the channel out."""

    encoder: str = ""
    pooling: str = "mean"  # sentence-transformers models pool the mean; SapBERT was trained on [CLS]
    max_length: int = 32  # tokens per string: names and mentions are short
    batch_size: int = 256
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    top_aliases: int = 100  # nearest example strings per query whose concepts enter fusion

    def validate(self, prefix: str) -> None:
        _require(self.pooling in POOLINGS, f"{prefix}.pooling", self.pooling, f"one of {POOLINGS}")
        for name in ("max_length", "batch_size", "top_aliases"):
            _require(getattr(self, name) >= 1, f"{prefix}.{name}", getattr(self, name), "an integer >= 1")
        device_ok = self.device in ("auto", "cpu", "cuda") or (self.device.startswith("cuda:") and self.device[5:].isdigit())
        _require(device_ok, f"{prefix}.device", self.device, "auto, cpu, cuda or cuda:N")


@dataclass
class XMRConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    training: TrainingDataConfig = field(default_factory=TrainingDataConfig)
    tree: TreeConfig = field(default_factory=TreeConfig)
    matcher: MatcherConfig = field(default_factory=MatcherConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    dense: DenseConfig = field(default_factory=DenseConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if hasattr(value, "validate"):
                value.validate(f.name)
        _require(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "an integer >= 0")

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> "XMRConfig":
        """Build a config from (part of) a dict; missing fields keep their defaults."""
        return _build(cls, data, "")

    def to_json(self, path: str | Path) -> None:
        with atomic_open(path) as handle:
            json.dump(self.to_dict(), handle, indent=2)

    @classmethod
    def from_json(cls, path: str | Path) -> "XMRConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf8"))
        except FileNotFoundError as err:
            raise ConfigError(f"XMR config file {path} not found") from err
        except json.JSONDecodeError as err:
            raise ConfigError(f"XMR config file {path}: invalid JSON at line {err.lineno}: {err.msg}") from err
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err


def _build(cls, data, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"XMR config field {prefix or '(top level)'}: expected a JSON object, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"XMR config: unknown field(s) {', '.join(prefix + k for k in unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        where = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{where}.")
        else:
            kwargs[name] = _coerce(hint, value, where)
    return cls(**kwargs)


def _coerce(hint, value, where: str):
    origin = typing.get_origin(hint)
    if origin is tuple:
        _check_range(where, value, minimum=-(2**31))
        return tuple(value)
    if hint is bool:
        _require(isinstance(value, bool), where, value, "true or false")
    elif hint is int:
        _require(isinstance(value, int) and not isinstance(value, bool), where, value, "an integer")
    elif hint is float:
        _require(isinstance(value, (int, float)) and not isinstance(value, bool), where, value, "a number")
        value = float(value)
    elif hint is str:
        _require(isinstance(value, str), where, value, "a string")
    return value
