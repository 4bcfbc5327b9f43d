"""TF-IDF features of normalised strings: char n-grams within word boundaries + word n-grams.

Each block is sublinear-tf TF-IDF, l2-normalised, weighted, and the concatenated row is
l2-normalised again (the combination beats either block alone by ~3.5 points in XR-Linear).
The fitted vocabularies are saved as JSON and the idf vectors as arrays (`arrays.py`): no pickle. scikit-learn's
`CountVectorizer` counts the n-grams while fitting (imported lazily), `ngram_counts.py` counts the fitted vocabulary's
n-grams in new texts (the same counts); the idf weighting equals `TfidfVectorizer(smooth_idf=True, sublinear_tf=True)`.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import cached_property, partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError
from .arrays import load_arrays, load_json, save_arrays, save_json
from .config import FeatureConfig
from .feature_store import ChunkShelf, DiskShelf, FeatureStore
from .ngram_counts import PackedNgramCounter, ngram_counter, sklearn_counter
from .normalize import key_words
from .parallel import available_cpus, worker_context
from .sparse_ops import l2_normalize_rows, stack_rows_consumed

IDF_FILE = "idf"
COUNTER_DIR = "{}_ngram_keys"  # a block's packed counter tables (`ngram_counts.py`), by block name
COUNT_CHUNK = 100_000  # texts per counting pass: scikit-learn holds a Python int per n-gram occurrence while counting
PARALLEL_MIN_TEXTS = 20_000  # below this, starting worker processes costs more than counting in halves saves


def _count_chunk(task: tuple[str, tuple[int, int], list[str]]) -> tuple[list[str], sp.csr_matrix]:
    """(analyzer, n-gram range, texts) → the n-grams of those texts, in column order, and their count matrix."""
    analyzer, ngram_range, texts = task
    counter = sklearn_counter(analyzer, ngram_range)
    counts = counter.fit_transform(texts).tocsr()
    return counter.get_feature_names_out().tolist(), counts


def _count_ngrams(texts: list[str], analyzer: str, ngram_range, min_df: int, mapper: Callable = map, n_workers: int = 1,
                  shelf: ChunkShelf | DiskShelf | None = None) -> tuple[list[str], np.ndarray, Iterator[sp.csr_matrix]]:
    """The sorted vocabulary (n-grams in at least `min_df` texts), its document frequencies, and the count
    matrices of `texts` over it, a chunk of rows each (stacked, the matrix one `CountVectorizer(min_df=...)`
    call gives, indices sorted, however the rows were chunked).

    Counted a chunk at a time (at most `COUNT_CHUNK` texts, and one chunk per worker of `mapper` where there
    are fewer), each chunk's columns mapped into one growing vocabulary, so that the transient memory of the
    counting stays bounded (10^6-concept ontologies have millions of aliases). The chunks wait on `shelf` (in
    memory by default; on disk at UMLS size, where they add up to gigabytes) until the vocabulary is known, and
    are handed out one at a time, mapped to it, so that the caller can weigh and stack them without holding them all.
    """
    size = max(1, min(COUNT_CHUNK, -(-len(texts) // max(n_workers, 1))))
    shelf = ChunkShelf() if shelf is None else shelf
    index: dict[str, int] = {}
    frequency = np.zeros(0, np.int64)
    tasks = ((analyzer, tuple(ngram_range), texts[lo:lo + size]) for lo in range(0, len(texts), size))
    for chunk_terms, counts in mapper(_count_chunk, tasks):
        columns = np.fromiter((index.setdefault(term, len(index)) for term in chunk_terms), dtype=np.int32, count=len(chunk_terms))
        counts.indices = columns[counts.indices]  # columns of the growing vocabulary
        counted = np.bincount(counts.indices, minlength=len(index))  # one entry per (text, n-gram): document frequencies
        counted[:frequency.size] += frequency
        frequency = counted
        shelf.put(counts)
    terms = np.array(list(index), dtype=object)
    index.clear()
    frequent = np.flatnonzero(frequency >= min_df)
    order = frequent[np.argsort(terms[frequent], kind="stable")]  # the kept terms, alphabetically
    new_column = np.full(len(terms), -1, dtype=np.int32)
    new_column[order] = np.arange(order.size, dtype=np.int32)
    return terms[order].tolist(), frequency[order], (_in_vocabulary(chunk, new_column, order.size) for chunk in shelf.taken())


def _in_vocabulary(counts: sp.csr_matrix, new_column: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """`counts` (in place) over the kept vocabulary: columns renumbered by `new_column`, those it drops (-1) removed."""
    counts.indices = new_column[counts.indices]
    dropped = counts.indices < 0
    counts.data[dropped], counts.indices[dropped] = 0, 0
    counts.resize(counts.shape[0], n_columns)
    counts.eliminate_zeros()
    counts.sort_indices()
    return counts


class TfidfBlock:
    """One TF-IDF block (char_wb or word) with a fixed vocabulary and idf vector."""

    def __init__(self, analyzer: str, ngram_range, vocabulary: list[str] | Callable[[], list[str]], idf: np.ndarray,
                 counter: PackedNgramCounter | None = None):
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self._vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        if counter is not None:
            self._counter = counter

    @property
    def vocabulary(self) -> list[str]:
        """The terms in column order. A loaded model with its counter's tables reads them on first use only (explaining
        a prediction): counting does not need them, and at 10^5 concepts they are tens of MiB of strings a process."""
        if callable(self._vocabulary):
            self._vocabulary = self._vocabulary()
        return self._vocabulary

    @cached_property
    def _counter(self):
        """The counter over the fitted vocabulary (`ngram_counts.py`), built on first use: its tables are not held while
        training holds its largest arrays. Threads that race here build equal ones."""
        return ngram_counter(self.analyzer, self.ngram_range, self.vocabulary)

    @classmethod
    def fit(cls, texts: list[str], analyzer: str, ngram_range, min_df: int = 1, mapper: Callable = map, n_workers: int = 1,
            shelf: ChunkShelf | DiskShelf | None = None) -> tuple["TfidfBlock", Iterator[sp.csr_matrix], int]:
        """The fitted block, the TF-IDF rows of `texts` (chunks of rows, weighed as they are taken) and how many
        entries they store, from one pass of counting whose chunks wait on `shelf` (see `_count_ngrams`)."""
        vocabulary, document_frequency, chunks = _count_ngrams(texts, analyzer, ngram_range, min_df, mapper, n_workers, shelf)
        idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1
        block = cls(analyzer, ngram_range, vocabulary, idf)
        return block, map(block._weigh, chunks), int(document_frequency.sum())

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return self._weigh(self._counter.transform(texts))

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF rows, computed in place in `counts` (float32 CSR counts are reused, not copied)."""
        matrix = counts.tocsr().astype(np.float32, copy=False)
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1
        matrix.data *= self.idf[matrix.indices]
        return l2_normalize_rows(matrix)

    def __len__(self) -> int:
        return len(self.idf)


