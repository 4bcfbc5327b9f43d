"""Linear matchers, one layer per tree level: for each node, one-vs-rest L2-loss SVMs over its children.

A child's classifier is trained on the examples routed to its parent (teacher-forced: the
examples whose labels sit under the parent), its own examples positive and its siblings'
negative — PECOS's 'tfn' negatives. Each parent is one liblinear call (dual coordinate descent,
one-vs-rest in C) on the columns its examples use; weights below `weight_threshold` are pruned
so the layer stays sparse. PECOS's 'man' (matcher-aware) negatives are not used: measured with
PECOS on NCBI Disease they cost 9× the training time for no gain in recall.

Teacher forcing makes every parent of every level an independent problem, so they are fitted
by a pool of worker processes, not threads: scikit-learn's liblinear draws its coordinate order
from one process-wide random generator, seeded per call, which concurrent threads would share.
Each call reseeds it, so the weights do not depend on `n_jobs` or on the order the calls run in.

Memory at 10^6 concepts: the workers share the float32 feature matrix; each block is copied to
float64 for liblinear on its own, and a node routed more than `max_node_examples` examples (the
upper levels of a very large tree) learns from a seeded sample of them, so no worker ever holds
a copy of every row.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .config import MatcherConfig
from .sparse_ops import compact_columns, row_ids


@dataclass
class Layer:
    """One level of the chain: `weights` features × nodes (CSR: the right operand of products), `bias` per node, `clusters` C (nodes × parents)."""

    weights: sp.csr_matrix
    bias: np.ndarray
    clusters: sp.csr_matrix
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # what prediction derives

    @property
    def n_nodes(self) -> int:
        return self.clusters.shape[0]

    def node_lengths(self) -> np.ndarray:
        """Stored weights per node."""
        return self._cached("node_lengths", lambda: np.bincount(self.weights.indices, minlength=self.n_nodes))

    def term_lengths(self) -> np.ndarray:
        """Stored weights per feature (cached: a query of one mention should not pay a pass over every feature)."""
        return self._cached("term_lengths", lambda: np.diff(self.weights.indptr))

    def weights_by_node(self) -> sp.csr_matrix:
        """nodes × features: the weights transposed, for scoring a few nodes per query."""
        return self._cached("by_node", lambda: self.weights.T.tocsr())

    def _cached(self, name: str, build):
        """What prediction derives from the weights, built on first use (once, though threads share the layer)."""
        with _layer_cache_lock:
            if name not in self._cache:
                self._cache[name] = build()
            return self._cache[name]


@dataclass
class _Problem:
    """One parent's classifiers to fit: its children (nodes of `level`) and the examples routed to it."""

    level: int
    parent: int
    children: np.ndarray
    examples: np.ndarray


_layer_cache_lock = threading.Lock()  # prediction threads share the layers
_shared: dict = {}  # what every fit reads: set in the training process, inherited (or unpickled) by the workers


def _share(features: sp.csr_matrix, per_level: list[sp.csr_matrix], sample_weight: np.ndarray, config: MatcherConfig) -> None:
    _shared.update(features=features, per_level=per_level, sample_weight=sample_weight, config=config)


def _fit_block(features: sp.csr_matrix, positives: sp.csr_matrix, sample_weight: np.ndarray, config: MatcherConfig):
    """Weights (used columns × children) and bias for one parent's children; rows may be multi-label.

    `features` should be float64 with int32 indices, which liblinear takes without a copy.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    n_children = positives.shape[1]
    rows = row_ids(positives)  # one training row per (example, positive child)
    targets = positives.indices
    used, compact = compact_columns(features)
    if not np.all(np.diff(positives.indptr) == 1):  # not one positive child per example: a row per positive
        compact, sample_weight = compact[rows], sample_weight[rows]
    svm = LinearSVC(C=config.C, loss="squared_hinge", dual=True, tol=config.tolerance, max_iter=config.max_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The number of unique classes")  # leaf blocks: few examples per child
        svm.fit(compact, targets, sample_weight=sample_weight)
    coef, bias = svm.coef_, svm.intercept_
    if n_children == 2:  # liblinear returns one vector for two classes: class 1 against class 0
        coef, bias = np.vstack([-coef, coef]), np.array([-bias[0], bias[0]])
    return used, coef, bias


def _fit_problem(problem: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kept weights of one parent's children as (feature, node, value) triplets, and the children's biases."""
    features, config = _shared["features"], _shared["config"]
    positives = _shared["per_level"][problem.level][problem.examples][:, problem.children]
    positives.data = np.ones_like(positives.data)
    # float64 for liblinear, converted per block (at most `max_node_examples` rows), not for the whole matrix
    rows = features[problem.examples].astype(np.float64)
    used, coef, bias = _fit_block(rows, positives.tocsr(), _shared["sample_weight"][problem.examples], config)
    keep = np.abs(coef) >= config.weight_threshold
    child_index, feature_index = np.nonzero(keep)
    return used[feature_index], problem.children[child_index], coef[keep].astype(np.float32), bias


