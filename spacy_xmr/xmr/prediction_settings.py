"""`PredictionSettings`: what may change in a trained model without retraining it, given when it is loaded
(`XMRModel.load(path, **settings)`) or to the `xmr_linker` component.

Why: these settings change prediction only (how many document slots, how the channels are weighed, how wide the
beam, where the encoder and the sparse products run, how many threads, whether top-level categories may be candidates,
how many strings the nearest channel's term index keeps per term, how many of the tree's concepts it compares), so a
user tunes them per use; the trained model's own files (its xmr.json included) stay as training wrote them. Unset
(null) keeps the model's own value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..device import DEVICE_FORMS, device_setting, parse_device
from ..settings import Settings, setting
from .config import FusionConfig, XMRConfig
from .fusion import channel_weights

WEIGHTED_CHANNELS = tuple(channel_weights(FusionConfig()))
WEIGHTS_EXPECTED = f"a mapping of channel names ({', '.join(WEIGHTED_CHANNELS)}) to numbers >= 0, parent's below 1"


def _channel_weights(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(value)
    for name, weight in value.items():
        number = isinstance(weight, (int, float)) and not isinstance(weight, bool) and math.isfinite(weight) and weight >= 0
        if name not in WEIGHTED_CHANNELS or not number or (name == "parent" and weight >= 1):  # a parent never outranks its child
            raise ValueError(name)
    return {name: float(weight) for name, weight in value.items()}


def _optional_device(value: Any) -> Optional[str]:
    return None if value is None else parse_device(value)


@dataclass
class PredictionSettings(Settings):
    label = "XMR prediction setting"

    document_candidates: Optional[int] = setting(None, at_least=0)  # fusion.document_candidates
    channel_weights: dict[str, float] = setting(default_factory=dict, parse=_channel_weights, expected=WEIGHTS_EXPECTED)
    beam_size: Optional[int] = setting(None, at_least=1)
    dense_device: Optional[str] = setting(None, parse=_optional_device, expected=f"{DEVICE_FORMS}, or null")  # dense.device
    n_jobs: Optional[int] = setting(None, at_least=1)  # threads that score a large batch (default: one per CPU)
    device: str = device_setting("auto")  # where the sparse products run ("auto": a GPU when cupy sees one; backend.py)
    exclude_top_level: Optional[bool] = None  # parent.exclude_top_level
    max_postings: Optional[int] = setting(None, at_least=0)  # nearest.max_postings
    tree_candidates: Optional[int] = setting(None, at_least=0)  # nearest.tree_candidates

    def applied_to(self, config: XMRConfig) -> XMRConfig:
        """`config` with these settings in place of its own."""
        data = config.to_dict()
        if self.document_candidates is not None:
            data["fusion"]["document_candidates"] = self.document_candidates
        for name, weight in self.channel_weights.items():
            data["fusion"][f"{name}_weight"] = weight
        if self.dense_device is not None:
            data["dense"]["device"] = self.dense_device
        if self.exclude_top_level is not None:
            data["parent"]["exclude_top_level"] = self.exclude_top_level
        if self.max_postings is not None:
            data["nearest"]["max_postings"] = self.max_postings
        if self.tree_candidates is not None:
            data["nearest"]["tree_candidates"] = self.tree_candidates
        return XMRConfig.from_dict(data)
