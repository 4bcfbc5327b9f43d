"""Linear matchers, one layer per tree level: for each node, one-vs-rest L2-loss SVMs over its children.

A child's classifier is trained on the examples routed to its parent (teacher-forced: the
examples whose labels sit under the parent), its own examples positive and its siblings'
negative — PECOS's 'tfn' negatives. Each parent is one liblinear call (dual coordinate descent,
one-vs-rest in C) on the columns its examples use; weights below `weight_threshold` are pruned
so the layer stays sparse. `hard_negatives` adds PECOS's 'man' (matcher-aware) negatives: the levels
are then fitted top-down, and an example also trains the parents that the fitted levels' beam opens
wrongly for it, as a row negative for every child. Off by default: on the NCBI Disease and BC5CDR dev
sets it cost 2-3× the training time and lowered the fused acc@1 (0.898 → 0.896, 0.891 → 0.888).

Teacher forcing makes every parent of every level an independent problem, so they are fitted
by a pool of worker processes, not threads: scikit-learn's liblinear draws its coordinate order
from one process-wide random generator, seeded per call, which concurrent threads would share.
Each call reseeds it, so the weights do not depend on `n_jobs` or on the order the calls run in.

Memory at 10^6 concepts: the workers share the float32 feature matrix (memory-mapped from the training's
feature store, `feature_store.py`); each block is copied to float64 for liblinear on its own, and a node
routed more than `max_node_examples` examples (the upper levels of a very large tree) learns from a seeded
sample of them, so no worker ever holds a copy of every row.

The matchers read the rows in leaf order: a copy of the feature matrix whose rows follow the leaves of their
examples' first labels, so that every node's examples lie in one stretch of the file. In the training's order a
node's rows are scattered over all of it, and at 4×10^6 concepts (a 14 GB file, a page cache of about 9 GB) nearly
every row read was a disk read. A node's rows are read in the file's order, its stretches of close rows asked for
ahead and its other rows (examples with labels under other leaves too) without the megabytes a fault reads around
them (`mapped_reads.py`), then put in the examples' own order, so liblinear sees the same rows in the same order
and the weights do not change.
"""
from __future__ import annotations

import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .beam import beam_search
from .config import MatcherConfig
from .feature_store import FeatureStore
from .layer import Layer
from .mapped_reads import random_access, read_rows
from .parallel import available_cpus, worker_context
from .sparse_ops import compact_columns, row_ids, top_k_per_row

MINING_BEAM = 10  # hard negatives come from a beam as wide as prediction's default
MINING_ROWS = 4096  # training examples beam-searched at once when mining


@dataclass
class _Problem:
    """One parent's classifiers to fit: its children (nodes of `level`) and the examples routed to it."""

    level: int
    parent: int
    children: np.ndarray
    examples: np.ndarray


_shared: dict = {}  # what every fit reads: set in the training process, inherited (or unpickled) by the workers


def _share(rows: sp.csr_matrix, row_of: np.ndarray, per_level: list[sp.csr_matrix], sample_weight: np.ndarray,
           config: MatcherConfig) -> None:
    """`rows`: the feature rows in leaf order (read with `mapped_reads`: no megabytes read around each row), `row_of`:
    each example's row in them."""
    random_access(rows)
    _shared.update(rows=rows, row_of=row_of, per_level=per_level, sample_weight=sample_weight, config=config)


def leaf_order(labels: sp.csr_matrix, chain: list[sp.csr_matrix]) -> np.ndarray:
    """The examples ordered by the last level's node above their first label (examples without one last), each
    node's in their own order. A node of any level holds a range of the last level's nodes (`cluster_chain`
    numbers them so), so its examples follow one another too, but for the other labels of multi-label ones."""
    node_of_label = chain[-1].indices  # labels × last-level nodes: one node per label
    has_label = np.diff(labels.indptr) > 0
    node = np.full(labels.shape[0], chain[-1].shape[1], dtype=np.int64)
    node[has_label] = node_of_label[labels.indices[labels.indptr[:-1][has_label]]]
    return np.argsort(node, kind="stable")


def rows_in_leaf_order(features: sp.csr_matrix, labels: sp.csr_matrix, chain: list[sp.csr_matrix],
                       work_dir: str | Path | None) -> tuple[sp.csr_matrix, np.ndarray]:
    """The feature rows in `leaf_order`, written to a temporary folder under `work_dir` and mapped, and each
    example's row in them."""
    order = leaf_order(labels, chain)
    with FeatureStore(work_dir) as store:
        rows = store.write_rows_in_order(features, order)
    row_of = np.empty_like(order)
    row_of[order] = np.arange(order.size)
    return rows, row_of


