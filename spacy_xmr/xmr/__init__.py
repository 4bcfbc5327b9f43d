"""Hierarchical XMR candidate generation (PECOS XR-Linear style) fused with string, hierarchy, document and
optional dense channels (`channels/`): text → features → the channels' scores → fusion → top-k."""
from .abbreviations import Abbreviation, abbreviation_map, expand_abbreviations, find_abbreviations, texts_to_link
from .config import (DenseConfig, FeatureConfig, FusionConfig, MatcherConfig, NearestConfig, ParentConfig, TrainingDataConfig,
                     TreeConfig, WordKeyConfig, XMRConfig)
from .fusion import CandidateEvidence, channel_weights, fused_score
from .model import XMRModel
from .normalize import normalize_text
from .prediction_settings import PredictionSettings

__all__ = [
    "Abbreviation", "abbreviation_map", "expand_abbreviations", "find_abbreviations", "texts_to_link",
    "DenseConfig", "FeatureConfig", "FusionConfig", "MatcherConfig", "NearestConfig", "ParentConfig", "TrainingDataConfig",
    "TreeConfig", "WordKeyConfig", "XMRConfig", "CandidateEvidence", "channel_weights", "fused_score", "XMRModel",
    "normalize_text", "PredictionSettings",
]
