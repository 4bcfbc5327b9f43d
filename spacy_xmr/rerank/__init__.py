"""Cross-encoder rerankers: (mention in context, candidates) -> packed transformer input -> scores.

Imports torch (and, when a model loads, transformers); nothing outside this subpackage imports it eagerly.
See `packing.py` for the crosstypes and the attention variants.
"""
from .config import ATTENTIONS, CROSSTYPES, LOSSES, RerankerConfig
from .labels import accuracy_at_1
from .packing import InputBuilder, PackedGroup, PackedSequence, PackingStats
from .reranker import Reranker
from .train import train_reranker

__all__ = ["ATTENTIONS", "CROSSTYPES", "LOSSES", "RerankerConfig", "Reranker", "train_reranker", "accuracy_at_1",
           "InputBuilder", "PackedGroup", "PackedSequence", "PackingStats"]
