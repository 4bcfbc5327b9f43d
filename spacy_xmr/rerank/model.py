"""The cross-encoder: a Hugging Face encoder and ONE linear head read at the candidate marker positions."""
from __future__ import annotations

import torch
from torch import nn

# Encoders whose position ids start after the padding index (their embeddings reserve the first rows).
_OFFSET_POSITION_MODELS = ("roberta", "xlm-roberta", "camembert", "longformer")


class CrossEncoder(nn.Module):
    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 1)
        self.uses_token_types = getattr(encoder.config, "type_vocab_size", 0) >= 2

    @property
    def position_offset(self) -> int:
        config = self.encoder.config
        return (config.pad_token_id + 1) if config.model_type in _OFFSET_POSITION_MODELS else 0

    def forward(self, batch: dict) -> torch.Tensor:
        """One float32 score per slot of the batch, in slot order."""
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        if self.uses_token_types:
            inputs["token_type_ids"] = batch["token_type_ids"]
        if "position_ids" in batch:
            inputs["position_ids"] = batch["position_ids"]
        hidden = self.encoder(**inputs).last_hidden_state
        at_markers = hidden[batch["slot_row"], batch["slot_position"]]
        return self.head(at_markers).squeeze(-1).float()
