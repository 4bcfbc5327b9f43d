"""Hierarchical XMR candidate generation (PECOS XR-Linear style) plus exact, word-key and
nearest-neighbour alias channels and an optional dense (encoder) channel: text → features → label
embeddings → tree → matchers → beam search → fusion with the channels → top-k."""
from .abbreviations import Abbreviation, abbreviation_map, expand_abbreviations, find_abbreviations, texts_to_link
from .config import DenseConfig, FeatureConfig, FusionConfig, MatcherConfig, TrainingDataConfig, TreeConfig, XMRConfig
from .model import XMRModel
from .normalize import normalize_text

__all__ = [
    "Abbreviation", "abbreviation_map", "expand_abbreviations", "find_abbreviations", "texts_to_link",
    "DenseConfig", "FeatureConfig", "FusionConfig", "MatcherConfig", "TrainingDataConfig", "TreeConfig", "XMRConfig",
    "XMRModel", "normalize_text",
]
