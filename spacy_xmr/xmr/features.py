"""TF-IDF features of normalised strings: char n-grams within word boundaries + word n-grams.

Each block is sublinear-tf TF-IDF, l2-normalised, weighted, and the concatenated row is
l2-normalised again (the combination beats either block alone by ~3.5 points in XR-Linear).
The fitted vocabularies are saved as JSON and the idf vectors as arrays (`arrays.py`): no pickle. scikit-learn's
`CountVectorizer` does the n-gram counting (imported lazily); the idf weighting equals its
`TfidfVectorizer(smooth_idf=True, sublinear_tf=True)`.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..errors import ModelLoadError
from .arrays import load_arrays, load_json, save_arrays, save_json
from .config import FeatureConfig
from .normalize import key_words
from .parallel import available_cpus, worker_context
from .sparse_ops import l2_normalize_rows, stack_rows_consumed

WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"  # keeps one-character tokens ("type 1 diabetes")
IDF_FILE = "idf"


def _counter(analyzer: str, ngram_range, vocabulary=None):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        analyzer=analyzer, ngram_range=tuple(ngram_range), lowercase=False,
        token_pattern=WORD_TOKEN_PATTERN if analyzer == "word" else None, vocabulary=vocabulary, dtype=np.float32,
    )


COUNT_CHUNK = 100_000  # texts per counting pass: scikit-learn holds a Python int per n-gram occurrence while counting
PARALLEL_MIN_TEXTS = 20_000  # below this, starting worker processes costs more than counting in halves saves


def _count_chunk(task: tuple[str, tuple[int, int], list[str]]) -> tuple[list[str], sp.csr_matrix]:
    """(analyzer, n-gram range, texts) → the n-grams of those texts, in column order, and their count matrix."""
    analyzer, ngram_range, texts = task
    counter = _counter(analyzer, ngram_range)
    counts = counter.fit_transform(texts).tocsr()
    return counter.get_feature_names_out().tolist(), counts


def _count_ngrams(texts: list[str], analyzer: str, ngram_range, min_df: int,
                  mapper: Callable = map, n_workers: int = 1) -> tuple[list[str], np.ndarray, list[sp.csr_matrix]]:
    """The sorted vocabulary (n-grams in at least `min_df` texts), its document frequencies, and the count
    matrices of `texts` over it, a chunk of rows each (stacked, the matrix one `CountVectorizer(min_df=...)`
    call gives, indices sorted, however the rows were chunked).

    Counted a chunk at a time (at most `COUNT_CHUNK` texts, and one chunk per worker of `mapper` where there
    are fewer), each chunk's columns mapped into one growing vocabulary, so that the transient memory of the
    counting stays bounded (10^6-concept ontologies have millions of aliases); the chunks are returned unstacked
    so that the caller can weigh and stack them without a second copy of the whole matrix.
    """
    size = max(1, min(COUNT_CHUNK, -(-len(texts) // max(n_workers, 1))))
    index: dict[str, int] = {}
    chunks = []
    tasks = ((analyzer, tuple(ngram_range), texts[lo:lo + size]) for lo in range(0, len(texts), size))
    for chunk_terms, counts in mapper(_count_chunk, tasks):
        columns = np.fromiter((index.setdefault(term, len(index)) for term in chunk_terms), dtype=np.int32, count=len(chunk_terms))
        counts.indices = columns[counts.indices]  # columns of the growing vocabulary
        chunks.append(counts)
    terms = np.array(list(index), dtype=object)
    frequency = sum(np.bincount(chunk.indices, minlength=len(terms)) for chunk in chunks) if chunks else np.zeros(0, np.int64)
    frequent = np.flatnonzero(frequency >= min_df)
    order = frequent[np.argsort(terms[frequent], kind="stable")]  # the kept terms, alphabetically
    new_column = np.full(len(terms), -1, dtype=np.int32)
    new_column[order] = np.arange(order.size, dtype=np.int32)
    for chunk in chunks:
        chunk.indices = new_column[chunk.indices]
        dropped = chunk.indices < 0
        chunk.data[dropped], chunk.indices[dropped] = 0, 0
        chunk.resize(chunk.shape[0], order.size)
        chunk.eliminate_zeros()
        chunk.sort_indices()
    return terms[order].tolist(), frequency[order], chunks


class TfidfBlock:
    """One TF-IDF block (char_wb or word) with a fixed vocabulary and idf vector."""

    def __init__(self, analyzer: str, ngram_range, vocabulary: list[str], idf: np.ndarray):
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        self._counter = _counter(analyzer, ngram_range, {term: i for i, term in enumerate(vocabulary)})

    @classmethod
    def fit(cls, texts: list[str], analyzer: str, ngram_range, min_df: int = 1, mapper: Callable = map,
            n_workers: int = 1) -> tuple["TfidfBlock", list[sp.csr_matrix]]:
        """The fitted block and the TF-IDF rows of `texts` (in chunks of rows), from one pass of counting."""
        vocabulary, document_frequency, chunks = _count_ngrams(texts, analyzer, ngram_range, min_df, mapper, n_workers)
        idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1
        block = cls(analyzer, ngram_range, vocabulary, idf)
        return block, [block._weigh(chunk) for chunk in chunks]

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
        return len(self.vocabulary)


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
    def fit_transform(cls, texts: list[str], config: FeatureConfig, n_jobs: int | None = None) -> tuple["Featurizer", sp.csr_matrix]:
        """The fitted featurizer and the feature rows of `texts`; the same whatever `n_jobs`.

        `n_jobs` worker processes (default: one per available CPU) count the n-grams of `PARALLEL_MIN_TEXTS` texts
        or more, a chunk of rows each: scikit-learn's counting is Python that holds the GIL, and it was a third of
        the training time on NCBI Disease + MEDIC. The rows are combined a chunk at a time and each chunk is dropped
        once it is stacked: the peak holds about one copy of the feature matrix (at 10^6 concepts, gigabytes), not
        the three of stacking whole blocks.
        """
        texts = _canonical(texts) if config.canonical_words else texts
        n_workers = (available_cpus() if n_jobs is None else n_jobs) if len(texts) >= PARALLEL_MIN_TEXTS else 1
        with ExitStack() as stack:
            mapper = map
            if n_workers > 1:
                mapper = stack.enter_context(ProcessPoolExecutor(n_workers, mp_context=worker_context())).map
            char_block, chars = TfidfBlock.fit(texts, "char_wb", config.char_ngram_range, config.min_df, mapper, n_workers)
            word_block, words = TfidfBlock.fit(texts, "word", config.word_ngram_range, config.min_df, mapper, n_workers)
        featurizer = cls(config, char_block, word_block)
        n_stored = sum(chunk.nnz for chunk in chars + words)

        def combined():
            while chars:
                yield featurizer._combine(chars.pop(0), words.pop(0))

        return featurizer, stack_rows_consumed(combined(), (len(texts), featurizer.n_features), n_stored)

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
        save_arrays(directory / IDF_FILE, char=self.char_block.idf, word=self.word_block.idf)

    @classmethod
    def from_disk(cls, directory: Path, config: FeatureConfig) -> "Featurizer":
        idf = load_arrays(directory / IDF_FILE, "char", "word")
        blocks = []
        for name, analyzer, ngram_range in (("char", "char_wb", config.char_ngram_range), ("word", "word", config.word_ngram_range)):
            vocabulary = load_json(directory / f"{name}_vocabulary.json")
            if len(vocabulary) != len(idf[name]):
                raise ModelLoadError(
                    f"{directory}: {name}_vocabulary.json holds {len(vocabulary)} terms but {IDF_FILE} {len(idf[name])} weights"
                )
            blocks.append(TfidfBlock(analyzer, ngram_range, vocabulary, idf[name]))
        return cls(config, *blocks)