def _fit_block(features: sp.csr_matrix, positives: sp.csr_matrix, sample_weight: np.ndarray, config: MatcherConfig):
    """Weights (used columns × children) and bias for one parent's children; rows may be multi-label, and a row
    with no positive child (a hard negative) is negative for all of them.

    `features` should be float64 with int32 indices, which liblinear takes without a copy.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    n_children = positives.shape[1]
    lengths = np.diff(positives.indptr)
    rows = row_ids(positives)  # one training row per (example, positive child) ...
    targets = positives.indices
    hard = np.flatnonzero(lengths == 0)
    if hard.size:  # ... and one per hard negative, in a class of its own whose classifier is dropped
        rows = np.concatenate([rows, hard])
        targets = np.concatenate([targets, np.full(hard.size, n_children, dtype=targets.dtype)])
    used, compact = compact_columns(features)
    if not np.all(lengths == 1):  # not one positive child per example: a row per positive and per hard negative
        compact, sample_weight = compact[rows], sample_weight[rows]
    svm = LinearSVC(C=config.C, loss="squared_hinge", dual=True, tol=config.tolerance, max_iter=config.max_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The number of unique classes")  # leaf blocks: few examples per child
        svm.fit(compact, targets, sample_weight=sample_weight)
    return (used, *_per_child(svm.classes_, svm.coef_, svm.intercept_, n_children))


def _per_child(classes: np.ndarray, coef: np.ndarray, bias: np.ndarray, n_children: int) -> tuple[np.ndarray, np.ndarray]:
    """One weight vector and bias per child from liblinear's per-class ones. The hard negatives' class is
    dropped; a child left with no example (only sampling does that) gets no weights and bias -1: never chosen."""
    if classes.size == 2:  # liblinear returns one vector for two classes: class 1 against class 0
        coef, bias = np.vstack([-coef, coef]), np.array([-bias[0], bias[0]])
    if np.array_equal(classes, np.arange(n_children)):
        return coef, bias
    child_coef, child_bias = np.zeros((n_children, coef.shape[1])), np.full(n_children, -1.0)
    is_child = classes < n_children
    child_coef[classes[is_child]], child_bias[classes[is_child]] = coef[is_child], bias[is_child]
    return child_coef, child_bias


def _fit_problem(problem: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kept weights of one parent's children as (feature, node, value) triplets, and the children's biases; int32
    positions: the triplets of every parent wait in memory until their layer is built (82M at 10^6 concepts)."""
    config = _shared["config"]
    positives = _shared["per_level"][problem.level][problem.examples][:, problem.children]
    positives.data = np.ones_like(positives.data)
    # float64 for liblinear, converted per block (at most `max_node_examples` rows), not for the whole matrix; the
    # block's indices are not copied again (`astype` would)
    rows = read_rows(_shared["rows"], _shared["row_of"][problem.examples])  # the examples' own order
    rows = sp.csr_matrix((rows.data.astype(np.float64), rows.indices, rows.indptr), shape=rows.shape, copy=False)
    used, coef, bias = _fit_block(rows, positives.tocsr(), _shared["sample_weight"][problem.examples], config)
    keep = np.abs(coef) >= config.weight_threshold
    child_index, feature_index = np.nonzero(keep)
    return used[feature_index].astype(np.int32), problem.children[child_index].astype(np.int32), coef[keep].astype(np.float32), bias


def _teacher_routing(level: int, per_level: list[sp.csr_matrix], n_examples: int) -> sp.csr_matrix:
    """Parents of `level` × examples: the examples whose labels sit under each parent (the root takes them all)."""
    if level == 0:
        return sp.csr_matrix((np.ones(n_examples, np.float32), np.arange(n_examples), [0, n_examples]), shape=(1, n_examples))
    return per_level[level - 1].T.tocsr()


def _level_problems(level: int, clusters: sp.csr_matrix, routed: sp.csr_matrix, max_examples: int) -> tuple[list[_Problem], np.ndarray]:
    """Every parent of `level` with two or more children and some examples `routed` to it (parents × examples;
    at most `max_examples` of them, sampled); and the level's biases of only children (1)."""
    n_nodes, n_parents = clusters.shape
    children_of = clusters.T.tocsr()
    problems, bias = [], np.zeros(n_nodes, dtype=np.float32)
    for parent in range(n_parents):
        children = children_of.indices[children_of.indptr[parent]:children_of.indptr[parent + 1]]
        examples = routed.indices[routed.indptr[parent]:routed.indptr[parent + 1]]
        if children.size == 1 or examples.size == 0:
            bias[children] = 1.0  # an only child is always taken: margin 1 scores 1 in either path scoring
        else:
            problems.append(_Problem(level, parent, children, _sample(examples, max_examples, level, parent)))
    return problems, bias


def _sample(examples: np.ndarray, limit: int, level: int, parent: int) -> np.ndarray:
    """`examples` when there are at most `limit`, else a sorted random subset of `limit` of them, seeded by the
    node so the sample does not depend on the order the nodes are visited in."""
    if examples.size <= limit:
        return examples
    return np.sort(np.random.default_rng([level, parent]).choice(examples, size=limit, replace=False))


