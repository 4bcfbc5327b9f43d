"""Reranker settings: one dataclass that round-trips through JSON, checked by `spacy_xmr.settings`."""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings, setting

CROSSTYPES = ("base", "parallel", "multi", "passage", "document")
ATTENTIONS = ("full", "isolated")
LOSSES = ("listwise", "pointwise")
GOLD_POLICIES = ("add", "skip")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class RerankerConfig(Settings):
    """How inputs are packed, how the model is trained, and from which encoder it starts.

    `crosstype` picks what one sequence holds (see `packing.py`); `attention` whether packed
    candidates see each other (`full`) or only the context and themselves (`isolated`).
    `batch_size` counts mentions (all the sequences holding their candidates form one batch).
    `fuse_xmr` adds w * XMR score to the cross-encoder score, w tuned on validation acc@1 (`fusion.py`).
    """

    label = "reranker config:"
    crosstype: str = setting("parallel", one_of=CROSSTYPES)
    model_name: str = "cambridgeltl/SapBERT-from-PubMedBERT-fulltext"
    attention: str = setting("isolated", one_of=ATTENTIONS)
    max_length: int = setting(256, at_least=1)
    n_synonyms: int = setting(2, at_least=0)
    max_candidate_tokens: int = setting(24, at_least=1)
    max_mentions_per_sequence: int = setting(16, at_least=1)
    top_k: int = setting(10, at_least=1)
    loss: str = setting("listwise", one_of=LOSSES)
    gold_policy: str = setting("add", one_of=GOLD_POLICIES)
    epochs: int = setting(3, at_least=1)
    batch_size: int = setting(16, at_least=1)
    lr: float = setting(3e-5, above=0)
    head_lr: float = setting(1e-3, above=0)
    weight_decay: float = setting(0.01, at_least=0)
    warmup_ratio: float = setting(0.1, at_least=0, below=1)
    patience: int = setting(2, at_least=0)
    checkpoint_every: int = setting(200, at_least=1)
    precision: str = setting("auto", one_of=PRECISIONS)
    fuse_xmr: bool = True
    seed: int = setting(0, at_least=0)

    def check(self) -> None:
        if self.max_length < 2 * self.max_candidate_tokens + 8:
            self.fail("max_length", f"at least 2 * max_candidate_tokens + 8 = {2 * self.max_candidate_tokens + 8} to leave "
                                    "room for the context, or lower max_candidate_tokens")