def _canonical(texts: list[str]) -> list[str]:
    """`tumours` and `tumor` as one word, so that they share word n-grams, not only character n-grams."""
    return [" ".join(key_words(text)) for text in texts]


class Featurizer:
    """Maps normalised strings to l2-normalised sparse TF-IDF rows."""

    def __init__(self, config: FeatureConfig, char_block: TfidfBlock, word_block: TfidfBlock):
        self.config = config
        self.char_block = char_block
        self.word_block = word_block

    @classmethod
    def fit_transform(cls, texts: list[str], config: FeatureConfig, n_jobs: int | None = None,
                      store: FeatureStore | None = None) -> tuple["Featurizer", sp.csr_matrix]:
        """The fitted featurizer and the feature rows of `texts`; the same whatever `n_jobs` and `store`.

        `n_jobs` worker processes (default: one per available CPU) count the n-grams of `PARALLEL_MIN_TEXTS` texts
        or more, a chunk of rows each: scikit-learn's counting is Python that holds the GIL, and it was a third of
        the training time on NCBI Disease + MEDIC. The rows are combined a chunk at a time and each chunk is dropped
        once it is stacked: the peak holds about one copy of the feature matrix (at 10^6 concepts, gigabytes), not
        the three of stacking whole blocks; with a `store`, not even that: the count chunks wait in its folder and
        the rows are written there and memory-mapped (`feature_store.py`).
        """
        texts = _canonical(texts) if config.canonical_words else texts
        n_workers = (available_cpus() if n_jobs is None else n_jobs) if len(texts) >= PARALLEL_MIN_TEXTS else 1
        with ExitStack() as stack:
            mapper = map
            if n_workers > 1:
                mapper = stack.enter_context(ProcessPoolExecutor(n_workers, mp_context=worker_context())).map
            blocks = [TfidfBlock.fit(texts, analyzer, ngram_range, config.min_df, mapper, n_workers, store.shelf(analyzer) if store else None)
                      for analyzer, ngram_range in (("char_wb", config.char_ngram_range), ("word", config.word_ngram_range))]
        (char_block, chars, n_chars), (word_block, words, n_words) = blocks
        featurizer = cls(config, char_block, word_block)
        rows = (featurizer._combine(char_rows, word_rows) for char_rows, word_rows in zip(chars, words))
        shape = (len(texts), featurizer.n_features)
        if store is None:
            return featurizer, stack_rows_consumed(rows, shape, n_chars + n_words)
        return featurizer, store.write_rows(rows, shape, n_chars + n_words)

    @property
    def n_features(self) -> int:
        return len(self.char_block) + len(self.word_block)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        texts = _canonical(texts) if self.config.canonical_words else texts
        return self._combine(self.char_block.transform(texts), self.word_block.transform(texts))

    def _combine(self, chars: sp.csr_matrix, words: sp.csr_matrix) -> sp.csr_matrix:
        chars.data *= self.config.char_weight
        words.data *= self.config.word_weight
        return l2_normalize_rows(sp.hstack([chars, words], format="csr", dtype=np.float32))

    def to_disk(self, directory: Path) -> None:
        for name, block in (("char", self.char_block), ("word", self.word_block)):
            save_json(directory / f"{name}_vocabulary.json", block.vocabulary)
            if isinstance(block._counter, PackedNgramCounter):
                block._counter.save(directory / COUNTER_DIR.format(name))
        save_arrays(directory / IDF_FILE, char=self.char_block.idf, word=self.word_block.idf)

    @classmethod
    def from_disk(cls, directory: Path, config: FeatureConfig) -> "Featurizer":
        """The featurizer `to_disk` wrote. A block with its counter's tables (`COUNTER_DIR`) leaves its vocabulary on
        disk until asked for it; one without (an older folder, or a vocabulary scikit-learn counts) reads it now."""
        idf = load_arrays(directory / IDF_FILE, "char", "word")
        blocks = []
        for name, analyzer, ngram_range in (("char", "char_wb", config.char_ngram_range), ("word", "word", config.word_ngram_range)):
            vocabulary_path, counter_path = directory / f"{name}_vocabulary.json", directory / COUNTER_DIR.format(name)
            counter = PackedNgramCounter.load(counter_path, analyzer, ngram_range) if counter_path.is_dir() else None
            vocabulary = partial(load_json, vocabulary_path) if counter is not None else load_json(vocabulary_path)
            n_terms = counter.n_columns if counter is not None else len(vocabulary)
            if n_terms != len(idf[name]):
                source = counter_path.name if counter is not None else vocabulary_path.name
                raise ModelLoadError(f"{directory}: {source} holds {n_terms} terms but {IDF_FILE} {len(idf[name])} weights")
            blocks.append(TfidfBlock(analyzer, ngram_range, vocabulary, idf[name], counter))
        return cls(config, *blocks)