def _fit_all(problems: list[_Problem], n_jobs: int, progress: bool) -> deque[tuple]:
    """The fits of `problems`, fitted in their order: level by level, each level's nodes left to right. That starts
    the largest first (a level's nodes are alike, and they shrink level by level), and it follows the rows of the
    leaf-ordered feature file, so that each level reads the file front to back, and pages read for one node that the
    next needs (those its stretch shares) are still cached: fitted by size, a leaf's neighbours came minutes later."""
    with tqdm(total=len(problems), desc="matchers", disable=None if progress else True, leave=False) as bar, ExitStack() as stack:
        fits = map
        if n_jobs > 1 and len(problems) > 1:
            fits = stack.enter_context(ProcessPoolExecutor(
                min(n_jobs, len(problems)), mp_context=worker_context(), initializer=_share,
                initargs=(_shared["rows"], _shared["row_of"], _shared["per_level"], _shared["sample_weight"], _shared["config"]))).map
        results = deque()
        for fit in fits(_fit_problem, problems):
            results.append(fit)
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


def mine_hard_negatives(features: sp.csr_matrix, layers: list[Layer], true_nodes: sp.csr_matrix, n_negatives: int,
                        path_scoring: str, n_jobs: int = 1) -> sp.csr_matrix:
    """Examples × nodes of the last of `layers`: for each example, the `n_negatives` best-scored nodes that the
    model's own beam (prediction's default width) opens although they hold none of its labels (`true_nodes`).
    `n_jobs` threads search blocks of examples, as prediction does (the products release the GIL)."""
    def mine(lo: int) -> sp.csr_matrix:
        beam = beam_search(features[lo:lo + MINING_ROWS], layers, MINING_BEAM, MINING_BEAM, path_scoring)
        wrong = (beam - beam.multiply(true_nodes[lo:lo + MINING_ROWS] > 0)).tocsr()
        wrong.eliminate_zeros()
        return top_k_per_row(wrong, n_negatives)

    starts = range(0, features.shape[0], MINING_ROWS)
    with ThreadPoolExecutor(max(1, n_jobs)) as pool:
        return sp.vstack(list(pool.map(mine, starts)), format="csr")


def _layer(clusters: sp.csr_matrix, problems: list[_Problem], fits: deque[tuple], bias: np.ndarray, n_features: int) -> Layer:
    """The level's sparse weights (features × nodes) and biases from its problems' fits, taken off the front of `fits`.

    Each fit's triplets are copied into arrays of the level's size and dropped once copied, not held beside their
    concatenation while the CSR matrix is built: at 4×10^6 concepts the leaf level has hundreds of millions of
    weights (a traced peak of 24 bytes per weight, against 32)."""
    n_weights = sum(fit[2].size for fit in islice(fits, len(problems)))
    rows, cols, values = np.empty(n_weights, np.int32), np.empty(n_weights, np.int32), np.empty(n_weights, np.float32)
    stored = 0
    for problem in problems:
        fit_rows, fit_cols, fit_values, fit_bias = fits.popleft()
        bias[problem.children] = fit_bias
        end = stored + fit_values.size
        rows[stored:end], cols[stored:end], values[stored:end] = fit_rows, fit_cols, fit_values
        stored = end
    weights = sp.csr_matrix((values, (rows, cols)), shape=(n_features, clusters.shape[0]), dtype=np.float32)
    return Layer(weights, bias, clusters)


def train_matchers(features: sp.csr_matrix, labels: sp.csr_matrix, chain: list[sp.csr_matrix], sample_weight: np.ndarray,
                   config: MatcherConfig, progress: bool = False, n_jobs: int | None = None, path_scoring: str = "l3-hinge",
                   work_dir: str | Path | None = None) -> list[Layer]:
    """One layer per matrix of `chain`; `n_jobs` worker processes (default: one per available CPU). The feature rows'
    copy in leaf order is written to a temporary folder under `work_dir` (as `XMRModel.train`'s feature store).

    Teacher-forced problems are independent, so every level's are fitted at once. With `config.hard_negatives`,
    the levels are fitted one after the other instead: a level's problems also take the examples that the levels
    above (already fitted, beam-searched with `path_scoring`) route to the wrong parent.
    """
    n_jobs = available_cpus() if n_jobs is None else n_jobs
    n_examples, n_features = features.shape
    per_level = node_labels_per_level(labels, chain)
    _share(*rows_in_leaf_order(features, labels, chain, work_dir), per_level, sample_weight, config)
    try:
        if not config.hard_negatives:
            levels = [_level_problems(level, clusters, _teacher_routing(level, per_level, n_examples), config.max_node_examples)
                      for level, clusters in enumerate(chain)]
            fits = _fit_all([problem for problems, _ in levels for problem in problems], n_jobs, progress)
            return [_layer(clusters, problems, fits, bias, n_features) for clusters, (problems, bias) in zip(chain, levels)]
        layers = []
        for level, clusters in enumerate(chain):
            routed = _teacher_routing(level, per_level, n_examples)
            if layers:
                mined = mine_hard_negatives(features, layers, per_level[level - 1], config.hard_negatives, path_scoring, n_jobs)
                routed = (routed + mined.T).tocsr()  # the union: a parent's examples, each once
            problems, bias = _level_problems(level, clusters, routed, config.max_node_examples)
            layers.append(_layer(clusters, problems, _fit_all(problems, n_jobs, progress), bias, n_features))
        return layers
    finally:
        _shared.clear()
