"""The word-key channel: example strings looked up by `word_key` (word order, plurals, British spelling and function
words ignored), and by the word keys that learned rewrites (`rewrites.py`) reach from the query's.

It finds "Prostatic Neoplasms" for "prostate carcinomas", which no name spells out.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ...errors import ModelLoadError
from ..arrays import load_arrays, load_json, load_matrix, reading, save_arrays, save_json, save_matrix, stored
from ..example_strings import ExampleStrings
from ..normalize import word_key
from ..rewrites import Rewrites, learn_rewrites, rewritten
from ..sparse_ops import max_over_mapped, scale_rows_to_max_one
from ..string_table import StringTable, load_strings, save_strings
from ..word_set_hashes import MASK, WordSetHashes, set_hash, word_hash
from .base import Channel, ModelParts, QueryBatch, TrainingInputs

if TYPE_CHECKING:
    from ..config import WordKeyConfig, XMRConfig

WORD_KEYS_FILE, WORD_KEY_TABLE = "word_keys.json", "word_key_table"
WORD_LABELS_FILE, REWRITES_FILE = "word_labels", "rewrites.json"
WORD_KEY_HASHES = "word_key_hashes"  # the word keys' set hashes (folders saved before them compute them on first use)


class WordKeyChannel(Channel):
    name = "word_key"

    def __init__(self, examples: ExampleStrings, settings: "WordKeyConfig"):
        self.examples = examples
        self.settings = settings
        self._word_keys: StringTable | None = None
        self._word_labels: sp.csr_matrix | None = None  # word keys × concepts, each row scaled so its best is 1
        self._rewrites: Rewrites | None = None
        self._word_hashes: WordSetHashes | None = None  # the word keys by `set_hash`

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "WordKeyChannel":
        return cls(inputs.examples, inputs.config.word_key)

    def prepare(self, config: "XMRConfig | None" = None) -> None:
        self.rewrites()
        self._hashes()

    def _word_index(self) -> None:
        """Group the example strings by word key (a function of the stored strings, built on first use)."""
        if self._word_keys is not None:
            return
        word_keys = [word_key(key) for key in self.examples.keys]
        unique, inverse = np.unique(np.array(word_keys, dtype=object), return_inverse=True)
        grouping = sp.csr_matrix(
            (np.ones(len(word_keys), np.float32), (inverse.ravel(), np.arange(len(word_keys)))), shape=(len(unique), len(word_keys))
        )
        self._word_labels = scale_rows_to_max_one((grouping @ self.examples.labels).tocsr())
        self._word_keys = StringTable.of(unique.tolist())

    def rewrites(self) -> Rewrites:
        """The word rewrites that at least `rewrite_min_concepts` concepts attest among their example strings."""
        if self._rewrites is None:
            self._word_index()
            by_concept = self._word_labels.T.tocsr()
            # each concept's keys as word sets when it is reached: sets of all the keys at once would hold GBs
            self._rewrites = learn_rewrites(
                ([frozenset(key.split()) for key in self._word_keys.at(by_concept.indices[lo:hi])]
                 for lo, hi in zip(by_concept.indptr[:-1], by_concept.indptr[1:])),
                self.settings.rewrite_min_concepts,
            )
        return self._rewrites

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        return self.match(queries.keys)

    def match(self, keys: list[str]) -> sp.csr_matrix:
        """queries × concepts: support (best 1) of each concept for the query's word key, or that times
        `substitution_weight` / `drop_weight` for a key one learned rewrite away; the best per concept.

        Each key tried is looked up by its hash as a set of words (`word_set_hashes.py`), and spelled out only where
        that hash is stored, to be compared with the stored key."""
        self._word_index()
        substitution_weight, drop_weight = self.settings.substitution_weight, self.settings.drop_weight
        rewrites = self.rewrites() if substitution_weight or drop_weight else Rewrites()
        tried: list[tuple[int, float, int, frozenset, str | None, str | None]] = []  # query, weight, hash, words, less, plus
        for query, text in enumerate(keys):
            key = word_key(text)
            if not key:
                continue
            words = frozenset(key.split())
            own = set_hash(words)
            tried.append((query, 1.0, own, words, None, None))
            for less, plus in rewrites.edits(words):
                weight = drop_weight if plus is None else substitution_weight
                if weight > 0:
                    rest = (own - word_hash(less)) & MASK
                    tried.append((query, weight, rest if plus is None else (rest + word_hash(plus)) & MASK, words, less, plus))
        which, rows = self._hashes().candidates(np.array([item[2] for item in tried], dtype=np.uint64))
        spelled = [" ".join(sorted(rewritten(*tried[i][3:]))) for i in which.tolist()]
        found = np.array([stored == wanted for stored, wanted in zip(self._word_keys.at(rows), spelled)], dtype=bool)
        which, rows = which[found], rows[found]
        queries = np.array([tried[i][0] for i in which.tolist()], dtype=np.int64)
        weights = np.array([tried[i][1] for i in which.tolist()], dtype=np.float32)
        return max_over_mapped(queries, weights, self._word_labels[rows], (len(keys), self.examples.n_concepts), weighted=True)

    def _hashes(self) -> WordSetHashes:
        """The word keys' set hashes: saved with the model, or computed on first use (seconds at 10^6 concepts)."""
        if self._word_hashes is None:
            self._word_index()
            self._word_hashes = WordSetHashes.of(self._word_keys)
        return self._word_hashes

    def how_reached(self, query: str, concept: int) -> dict:
        """The word key by which `query` (normalised) reaches the concept of column `concept`: its own, or one learned
        rewrite away (named); for explanations."""
        self._word_index()
        own = frozenset(word_key(query).split())
        substituted, dropped = self.rewrites().variants(own)
        tries = [(own, "none")] + [(words, f"{' '.join(sorted(own - words))} -> {' '.join(sorted(words - own))}") for words in substituted]
        tries += [(words, f"dropped {' '.join(sorted(own - words))}") for words in dropped]
        for words, rewrite in tries:
            row = self._word_keys.row(" ".join(sorted(words)))
            if row is not None and self._word_labels[row, concept] > 0:
                return {"word_key": " ".join(sorted(words)), "rewrite": rewrite}
        return {"word_key": " ".join(sorted(own)), "rewrite": None}

    def save(self, directory: Path) -> None:
        """The word index and rewrites built so far: functions of the stored strings, but at 10^6 concepts
        building them takes most of a minute."""
        if self._word_keys is not None:
            save_strings(directory, self._word_keys, WORD_KEY_TABLE, WORD_KEYS_FILE)
            save_matrix(directory / WORD_LABELS_FILE, self._word_labels)
        if self._word_hashes is not None:
            save_arrays(directory / WORD_KEY_HASHES, hashes=self._word_hashes.hashes, rows=self._word_hashes.rows)
        if self._rewrites is not None:
            save_json(directory / REWRITES_FILE, [{"min_concepts": self.settings.rewrite_min_concepts, **self._rewrites.to_dict()}])

    @classmethod
    def load(cls, parts: ModelParts) -> "WordKeyChannel":
        """What `save` wrote; a file that is absent is built on first use instead."""
        channel = cls(parts.examples, parts.config.word_key)
        directory = parts.directory
        if (directory / WORD_KEYS_FILE).exists() or stored(directory / WORD_KEY_TABLE):
            word_keys, word_labels = load_strings(directory, WORD_KEY_TABLE, WORD_KEYS_FILE), load_matrix(directory / WORD_LABELS_FILE)
            if word_labels.shape != (len(word_keys), parts.examples.n_concepts):
                raise ModelLoadError(f"{directory / WORD_LABELS_FILE}: shape {word_labels.shape} does not match {len(word_keys)} "
                                     f"word keys × {parts.examples.n_concepts} concepts; delete it, {WORD_KEYS_FILE} and {WORD_KEY_TABLE} to rebuild them")
            channel._word_keys, channel._word_labels = word_keys, word_labels
            if stored(directory / WORD_KEY_HASHES):
                hashes = WordSetHashes(**load_arrays(directory / WORD_KEY_HASHES, "hashes", "rows"))
                if len(hashes.hashes) != len(word_keys) or len(hashes.rows) != len(word_keys):
                    raise ModelLoadError(f"{directory / WORD_KEY_HASHES}: {len(hashes.hashes)} hashes for {len(word_keys)} word "
                                         f"keys; delete it to compute them again on first use")
                channel._word_hashes = hashes
        if (directory / REWRITES_FILE).exists():
            with reading(directory / REWRITES_FILE):
                saved = {int(r["min_concepts"]): r for r in load_json(directory / REWRITES_FILE)}
                if parts.config.word_key.rewrite_min_concepts in saved:
                    channel._rewrites = Rewrites.from_dict(saved[parts.config.word_key.rewrite_min_concepts])
        return channel
