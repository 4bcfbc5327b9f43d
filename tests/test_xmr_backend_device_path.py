"""Prediction's device path (`device_kernels.py`, `beam.beam_search` and the nearest channel on a device backend), run
with numpy and scipy standing in for cupy and cupyx.scipy.sparse: its kernels against the CPU's, and whole models
against the CPU path (the same top-10 sets, scores within 1e-4). A real GPU runs the `gpu`-marked test."""
from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import spacy

from spacy_xmr.corpus import iter_mentions, read_corpus
from spacy_xmr.errors import ConfigError
from spacy_xmr.ontology import Ontology
from spacy_xmr.xmr import XMRConfig, XMRModel, backend, device_kernels
from spacy_xmr.xmr import model as model_module
from spacy_xmr.xmr.backend import ArrayBackend
from spacy_xmr.xmr.channels import nearest
from spacy_xmr.xmr.sparse_ops import row_ids, top_k_per_row

STAND_IN = ArrayBackend("numpy standing in for a GPU", np, sp)
TEXTS = ["cardiac disease", "Renal Diseases", "nephritis syndrome type 2", "hepatomegaly", "zzz unknown", ""]


def scored_matrix(seed: int, shape=(120, 400), density=0.05) -> sp.csr_matrix:
    """A random score matrix with many ties (values on a grid of quarters), rows of 0 to a few dozen cells."""
    matrix = sp.random(*shape, density=density, format="csr", dtype=np.float32, random_state=seed)
    matrix.data = np.ceil(matrix.data * 4) / 4
    return matrix


@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_the_sort_top_k_keeps_what_the_cpu_top_k_keeps_ties_to_the_lowest_columns(k):
    for seed in range(3):
        matrix = scored_matrix(seed)
        expected, kept = top_k_per_row(matrix, k), device_kernels.keep_top_k(STAND_IN, matrix, k)
        assert kept.nnz == expected.nnz and (kept != expected).nnz == 0


def test_products_read_at_given_cells_equal_the_dense_product(monkeypatch):
    left, right = scored_matrix(1, (60, 80), 0.1), scored_matrix(2, (80, 300), 0.05)
    pattern = scored_matrix(3, (60, 300), 0.2)
    dense = (left @ right).toarray()
    expected = dense[row_ids(pattern), pattern.indices]
    assert np.count_nonzero(expected == 0) > 0  # some cells the product does not store: read as 0
    assert np.allclose(device_kernels.values_at(STAND_IN, left, right, pattern), expected, atol=1e-6)
    monkeypatch.setattr(device_kernels, "PRODUCT_PAIRS_AT_ONCE", 7)  # many row blocks
    assert np.allclose(device_kernels.product_at_cells(STAND_IN, left, right, pattern), expected, atol=1e-6)


def test_row_ids_by_search_equal_row_ids_by_repeat():
    class SearchingNumpy:  # numpy without the `np.repeat` shortcut: what cupy runs
        searchsorted, arange = staticmethod(np.searchsorted), staticmethod(np.arange)

    matrix = scored_matrix(4)
    matrix = sp.vstack([sp.csr_matrix((2, matrix.shape[1])), matrix[:5], sp.csr_matrix((4, matrix.shape[1])), matrix[5:]], format="csr")
    assert np.array_equal(row_ids(matrix, SearchingNumpy), row_ids(matrix))


def assert_same_candidates(expected: sp.csr_matrix, got: sp.csr_matrix, top_k: int = 10) -> None:
    """The same top-k sets per row (ties at the k-th score aside) and scores within 1e-4."""
    assert expected.shape == got.shape
    for row in range(expected.shape[0]):
        want = dict(zip(expected[row].indices.tolist(), expected[row].data.tolist()))
        have = dict(zip(got[row].indices.tolist(), got[row].data.tolist()))
        kth = sorted(want.values(), reverse=True)[:top_k][-1] if want else 0.0
        assert {c for c, s in want.items() if s > kth + 1e-4} <= set(have), row
        assert len(have) == len(want), row
        for concept in set(want) & set(have):
            assert abs(want[concept] - have[concept]) <= 1e-4, (row, concept)


def on_stand_in(monkeypatch, directory, **settings) -> XMRModel:
    """The model of `directory` loaded with device "cuda", whose backend the stand-in takes."""
    monkeypatch.setattr(model_module, "array_backend", lambda device: STAND_IN if device == "cuda" else backend.CPU)
    return XMRModel.load(directory, device="cuda", **settings)


