"""Training's device path (PIFA label embeddings and the 2-means tree written against an `ArrayBackend`), run with numpy
standing in for cupy: the same embeddings (within 1e-6) and the same leaves as the CPU path, on random embeddings, on
an NCBI Disease slice and through `XMRModel.train`; the embeddings built by blocks equal those summed whole. A real GPU
runs the `gpu`-marked test."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import iter_mentions, read_corpus
from spacy_xmr.errors import ConfigError
from spacy_xmr.ontology import Ontology
from spacy_xmr.xmr import XMRConfig, XMRModel, backend, clustering, label_embedding, sparse_ops
from spacy_xmr.xmr.backend import ArrayBackend
from spacy_xmr.xmr.channels import tree as tree_module
from spacy_xmr.xmr.clustering import binary_leaves, tree_depth
from spacy_xmr.xmr.config import FeatureConfig, TrainingDataConfig
from spacy_xmr.xmr.features import Featurizer
from spacy_xmr.xmr.label_embedding import label_embeddings
from spacy_xmr.xmr.sparse_ops import l2_normalize_rows
from spacy_xmr.xmr.training_data import build_training_data

GPU_ONLY = {"lexsort", "searchsorted"}  # what the device path calls where the CPU path calls np.argsort / np.repeat


class CupyLikeNumpy(SimpleNamespace):
    """numpy as a device's array module: every function it hands out is recorded, and `repeat`, whose per-row counts
    cupy lacks, is refused (`xp is np` is false here, so the kernels take their device branches)."""

    def __init__(self):
        super().__init__(called=set())

    def __getattr__(self, name):
        if name == "repeat":
            raise AssertionError("cupy's repeat takes no per-row counts")
        self.called.add(name)
        return getattr(np, name)


def stand_in() -> ArrayBackend:
    return ArrayBackend("numpy standing in for a GPU", CupyLikeNumpy(), sp)


def random_problem(n_examples: int, n_concepts: int, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Features (examples × features, with repeated rows: exact ties), labels (examples × concepts, some concepts
    without examples) and each concept's name row (-1 for some)."""
    rng = np.random.default_rng(seed)
    features = sp.random(n_examples, 300, density=0.03, format="csr", dtype=np.float32, random_state=rng)
    features = sp.vstack([features, features[: n_examples // 10]], format="csr")
    n_examples = features.shape[0]
    labels = sp.csr_matrix((rng.random(n_examples).astype(np.float32) + 0.5, (np.arange(n_examples), rng.integers(0, n_concepts - 3, n_examples))),
                           shape=(n_examples, n_concepts))
    name_rows = np.where(rng.random(n_concepts) < 0.8, rng.integers(0, n_examples, n_concepts), -1)
    return features, labels, name_rows


@pytest.mark.parametrize("on_device", [False, True])
def test_rows_normalised_by_blocks_equal_rows_normalised_whole(on_device, monkeypatch):
    xp = CupyLikeNumpy() if on_device else np
    matrix = sp.random(50, 40, density=0.2, format="csr", dtype=np.float32, random_state=5)
    matrix = sp.vstack([sp.csr_matrix((2, 40), dtype=np.float32), matrix, sp.csr_matrix((3, 40), dtype=np.float32),
                        sp.csr_matrix(np.ones((1, 40), np.float32)), matrix[:4]], format="csr")  # empty rows; one longer than a block
    dense = matrix.toarray()
    expected = dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-30)
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 7)
    by_blocks = l2_normalize_rows(matrix.copy(), xp)
    np.testing.assert_allclose(by_blocks.toarray(), expected, rtol=1e-6, atol=1e-7)
    monkeypatch.setattr(sparse_ops, "CELLS_AT_ONCE", 10**9)
    assert np.array_equal(l2_normalize_rows(matrix.copy(), xp).data, by_blocks.data)  # the same floats


class CanonicalisingCsr(sp.csr_matrix):
    """scipy's CSR with cupyx's habit: `sum` first sorts the matrix's indices (and data) in place."""

    def sum(self, *args, **kwargs):
        self.sort_indices()
        return super().sum(*args, **kwargs)


def test_normalising_rows_whose_indices_a_gpu_sorts_while_summing_keeps_each_value_at_its_cell():
    matrix = sp.random(30, 50, density=0.3, format="csr", dtype=np.float32, random_state=6)
    for row in range(matrix.shape[0]):  # unsorted rows, as a product's or scikit-learn's may be
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        matrix.indices[lo:hi], matrix.data[lo:hi] = matrix.indices[lo:hi][::-1].copy(), matrix.data[lo:hi][::-1].copy()
    matrix.has_sorted_indices = False
    dense = matrix.toarray()
    expected = dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-30)
    np.testing.assert_allclose(l2_normalize_rows(CanonicalisingCsr(matrix), CupyLikeNumpy()).toarray(), expected, rtol=1e-6, atol=1e-7)


