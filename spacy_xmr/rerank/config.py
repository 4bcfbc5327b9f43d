"""Reranker settings: one dataclass that round-trips through JSON, validated in one place."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError

CROSSTYPES = ("base", "parallel", "multi", "passage", "document")
ATTENTIONS = ("full", "isolated")
LOSSES = ("listwise", "pointwise")
GOLD_POLICIES = ("add", "skip")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class RerankerConfig:
    """How inputs are packed, how the model is trained, and from which encoder it starts.

    `crosstype` picks what one sequence holds (see `packing.py`); `attention` whether packed
    candidates see each other (`full`) or only the context and themselves (`isolated`).
    `batch_size` counts mentions (all the sequences holding their candidates form one batch).
    `fuse_xmr` adds w * XMR score to the cross-encoder score, w tuned on validation acc@1 (`fusion.py`).
    """

    crosstype: str = "parallel"
    model_name: str = "cambridgeltl/SapBERT-from-PubMedBERT-fulltext"
    attention: str = "isolated"
    max_length: int = 256
    n_synonyms: int = 2
    max_candidate_tokens: int = 24
    max_mentions_per_sequence: int = 16
    top_k: int = 10
    loss: str = "listwise"
    gold_policy: str = "add"
    epochs: int = 3
    batch_size: int = 16
    lr: float = 3e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 2
    checkpoint_every: int = 200
    precision: str = "auto"
    fuse_xmr: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the field, its value and the allowed values."""
        for name, allowed in (("crosstype", CROSSTYPES), ("attention", ATTENTIONS), ("loss", LOSSES),
                              ("gold_policy", GOLD_POLICIES), ("precision", PRECISIONS)):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"reranker setting {name}={value!r} is unknown; choose one of {', '.join(allowed)}")
        for name in ("max_candidate_tokens", "max_mentions_per_sequence", "top_k", "epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"reranker setting {name}={getattr(self, name)!r} must be at least 1")
        if self.n_synonyms < 0 or self.patience < 0:
            raise ConfigError("reranker settings n_synonyms and patience must be 0 or more")
        if self.max_length < 2 * self.max_candidate_tokens + 8:
            raise ConfigError(
                f"reranker setting max_length={self.max_length} leaves no room for the context: use at least "
                f"2 * max_candidate_tokens + 8 = {2 * self.max_candidate_tokens + 8}, or lower max_candidate_tokens"
            )
        if not 0 <= self.warmup_ratio < 1 or self.lr <= 0 or self.head_lr <= 0:
            raise ConfigError("reranker settings need 0 <= warmup_ratio < 1 and positive lr, head_lr")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str = "reranker config") -> "RerankerConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown reranker settings {unknown}; known settings are {sorted(known)}")
        return cls(**values)