def test_the_device_path_ranks_like_the_cpu_on_the_synthetic_model(synthetic_model_dir, synthetic_mentions, monkeypatch):
    texts = TEXTS + [mention.text for mention in synthetic_mentions["dev"]]
    on_cpu = XMRModel.load(synthetic_model_dir, device="cpu")
    device = on_stand_in(monkeypatch, synthetic_model_dir)
    assert device.backend is STAND_IN and on_cpu.backend is backend.CPU
    expected, used = on_cpu.score_matrix(texts, top_k=10), []
    monkeypatch.setattr(device_kernels, "top_k_per_row", lambda *args: used.append(1) or top_k_per_row(*args))
    monkeypatch.setattr(nearest, "DEVICE_PAIRS_AT_ONCE", 50)  # the nearest channel's shortlist in many small products
    assert_same_candidates(expected, device.score_matrix(texts, top_k=10))
    assert not used, "the device path fell back to the CPU's top-k"
    keys = [text.lower() for text in texts]
    tree_on_cpu = on_cpu.channels["tree"].score(on_cpu._queries(keys, 20, 10))
    assert_same_candidates(tree_on_cpu, device.channels["tree"].score(device._queries(keys, 20, 10)), 20)


@pytest.fixture(scope="module")
def ncbi_model_dir(medic, ncbi_dir, tmp_path_factory):
    """A small model on real data: the MEDIC concepts of 40 NCBI train documents plus 300 others, trained on those
    documents' mentions."""
    mentions = [m for m in iter_mentions(read_corpus(ncbi_dir / "NCBItrainset_corpus.txt")) if m.gold_ids]
    documents = set(sorted({m.document_id for m in mentions})[:40])
    train = [m for m in mentions if m.document_id in documents]
    wanted = {medic.resolve(g) for m in train for g in m.gold_ids} - {None}
    wanted |= set(random.Random(1).sample(sorted(set(medic.ids) - wanted), 300))
    ontology = Ontology([medic[cid] for cid in medic.ids if cid in wanted], name="MEDIC slice")
    directory = tmp_path_factory.mktemp("ncbi-slice") / "model"
    config = XMRConfig.from_dict({"tree": {"max_leaf_size": 16, "branching_factor": 4}, "calibration": {"folds": 0}})
    XMRModel.train(ontology, train, config, progress=False).save(directory)
    return directory


def test_the_device_path_ranks_like_the_cpu_on_an_ncbi_slice(ncbi_model_dir, ncbi_dir, monkeypatch):
    dev = list(iter_mentions(read_corpus(ncbi_dir / "NCBIdevelopset_corpus.txt")))[:400]
    on_cpu = XMRModel.load(ncbi_model_dir, device="cpu")
    device = on_stand_in(monkeypatch, ncbi_model_dir)
    texts = [mention.text for mention in dev]
    assert_same_candidates(on_cpu.score_matrix(texts, top_k=10), device.score_matrix(texts, top_k=10))
    first_ids = [ranking[0][0] for ranking in on_cpu.predict_mentions(dev) if ranking]
    assert [ranking[0][0] for ranking in device.predict_mentions(dev) if ranking] == first_ids


def test_loading_and_predicting_on_a_cpu_only_install_never_imports_cupy(synthetic_model_dir):
    code = ("import sys; import spacy_xmr, spacy; spacy.blank('en'); from spacy_xmr.xmr import XMRModel; "
            f"model = XMRModel.load({str(synthetic_model_dir)!r}); assert model.predict(['renal disease'])[0]; "
            "assert model.backend.device == 'cpu' and 'cupy' not in sys.modules, 'cupy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONNOUSERSITE": "1"})


@pytest.mark.gpu
def test_on_a_gpu_cupy_ranks_like_the_cpu(synthetic_model_dir, synthetic_mentions):
    cupy = pytest.importorskip("cupy")
    if not backend._visible_gpus(cupy):
        pytest.skip("cupy sees no CUDA device")
    texts = TEXTS + [mention.text for mention in synthetic_mentions["dev"]]
    on_gpu = XMRModel.load(synthetic_model_dir, device="cuda")
    assert on_gpu.backend.xp is cupy
    assert_same_candidates(XMRModel.load(synthetic_model_dir, device="cpu").score_matrix(texts), on_gpu.score_matrix(texts))


def test_a_cuda_device_without_cupy_fails_at_load_naming_the_install(synthetic_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(ConfigError, match=r"spacy-xmr\[gpu\]"):
        XMRModel.load(synthetic_model_dir, device="cuda:0")


def test_the_linker_checks_its_device_at_add_pipe():
    with pytest.raises(ConfigError, match="device"):
        spacy.blank("en").add_pipe("xmr_linker", config={"device": "gpu"})