def _problems(per_level: list[sp.csr_matrix], chain: list[sp.csr_matrix], n_examples: int,
              max_examples: int) -> tuple[list[_Problem], list[np.ndarray]]:
    """Every parent with two or more children and some examples (at most `max_examples` of them, sampled);
    and per level, the biases of only children (1)."""
    problems, biases = [], []
    for level, clusters in enumerate(chain):
        n_nodes, n_parents = clusters.shape
        children_of = clusters.T.tocsr()
        if level == 0:
            examples_of = sp.csr_matrix((np.ones(n_examples, np.float32), np.arange(n_examples), [0, n_examples]), shape=(1, n_examples))
        else:
            examples_of = per_level[level - 1].T.tocsr()
        bias = np.zeros(n_nodes, dtype=np.float32)
        for parent in range(n_parents):
            children = children_of.indices[children_of.indptr[parent]:children_of.indptr[parent + 1]]
            examples = examples_of.indices[examples_of.indptr[parent]:examples_of.indptr[parent + 1]]
            if children.size == 1 or examples.size == 0:
                bias[children] = 1.0  # an only child is always taken: margin 1 scores 1 after post-processing
            else:
                problems.append(_Problem(level, parent, children, _sample(examples, max_examples, level, parent)))
        biases.append(bias)
    return problems, biases


def _sample(examples: np.ndarray, limit: int, level: int, parent: int) -> np.ndarray:
    """`examples` when there are at most `limit`, else a sorted random subset of `limit` of them, seeded by the
    node so the sample does not depend on the order the nodes are visited in."""
    if examples.size <= limit:
        return examples
    return np.sort(np.random.default_rng([level, parent]).choice(examples, size=limit, replace=False))


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _fit_all(problems: list[_Problem], n_jobs: int, progress: bool) -> list[tuple]:
    """The fits of `problems`, in their order; the largest are started first so the pool finishes together."""
    bar = tqdm(total=len(problems), desc="matchers", disable=None if progress else True, leave=False)
    with bar:
        if n_jobs <= 1 or len(problems) <= 1:
            results = []
            for problem in problems:
                results.append(_fit_problem(problem))
                bar.update()
            return results
        row_nnz = np.diff(_shared["features"].indptr)
        by_size = sorted(range(len(problems)), key=lambda i: -int(row_nnz[problems[i].examples].sum()) * problems[i].children.size)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        results = [None] * len(problems)
        with ProcessPoolExecutor(min(n_jobs, len(problems)), mp_context=context, initializer=_share,
                                 initargs=(_shared["features"], _shared["per_level"], _shared["sample_weight"], _shared["config"])) as pool:
            futures = {pool.submit(_fit_problem, problems[i]): i for i in by_size}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
        return results


def node_labels_per_level(labels: sp.csr_matrix, chain: list[sp.csr_matrix]) -> list[sp.csr_matrix]:
    """For each level, examples × nodes: which nodes lie above each example's labels (binary)."""
    binary = labels.copy()
    binary.data = np.ones_like(binary.data)
    per_level = [binary]
    for clusters in reversed(chain[1:]):
        above = (per_level[0] @ clusters).tocsr()
        above.data = np.ones_like(above.data)
        per_level.insert(0, above)
    return per_level


def train_matchers(features: sp.csr_matrix, labels: sp.csr_matrix, chain: list[sp.csr_matrix], sample_weight: np.ndarray,
                   config: MatcherConfig, progress: bool = False, n_jobs: int | None = None) -> list[Layer]:
    """One layer per matrix of `chain`; `n_jobs` worker processes (default: one per available CPU)."""
    n_jobs = available_cpus() if n_jobs is None else n_jobs
    per_level = node_labels_per_level(labels, chain)
    problems, biases = _problems(per_level, chain, features.shape[0], config.max_node_examples)
    _share(features, per_level, sample_weight, config)
    try:
        fits = _fit_all(problems, n_jobs, progress)
    finally:
        _shared.clear()
    for problem, (_, _, _, bias) in zip(problems, fits):
        biases[problem.level][problem.children] = bias
    layers = []
    for level, clusters in enumerate(chain):
        rows, cols, values = ([fit[i] for problem, fit in zip(problems, fits) if problem.level == level] for i in range(3))
        weights = sp.csr_matrix(
            (np.concatenate(values) if values else np.zeros(0, np.float32),
             (np.concatenate(rows) if rows else np.zeros(0, np.int64), np.concatenate(cols) if cols else np.zeros(0, np.int64))),
            shape=(features.shape[1], clusters.shape[0]), dtype=np.float32,
        )
        layers.append(Layer(weights, biases[level], clusters))
    return layers