def test_embeddings_built_by_blocks_equal_pifa_summed_whole(monkeypatch):
    features, labels, name_rows = random_problem(400, 120, 0)
    positive = (labels != 0).astype(np.float32)
    whole = (positive.T @ features).toarray()
    whole /= np.maximum(np.linalg.norm(whole, axis=1, keepdims=True), 1e-30)
    assert np.count_nonzero(~whole.any(axis=1)) >= 3  # the concepts without examples: empty rows
    monkeypatch.setattr(label_embedding, "PRODUCT_CELLS_AT_ONCE", 50)  # a few concepts a block
    pifa = label_embeddings(features, labels, name_rows, 0.0)
    np.testing.assert_allclose(pifa.toarray(), whole, atol=1e-6)
    mixed = label_embeddings(features, labels, name_rows, 0.25)
    monkeypatch.setattr(label_embedding, "PRODUCT_CELLS_AT_ONCE", 10**9)  # one block
    assert (label_embeddings(features, labels, name_rows, 0.25) != mixed).nnz == 0  # the same floats, any block size
    assert (label_embeddings(features, labels, name_rows, 0.0) != pifa).nnz == 0


@pytest.mark.parametrize("name_weight", [0.0, 0.3])
def test_the_device_path_embeds_like_the_cpu(name_weight, monkeypatch):
    features, labels, name_rows = random_problem(500, 150, 1)
    monkeypatch.setattr(label_embedding, "PRODUCT_CELLS_AT_ONCE", 200)
    device = stand_in()
    expected, got = label_embeddings(features, labels, name_rows, name_weight), label_embeddings(features, labels, name_rows, name_weight, device)
    assert got.nnz == expected.nnz and abs(got - expected).max() <= 1e-6
    assert "searchsorted" in device.xp.called  # the row normalisation's device branch ran


def assert_same_tree(embeddings: sp.csr_matrix, depth: int, seed: int, monkeypatch, device_min_rows: int = 0) -> ArrayBackend:
    """The leaves of the CPU path and of the stand-in (which splits nodes of `device_min_rows` rows or more) are equal."""
    device = stand_in()
    on_cpu = binary_leaves(embeddings.copy(), depth, iterations=10, seed=seed)
    monkeypatch.setattr(clustering, "DEVICE_MIN_ROWS", device_min_rows)
    np.testing.assert_array_equal(binary_leaves(embeddings.copy(), depth, iterations=10, seed=seed, backend=device), on_cpu)
    return device


def with_twins(embeddings: sp.csr_matrix) -> sp.csr_matrix:
    """`embeddings` and a copy of its first 40 rows under it: labels with equal rows, whose scores tie."""
    return sp.vstack([embeddings, embeddings[:40]], format="csr")


def test_the_device_path_builds_the_cpus_tree_ties_included(monkeypatch):
    features, labels, name_rows = random_problem(800, 300, 2)
    embeddings = with_twins(label_embeddings(features, labels, name_rows, 0.0))
    for seed in range(3):
        device = assert_same_tree(embeddings, depth=5, seed=seed, monkeypatch=monkeypatch)
        assert GPU_ONLY <= device.xp.called


