"""The channels of the XMR model: each one kind of evidence for the concepts a mention names.

Scoring channels (`base.Channel`: build at training, score a batch of queries, save, load) each give a queries ×
concepts matrix, which fusion (`../fusion.py`) adds at the channel's weight: the label tree, exact strings, word
keys with learned rewrites, nearest strings by TF-IDF, and the optional dense encoder. Two post-fusion channels
read what fusion made instead of the queries: the parent channel the fused scores (`ParentChannel.rescore`), the
document channel the finished rankings of a document's mentions (`document.with_document_candidates`).
"""
from .base import Channel, ModelParts, QueryBatch, TrainingInputs
from .dense import DenseChannel
from .exact import ExactChannel
from .nearest import NearestChannel
from .parent import ParentChannel
from .tree import TreeChannel
from .word_key import WordKeyChannel

CHANNELS: tuple[type[Channel], ...] = (TreeChannel, ExactChannel, WordKeyChannel, NearestChannel, DenseChannel)  # fusion adds them in this order

__all__ = [
    "CHANNELS", "Channel", "DenseChannel", "ExactChannel", "ModelParts", "NearestChannel", "ParentChannel", "QueryBatch",
    "TrainingInputs", "TreeChannel", "WordKeyChannel",
]
