"""Training and prediction settings of the XMR model: small dataclasses that round-trip through JSON.

Every value is checked on construction (`spacy_xmr.settings`); a bad value raises ConfigError naming the field
(`tree.branching_factor`) and what it must be.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..device import device_setting
from ..settings import Settings, setting

LABEL = "XMR config:"
PATH_SCORINGS = ("l3-hinge", "sigmoid")
POOLINGS = ("mean", "cls")


@dataclass
class FeatureConfig(Settings):
    """TF-IDF over char n-grams within word boundaries plus word n-grams, each block l2-normalised."""

    label = LABEL
    char_ngram_range: tuple[int, int] = setting((2, 5), at_least=1)
    word_ngram_range: tuple[int, int] = setting((1, 2), at_least=1)
    min_df: int = setting(1, at_least=1)
    char_weight: float = setting(1.0, at_least=0)
    word_weight: float = setting(1.0, at_least=0)
    canonical_words: bool = True  # featurise `key_words` (singular, American spelling, Roman numerals as digits)

    def check(self) -> None:
        if self.char_weight + self.word_weight == 0:
            self.fail("char_weight", "> 0 when word_weight is 0")


@dataclass
class TrainingDataConfig(Settings):
    """Which strings become training examples and how much each kind weighs."""

    label = LABEL
    alias_weight: float = setting(1.0, above=0)
    mention_weight: float = setting(1.0, above=0)
    add_long_forms: bool = True  # also train on the long form of a mention that is a defined abbreviation
    corpus_concepts: bool = True  # learn gold ids the ontology lacks as concepts named by their mentions


@dataclass
class TreeConfig(Settings):
    """Recursive balanced spherical 2-means over PIFA label embeddings, cut into B-way levels."""

    label = LABEL
    branching_factor: int = setting(16, at_least=2)
    max_leaf_size: int = setting(100, at_least=2)
    kmeans_iterations: int = setting(20, at_least=1)
    # weight of each concept's own name features beside PIFA in the label embeddings
    name_weight: float = setting(0.0, at_least=0, below=1)
    # how beam search turns a node's margin into the factor of its path score (PECOS's post-processor); the
    # matchers' hard-negative mining searches the tree with it too
    path_scoring: str = setting("l3-hinge", one_of=PATH_SCORINGS)
    # where the label embeddings and the 2-means run ("auto": a GPU when cupy sees one; `backend.py`); the tree is
    # the same on any device, ties aside
    device: str = device_setting()

    def check(self) -> None:
        if self.branching_factor & (self.branching_factor - 1):
            self.fail("branching_factor", "a power of two >= 2")


@dataclass
class MatcherConfig(Settings):
    """One-vs-rest L2-loss linear SVMs per tree node (liblinear dual), weights pruned below a threshold."""

    label = LABEL
    C: float = setting(1.0, above=0)
    weight_threshold: float = setting(0.1, at_least=0)
    max_iter: int = setting(20, at_least=1)
    tolerance: float = setting(0.1, above=0)
    # A node routed more examples than this learns from a seeded random sample of them: bounds a worker's memory
    # (the root sees every example) at 10^6 concepts; smaller trees never reach it, so their models are unchanged.
    max_node_examples: int = setting(250_000, at_least=1)
    # Per example and level below the root, how many wrong nodes of the model's own beam also train on it
    # (PECOS's matcher-aware negatives); 0: teacher forcing alone, every level fitted at once.
    hard_negatives: int = setting(0, at_least=0)


@dataclass
class WordKeyConfig(Settings):
    """The word-key channel (`channels/word_key.py`): how much a key one learned rewrite away counts."""

    label = LABEL
    substitution_weight: float = setting(0.5, at_least=0)  # a key one learned word substitution away, relative to the query's own key
    drop_weight: float = setting(0.5, at_least=0)  # a key one learned droppable word away
    rewrite_min_concepts: int = setting(3, at_least=1)  # concepts that must attest a rewrite


@dataclass
class NearestConfig(Settings):
    """The nearest-string channel (`channels/nearest.py`): how many strings each query is compared with."""

    label = LABEL
    top_aliases: int = setting(100, at_least=1)  # nearest example strings per query whose concepts enter fusion
    query_terms: int = setting(8, at_least=1)  # a query's heaviest terms that find its shortlist
    # each example string's heaviest terms in the term index (tuned on both dev sets)
    index_terms: int = setting(32, at_least=1)
    # the strings the term index keeps per term, those the term weighs most in (0: all): a bound on the pairs a query
    # forms, which grow with the ontology, at a cost in recall (docs/scale.md); a prediction setting too
    max_postings: int = setting(0, at_least=0)
    # the label tree's best concepts per query that get their closest string's cosine even where the term index misses
    # them, as it does more often with `max_postings` (0: none; 20: all the tree gives, tuned on both dev sets;
    # docs/scale.md); a prediction setting too
    tree_candidates: int = setting(20, at_least=0)


@dataclass
class ParentConfig(Settings):
    """The parent channel (`channels/parent.py`): the parents of the best `top_children` concepts enter at
    `fusion.parent_weight` of their best child's score, unless they score higher already. 10 tuned on NCBI Disease
    and BC5CDR dev. `exclude_top_level` bars the hierarchy's top-level categories ("Neoplasms") as candidates too, not
    only as parents; off by default because corpora link to them (the channel's docstring has the figures)."""

    label = LABEL
    top_children: int = setting(10, at_least=1)
    exclude_top_level: bool = False


@dataclass
class FusionConfig(Settings):
    """The weight of each channel (`<channel>_weight`, see `fusion.py`) and the document channel's slots."""

    label = LABEL
    tree_weight: float = setting(1.5, at_least=0)  # tuned on NCBI and BC5CDR dev (the tree generalises past the seen strings)
    exact_weight: float = setting(1.0, at_least=0)
    word_key_weight: float = setting(2.0, at_least=0)
    nearest_weight: float = setting(1.0, at_least=0)
    # The dense channel's weight, when `dense.encoder` names one. 3 tuned on NCBI Disease and BC5CDR dev with
    # MiniLM-L6, as given and fine-tuned on MEDIC (benchmarks/dense_channel.py): acc@1 rose with it up to 3-4.
    dense_weight: float = setting(3.0, at_least=0)
    # The parent channel's: 0.7 tuned on NCBI Disease and BC5CDR dev: acc@1 unchanged, recall@10 +0.5 / +0.2
    # points, recall@20 +0.3 / +0.2 points.
    parent_weight: float = setting(0.7, at_least=0, below=1)  # below 1: a parent never outranks its child
    # The document channel (channels/document.py): the last of a mention's `top_k` slots, up to this many and at
    # most a quarter of them, go to the concepts its document's other mentions rank first. 3 tuned on NCBI Disease
    # train (5-fold by document) and both dev sets: recall@20 +0.4 / +0.25 / +0.2 points, acc@1 unchanged.
    document_candidates: int = setting(3, at_least=0)


@dataclass
class CalibrationConfig(Settings):
    """How the model's confidence is calibrated when no validation corpus is given (`confidence.py`): out-of-fold
    over `folds` groups of training documents, each fold a model trained without it (training takes about
    `folds` + 1 times as long); 0: no calibration unless a validation corpus is given."""

    label = LABEL
    folds: int = setting(3, at_least=0)


@dataclass
class DenseConfig(Settings):
    """The optional dense channel (`dense.py`): a Hugging Face encoder by hub name or local path, e.g.
    cambridgeltl/SapBERT-from-PubMedBERT-fulltext with "cls" pooling; empty leaves the channel out."""

    label = "dense channel config:"  # within an XMRConfig, errors say "XMR config: dense.<key>"
    encoder: str = ""
    pooling: str = setting("mean", one_of=POOLINGS)  # sentence-transformers models pool the mean; SapBERT was trained on [CLS]
    max_length: int = setting(32, at_least=1)  # tokens per string: names and mentions are short
    batch_size: int = setting(256, at_least=1)
    device: str = device_setting()
    top_aliases: int = setting(100, at_least=1)  # nearest example strings per query whose concepts enter fusion


@dataclass
class XMRConfig(Settings):
    label = LABEL
    features: FeatureConfig = field(default_factory=FeatureConfig)
    training: TrainingDataConfig = field(default_factory=TrainingDataConfig)
    tree: TreeConfig = field(default_factory=TreeConfig)
    matcher: MatcherConfig = field(default_factory=MatcherConfig)
    word_key: WordKeyConfig = field(default_factory=WordKeyConfig)
    nearest: NearestConfig = field(default_factory=NearestConfig)
    parent: ParentConfig = field(default_factory=ParentConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    dense: DenseConfig = field(default_factory=DenseConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    seed: int = setting(0, at_least=0)
