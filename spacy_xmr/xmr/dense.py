"""The dense channel: a transformer encoder embeds every example string once, at training, and each query at
prediction; a concept scores the cube of the cosine of its closest example string (the l3 transform that the
tree's scores get too), so that only close strings weigh.

Why: the string channels and the tree need shared n-grams, and what XMR misses on NCBI Disease dev is mostly
a paraphrase ("behavioral abnormalities" for Behavior problems). A biomedical name encoder (SapBERT) is built
for exactly those, and users who have one want it beside the tree rather than instead of it. The channel is
off unless `dense.encoder` names one; it needs torch and transformers, imported only then.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from ..errors import ConfigError, ModelLoadError
from ..device import autocast, autocast_dtype, resolve_device
from .arrays import load_arrays, save_arrays
from .config import DenseConfig
from .sparse_ops import max_over_mapped, place_rows

ENCODER_DIR = "dense_encoder"
EMBEDDINGS_FILE = "dense_embeddings"
SIMILARITY_CELLS = 1 << 24  # (query, example string) cosines formed at once: 64 MB of float32


class DenseEncoder:
    """A Hugging Face encoder and its tokenizer that turn strings into unit vectors."""

    def __init__(self, tokenizer, model, config: DenseConfig):
        self.tokenizer = tokenizer
        self.config = config
        self.model = model.eval()
        self.use_device(config.device)

    def use_device(self, device: str) -> None:
        """Move the model to `device` ("auto", "cpu", "cuda" or "cuda:N")."""
        self.device = resolve_device(device)
        self.model = self.model.to(self.device)
        self._autocast = autocast_dtype("auto", self.device)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, config: DenseConfig, local_files_only: bool = False) -> "DenseEncoder":
        from transformers import AutoModel, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), local_files_only=local_files_only)
            model = AutoModel.from_pretrained(str(name_or_path), local_files_only=local_files_only, dtype=torch.float32)
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot load the dense encoder {str(name_or_path)!r} (a Hugging Face model name or a "
                                 f"local directory with config.json and weights): {err}") from err
        return cls(tokenizer, model, config)

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """texts × hidden size, float32, each row of unit length; batches of similar length."""
        order = np.argsort([len(text) for text in texts], kind="stable")
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        size = self.config.batch_size
        for lo in tqdm(range(0, len(texts), size), desc="dense encoding", unit="batch", disable=not progress):
            rows = order[lo:lo + size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    @torch.inference_mode()
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts).cpu().numpy()

    def embed(self, texts: list[str]) -> torch.Tensor:
        """texts × hidden size unit vectors on the encoder's device; differentiable where grad is on (training)."""
        inputs = self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt")
        inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
        with autocast(self.device, self._autocast):
            hidden = self.model(**inputs).last_hidden_state.float()
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)


class DenseIndex:
    """The example strings' embeddings and their concepts (`labels`: strings × concepts)."""

    def __init__(self, encoder: DenseEncoder, embeddings: np.ndarray, labels: sp.csr_matrix):
        if embeddings.shape[0] != labels.shape[0]:
            raise ValueError(f"{embeddings.shape[0]} embeddings for {labels.shape[0]} example strings")
        self.encoder = encoder
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.labels = labels.tocsr()
        self._strings: torch.Tensor | None = None

    @classmethod
    def build(cls, config: DenseConfig, keys: list[str], labels: sp.csr_matrix, progress: bool = False) -> "DenseIndex":
        encoder = DenseEncoder.from_pretrained(config.encoder, config)
        return cls(encoder, encoder.encode(keys, progress), labels)

    def scores(self, keys: list[str], example_strings: np.ndarray | None = None) -> sp.csr_matrix:
        """queries × concepts: for each concept among the `top_aliases` nearest strings, its best cosine cubed.

        A key that is itself an example string (True in `example_strings`) gets no score: its exact match names its
        concepts already, and forming its cosines with every string took half the channel's time. On NCBI Disease
        dev the figures are the same without them; on BC5CDR dev acc@1 is too, recall@5 and recall@20 are 0.1 and
        0.02 point lower, and prediction is twice as fast. Each other distinct key is encoded once; the cosines
        are formed on the encoder's device, a block of queries at a time against every string.
        """
        n_keys, n_labels = len(keys), self.labels.shape[1]
        wanted = np.arange(n_keys) if example_strings is None else np.flatnonzero(~np.asarray(example_strings, dtype=bool))
        if not len(wanted):
            return sp.csr_matrix((n_keys, n_labels), dtype=np.float32)
        distinct, row_of_key = np.unique(np.array([keys[i] for i in wanted], dtype=object), return_inverse=True)
        scores = self._scores_of(self.encoder.encode(list(distinct)))[row_of_key]
        return place_rows(scores, wanted, n_keys)

    def _scores_of(self, vectors: np.ndarray) -> sp.csr_matrix:
        n_queries, n_strings = len(vectors), self.embeddings.shape[0]
        top = min(self.encoder.config.top_aliases, n_strings)
        queries = torch.from_numpy(vectors).to(self.encoder.device)
        strings = self._strings_on_device()
        rows_at_once = max(1, SIMILARITY_CELLS // max(n_strings, 1))
        nearest, cosines = [], []
        for lo in range(0, n_queries, rows_at_once):
            values, best = torch.topk(queries[lo:lo + rows_at_once] @ strings.T, top, dim=1)
            nearest.append(best.cpu().numpy())
            cosines.append(values.cpu().numpy())
        nearest, cosines = np.concatenate(nearest).ravel(), np.concatenate(cosines).ravel()
        values = np.maximum(cosines, 0) ** 3
        query = np.repeat(np.arange(n_queries), top)
        return max_over_mapped(query, values, self.labels[nearest], (n_queries, self.labels.shape[1]))

    def _strings_on_device(self) -> torch.Tensor:
        """The embeddings as a tensor on the encoder's device (on the CPU, a view of the array, not a copy)."""
        if self._strings is None or self._strings.device != self.encoder.device:
            self._strings = torch.from_numpy(self.embeddings).to(self.encoder.device)
        return self._strings

    def use_device(self, device: str) -> None:
        """Move the encoder, and the string embeddings with it on their next use."""
        self.encoder.use_device(device)
        self._strings = None

    def save(self, directory: Path) -> None:
        self.encoder.save(directory / ENCODER_DIR)
        save_arrays(directory / EMBEDDINGS_FILE, embeddings=self.embeddings.astype(np.float16))

    @classmethod
    def load(cls, directory: Path, config: DenseConfig, labels: sp.csr_matrix) -> "DenseIndex":
        """The copy of the encoder saved with the model, never the hub: a saved model works offline."""
        embeddings = load_arrays(directory / EMBEDDINGS_FILE, "embeddings")["embeddings"]
        if embeddings.shape[0] != labels.shape[0]:
            raise ModelLoadError(f"{directory / EMBEDDINGS_FILE} holds {embeddings.shape[0]} embeddings but the model has "
                                 f"{labels.shape[0]} example strings")
        try:
            encoder = DenseEncoder.from_pretrained(directory / ENCODER_DIR, config, local_files_only=True)
        except ConfigError as err:  # a device this machine lacks
            raise ConfigError(f"{directory / 'xmr.json'}: dense.device: {err}; load the model with dense_device=\"auto\" "
                              "(XMRModel.load, or the xmr_linker's dense_device setting)") from err
        return cls(encoder, embeddings, labels)
