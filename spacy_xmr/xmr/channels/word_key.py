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
from ..normalize import spelled_word_key, word_key
from ..rewrites import Rewrites, learn_rewrites, rewritten
from ..runs import run_cells
from ..sparse_ops import max_over_mapped, scale_rows_to_max_one
from ..string_table import StringTable, load_strings, save_strings
from ..word_set_hashes import EditTable, WordSetHashes, set_hash
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
        self._edits: EditTable | None = None  # the rewrites as arrays

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "WordKeyChannel":
        return cls(inputs.examples, inputs.config.word_key)

    def prepare(self, config: "XMRConfig | None" = None) -> None:
        self._edit_table()
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

        Each key tried is looked up by its hash as a set of words, the rewritten ones' hashes added for the whole
        batch at once (`word_set_hashes.py`), and spelled out only where that hash is stored: checked then to be a
        rewrite that applies (`Rewrites.applies`) and compared with the stored key."""
        self._word_index()
        table = self._edit_table()
        edit_weights = np.where(table.drops, self.settings.drop_weight, self.settings.substitution_weight).astype(np.float32)
        word_sets, tried_query, tried_edit, tried_hashes = self._tried(keys, table, edit_weights)
        which, rows = self._hashes().candidates(tried_hashes)
        found = np.array([self._matches(stored, word_sets[query][1], table, edit) for stored, query, edit in
                          zip(self._word_keys.at(rows), tried_query[which].tolist(), tried_edit[which].tolist())], dtype=bool)
        which, rows = which[found], rows[found]
        queries = np.array([word_sets[query][0] for query in tried_query[which].tolist()], dtype=np.int64)
        edit = tried_edit[which]
        weights = np.ones(edit.size, dtype=np.float32)  # a key itself
        weights[edit >= 0] = edit_weights[edit[edit >= 0]]
        return max_over_mapped(queries, weights, self._word_labels[rows], (len(keys), self.examples.n_concepts), weighted=True)

    @staticmethod
    def _tried(keys: list[str], table: EditTable, edit_weights: np.ndarray):
        """The word keys to look up: (query index, word set) of each key that has words, and per key tried its place
        among those, its edit of `table` (-1: the key itself) and its set hash. Every edit of a key's words whose
        weight is not 0 is tried; whether it applies is checked only for those found."""
        word_sets, own, word_place, word_rows = [], [], [], []
        for query, text in enumerate(keys):
            key = word_key(text)
            if key:
                words = frozenset(key.split())
                word_sets.append((query, words))
                own.append(set_hash(words))
                for word in words:
                    word_place.append(len(own) - 1), word_rows.append(table.row_of.get(word, -1))
        word_place, word_rows = np.array(word_place, dtype=np.int64), np.array(word_rows, dtype=np.int64)
        word_place, word_rows = word_place[word_rows >= 0], word_rows[word_rows >= 0]
        counts = table.starts[word_rows + 1] - table.starts[word_rows]
        edits, edit_place = run_cells(table.starts[word_rows], counts), np.repeat(word_place, counts)
        weighted = edit_weights[edits] > 0
        edits, edit_place = edits[weighted], edit_place[weighted]
        own = np.array(own, dtype=np.uint64)
        return (word_sets, np.concatenate([np.arange(len(own)), edit_place]), np.concatenate([np.full(len(own), -1), edits]),
                np.concatenate([own, own[edit_place] + table.deltas[edits]]))

    @staticmethod
    def _matches(stored: str, words: frozenset[str], table: EditTable, edit: int) -> bool:
        """Whether the stored word key `stored`, found by hash, is `words` rewritten by `edit` of `table` (-1: none)."""
        if edit < 0:
            return stored == spelled_word_key(words)
        less, plus = table.less[edit], table.plus[edit]
        return Rewrites.applies(words, less, plus) and stored == spelled_word_key(rewritten(words, less, plus))

    def _edit_table(self) -> EditTable:
        """The rewrites as arrays (`EditTable`), none where no rewrite has a weight."""
        if self._edits is None:
            settings = self.settings
            self._edits = EditTable.of(self.rewrites() if settings.substitution_weight or settings.drop_weight else Rewrites())
        return self._edits

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
            row = self._word_keys.row(spelled_word_key(words))
            if row is not None and self._word_labels[row, concept] > 0:
                return {"word_key": spelled_word_key(words), "rewrite": rewrite}
        return {"word_key": spelled_word_key(own), "rewrite": None}

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
