"""The training features written to disk as they are computed and memory-mapped (`feature_store.py`): the same rows,
and the same trained model, as with the matrix in memory; no file left behind."""
from __future__ import annotations

import contextlib
import filecmp
import json

import numpy as np
import pytest
import scipy.sparse as sp
from model_formats import memory_mapped

from spacy_xmr.xmr import XMRConfig, XMRModel, features, model
from spacy_xmr.xmr.config import FeatureConfig
from spacy_xmr.xmr.feature_store import DiskShelf, FeatureStore
from spacy_xmr.xmr.features import Featurizer

TEXTS = ["type 1 diabetes", "a t", "breast cancer", "dm", "hereditary nonpolyposis colorectal cancer", "g6pd deficiency",
         "cancer of the breast", "diabetes type 2", "colorectal cancer", "g6pd"]


def test_rows_written_to_the_store_are_the_rows_in_memory_mapped_read_only(monkeypatch, tmp_path):
    monkeypatch.setattr(features, "COUNT_CHUNK", 3)  # four count chunks per block wait on disk
    config = FeatureConfig(min_df=2)  # the vocabulary drops n-grams after counting
    expected_featurizer, expected = Featurizer.fit_transform(TEXTS, config)
    with FeatureStore(tmp_path) as store:
        featurizer, stored = Featurizer.fit_transform(TEXTS, config, store=store)
    assert not list(tmp_path.iterdir())  # the folder is gone, the mapping stays readable
    assert featurizer.char_block.vocabulary == expected_featurizer.char_block.vocabulary
    assert np.array_equal(featurizer.word_block.idf, expected_featurizer.word_block.idf)
    for part in ("data", "indices", "indptr"):
        array = getattr(stored, part)
        assert memory_mapped(array) and not array.flags.writeable
        assert array.dtype == getattr(expected, part).dtype and np.array_equal(array, getattr(expected, part)), part
    assert stored.shape == expected.shape and stored.has_canonical_format
    assert abs(stored[[1, 7]] @ stored.T - expected[[1, 7]] @ expected.T).max() == 0  # scipy reads it as any matrix


def test_a_disk_shelf_hands_back_its_chunks_in_order_and_removes_them(tmp_path):
    rng = np.random.default_rng(5)
    chunks = [sp.random(n, 6, density=0.5, format="csr", dtype=np.float32, random_state=rng) for n in (4, 0, 2)]
    shelf = DiskShelf(tmp_path / "shelf")
    for chunk in chunks:
        shelf.put(chunk)
    for taken, chunk in zip(shelf.taken(), chunks, strict=True):
        assert taken.shape == chunk.shape and (taken != chunk).nnz == 0
        taken.data[:] = 1  # writable: the counts are renumbered and weighed in place
    assert not list((tmp_path / "shelf").iterdir())


def test_writing_rows_that_do_not_fill_the_matrix_fails(tmp_path):
    chunks = [sp.random(3, 5, density=0.6, format="csr", dtype=np.float32, random_state=1)]
    nnz = chunks[0].nnz
    with FeatureStore(tmp_path) as store, pytest.raises(ValueError, match=f"{nnz} values written to an array of {nnz + 1}"):
        store.write_rows(iter(chunks), (3, 5), nnz + 1)
    with FeatureStore(tmp_path) as store, pytest.raises(ValueError, match="written to an array of 4"):
        store.write_rows(iter(chunks * 2), (3, 5), 2 * nnz)  # six rows in a matrix of three: indptr overflows
    with FeatureStore(tmp_path) as store, pytest.raises(ValueError, match="a chunk of 5 columns in a matrix of 4"):
        store.write_rows(iter(chunks), (3, 4), nnz)
    assert not list(tmp_path.iterdir())


def test_training_with_the_mapped_features_gives_the_model_trained_in_memory(monkeypatch, synthetic_ontology, synthetic_mentions,
                                                                            tmp_path):
    from synthetic import XMR_CONFIG

    config = XMRConfig.from_dict(XMR_CONFIG)
    train = synthetic_mentions["train"]
    mapped = XMRModel.train(synthetic_ontology, train, config, progress=False, n_jobs=2, work_dir=tmp_path / "work")
    assert memory_mapped(mapped.examples.features.data) and not list((tmp_path / "work").iterdir())
    monkeypatch.setattr(model, "FeatureStore", lambda work_dir: contextlib.nullcontext())  # the rows in memory, as before
    in_memory = XMRModel.train(synthetic_ontology, train, config, progress=False, n_jobs=2)
    assert not memory_mapped(in_memory.examples.features.data)
    mapped.save(tmp_path / "mapped")
    in_memory.save(tmp_path / "in_memory")
    arrays = sorted(path.relative_to(tmp_path / "mapped") for path in (tmp_path / "mapped").rglob("*.npy"))
    assert any(path.parts[0] == "layer_2" for path in arrays)
    assert all(filecmp.cmp(tmp_path / "mapped" / path, tmp_path / "in_memory" / path, shallow=False) for path in arrays)
    layer_sizes = [json.loads((tmp_path / name / "xmr.json").read_text())["stats"]["layer_nonzeros"] for name in ("mapped", "in_memory")]
    assert layer_sizes[0] == layer_sizes[1]


@pytest.mark.parametrize("bucket_cells", [1, 7, 10_000])
def test_rows_written_in_a_new_order_are_the_rows_gathered_in_that_order(tmp_path, bucket_cells):
    rng = np.random.default_rng(11)
    matrix = sp.random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    matrix = sp.vstack([matrix, sp.csr_matrix(np.ones((1, 30), np.float32)), sp.csr_matrix((2, 30), dtype=np.float32)], format="csr")
    order = rng.permutation(matrix.shape[0])  # a row longer than a bucket, and empty rows, among the others
    with FeatureStore(tmp_path) as store:
        ordered = store.write_rows_in_order(matrix, order, bucket_cells)
    assert not list(tmp_path.iterdir())
    expected = matrix[order]
    assert memory_mapped(ordered.data) and ordered.shape == expected.shape
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(ordered, part), getattr(expected, part)), part


def test_no_rows_written_in_order_give_an_empty_matrix(tmp_path):
    with FeatureStore(tmp_path) as store:
        ordered = store.write_rows_in_order(sp.csr_matrix((0, 4), dtype=np.float32), np.empty(0, dtype=np.int64))
    assert ordered.shape == (0, 4) and ordered.nnz == 0
