"""Learned ranking: a LightGBM model (a pointwise classifier by default, lambdarank as an option) over the XMR
stage's per-channel evidence, trained on out-of-fold candidate lists, that reorders each mention's top-k candidates
(`features.py` lists and explains the features) and gives the probability that its first one is right
(`confidence.py`)."""
from .config import RankerConfig
from .features import GROUPS, Feature, feature_table
from .model import LearnedRanker
from .training import ranked_channels, train_ranker

__all__ = ["GROUPS", "Feature", "LearnedRanker", "RankerConfig", "feature_table", "ranked_channels",
           "train_ranker"]