def test_a_gpu_hands_the_small_nodes_to_the_cpu_and_still_builds_the_same_tree(monkeypatch):
    features, labels, name_rows = random_problem(800, 300, 3)
    embeddings = with_twins(label_embeddings(features, labels, name_rows, 0.0))
    sizes = []
    split = clustering._balanced_split
    monkeypatch.setattr(clustering, "_balanced_split", lambda rows, rng, iterations, on: sizes.append((rows.shape[0], on.on_device))
                        or split(rows, rng, iterations, on))
    assert_same_tree(embeddings, depth=5, seed=0, monkeypatch=monkeypatch, device_min_rows=60)
    on_device = [size for size, device in sizes[len(sizes) // 2:] if device]  # the second half: the stand-in's splits
    assert on_device and min(on_device) >= 60 > max(size for size, device in sizes[len(sizes) // 2:] if not device)


@pytest.fixture(scope="module")
def ncbi_slice_problem(medic, ncbi_dir):
    """The features, labels and name rows of the MEDIC concepts of 40 NCBI train documents plus 300 others."""
    mentions = [m for m in iter_mentions(read_corpus(ncbi_dir / "NCBItrainset_corpus.txt")) if m.gold_ids]
    documents = set(sorted({m.document_id for m in mentions})[:40])
    train = [m for m in mentions if m.document_id in documents]
    wanted = {medic.resolve(g) for m in train for g in m.gold_ids} - {None}
    wanted |= set(random.Random(1).sample(sorted(set(medic.ids) - wanted), 300))
    data = build_training_data(Ontology([medic[cid] for cid in medic.ids if cid in wanted]), train, TrainingDataConfig())
    _, features = Featurizer.fit_transform(data.keys, FeatureConfig(), 1)
    return features, data.labels, data.name_rows


@pytest.mark.parametrize("name_weight", [0.0, 0.5])
def test_on_an_ncbi_slice_the_device_path_gives_the_cpus_embeddings_and_tree(ncbi_slice_problem, name_weight, monkeypatch):
    features, labels, name_rows = ncbi_slice_problem
    monkeypatch.setattr(label_embedding, "PRODUCT_CELLS_AT_ONCE", 5_000)
    expected = label_embeddings(features, labels, name_rows, name_weight)
    got = label_embeddings(features, labels, name_rows, name_weight, stand_in())
    assert got.nnz == expected.nnz and abs(got - expected).max() <= 1e-6
    assert_same_tree(expected, tree_depth(expected.shape[0], 16), seed=0, monkeypatch=monkeypatch)


def test_training_with_a_device_trains_the_cpus_model(synthetic_ontology, synthetic_mentions, monkeypatch):
    def trained(device: str) -> XMRModel:
        config = XMRConfig.from_dict({"tree": {"max_leaf_size": 8, "branching_factor": 4, "device": device}, "calibration": {"folds": 0}})
        return XMRModel.train(synthetic_ontology, synthetic_mentions["train"], config, progress=False, n_jobs=1)

    used = []
    monkeypatch.setattr(clustering, "DEVICE_MIN_ROWS", 0)
    monkeypatch.setattr(tree_module, "array_backend", lambda device: used.append(device) or (stand_in() if device == "cuda" else backend.CPU))
    on_cpu, on_device = trained("cpu"), trained("cuda")
    assert used == ["cpu", "cuda"]
    assert len(on_cpu.channels["tree"].layers) == len(on_device.channels["tree"].layers) > 2
    for cpu_layer, device_layer in zip(on_cpu.channels["tree"].layers, on_device.channels["tree"].layers):
        assert (cpu_layer.clusters != device_layer.clusters).nnz == 0
        assert (cpu_layer.weights != device_layer.weights).nnz == 0


def test_a_bad_or_missing_training_device_fails_naming_the_fix(synthetic_ontology, synthetic_mentions, monkeypatch):
    with pytest.raises(ConfigError, match="tree.device"):
        XMRConfig.from_dict({"tree": {"device": "gpu"}})
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    config = XMRConfig.from_dict({"tree": {"device": "cuda:0"}, "calibration": {"folds": 0}})
    with pytest.raises(ConfigError, match=r"spacy-xmr\[gpu\]"):
        XMRModel.train(synthetic_ontology, synthetic_mentions["train"][:20], config, progress=False, n_jobs=1)


def test_train_xmr_takes_the_device_and_refuses_a_bad_one(tmp_path, synthetic_ontology_path, monkeypatch):
    command = ["train-xmr", "--ontology", str(synthetic_ontology_path), "--output", str(tmp_path / "model")]
    result = CliRunner().invoke(app, [*command, "--device", "gpu"])
    assert result.exit_code == 1 and "tree.device" in result.output, result.output
    with monkeypatch.context() as without_cupy:
        without_cupy.setitem(sys.modules, "cupy", None)
        result = CliRunner().invoke(app, [*command, "--device", "cuda:1"])
    assert result.exit_code == 1 and "spacy-xmr[gpu]" in result.output and "featurising" not in result.output, result.output
    assert "--device (tree.device) = 'cuda:1'" in " ".join(result.output.split())
    (tmp_path / "config.json").write_text(json.dumps({"tree": {"max_leaf_size": 16, "device": "cuda"}, "calibration": {"folds": 0}}))
    result = CliRunner().invoke(app, [*command, "--config", str(tmp_path / "config.json"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "model" / "xmr.json").read_text())["config"]["tree"]["device"] == "cpu"  # the option won


def test_training_on_a_cpu_only_install_never_imports_cupy():
    code = ("import sys; from spacy_xmr.ontology import Concept, Ontology; from spacy_xmr.xmr import XMRConfig, XMRModel; "
            "ontology = Ontology([Concept(id=f'C{i}', name=f'disease number {i}', synonyms=[f'syndrome {i}']) for i in range(40)]); "
            "config = XMRConfig.from_dict({'tree': {'max_leaf_size': 4}, 'calibration': {'folds': 0}}); "
            "assert config.tree.device == 'auto'; XMRModel.train(ontology, [], config, progress=False, n_jobs=1); "
            "assert 'cupy' not in sys.modules, 'cupy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONNOUSERSITE": "1"})


@pytest.mark.gpu
def test_on_a_gpu_cupy_embeds_and_clusters_like_the_cpu(monkeypatch):
    cupy = pytest.importorskip("cupy")
    if not backend._visible_gpus(cupy):
        pytest.skip("cupy sees no CUDA device")
    gpu = backend.array_backend("cuda")
    features, labels, name_rows = random_problem(3000, 1000, 4)
    monkeypatch.setattr(label_embedding, "PRODUCT_CELLS_AT_ONCE", 20_000)
    expected = label_embeddings(features, labels, name_rows, 0.3)
    on_gpu = label_embeddings(features, labels, name_rows, 0.3, gpu)
    assert on_gpu.nnz == expected.nnz and abs(on_gpu.get() - expected).max() <= 1e-6
    monkeypatch.setattr(clustering, "DEVICE_MIN_ROWS", 0)
    np.testing.assert_array_equal(binary_leaves(on_gpu, 6, 10, seed=0, backend=gpu), binary_leaves(expected, 6, 10, seed=0))
