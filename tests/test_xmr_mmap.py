"""A loaded XMR model keeps its large arrays memory-mapped read-only (processes that load one model share them in
the page cache); prediction never writes them, nor reads the ontology file (the parent channel's hierarchy is saved);
folders of the older `.npz` format, or without the saved hierarchy, still load and predict the same."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from model_formats import memory_mapped, to_format_3, to_transposed_weights

from synthetic import XMR_CONFIG

from spacy_xmr.errors import ModelLoadError, SpacyXmrError
from spacy_xmr.ontology import Ontology
from spacy_xmr.xmr import XMRConfig, XMRModel
from spacy_xmr.xmr.format_versions import FORMAT_VERSION
from spacy_xmr.xmr.model import ONTOLOGY_FILE

TEXTS = ["cardiac disease", "Renal Diseases", "nephritis syndrome type 2", "hepatomegaly", "zzz unknown", ""]


def stored_matrices(model: XMRModel) -> dict[str, sp.csr_matrix]:
    """The model's matrices that its files hold, by name."""
    matrices = {"alias_features": model.examples.features, "alias_labels": model.examples.labels,
                "term_index": model.channels["nearest"].term_index(), "word_labels": model.channels["word_key"]._word_labels}
    for i, layer in enumerate(model.channels["tree"].layers):
        matrices[f"layer_{i}"] = layer.weights
    return matrices


def stored_blocks(model: XMRModel) -> dict[str, np.ndarray]:
    """The arrays of the tree's weights grouped by parent, by layer and name."""
    return {f"layer_{i} {name}": array for i, layer in enumerate(model.channels["tree"].layers)
            for name, array in layer.blocks().arrays("").items()}


def fingerprint(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file of `directory`: its modification time and a hash of its content."""
    return {path.relative_to(directory).as_posix(): (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture()
def model_copy(synthetic_model_dir, tmp_path) -> Path:
    shutil.copytree(synthetic_model_dir, tmp_path / "model")
    return tmp_path / "model"


def test_a_loaded_model_maps_its_matrices_read_only_without_copying_them(synthetic_model_dir):
    loaded = XMRModel.load(synthetic_model_dir)
    for name, matrix in stored_matrices(loaded).items():
        for part in (matrix.data, matrix.indices, matrix.indptr):
            assert memory_mapped(part) and not part.flags.writeable, name
        assert matrix.has_canonical_format, name
    for name, array in stored_blocks(loaded).items():
        assert memory_mapped(array) and not array.flags.writeable, name


def test_prediction_on_a_mapped_model_matches_the_trained_model_and_writes_no_file(synthetic_model, synthetic_mentions, model_copy):
    before = fingerprint(model_copy)
    loaded = XMRModel.load(model_copy, n_jobs=2)
    mentions = synthetic_mentions["dev"]
    assert loaded.predict(TEXTS, top_k=10) == synthetic_model.predict(TEXTS, top_k=10)
    assert loaded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
    assert loaded.channel_scores(mentions[:20], top_k=10) == synthetic_model.channel_scores(mentions[:20], top_k=10)
    assert fingerprint(model_copy) == before


def test_a_format_3_folder_loads_into_memory_predicts_the_same_and_saves_as_the_current_format(
        synthetic_model, synthetic_mentions, model_copy, tmp_path):
    to_format_3(model_copy)
    assert (model_copy / "layer_0.npz").is_file() and not (model_copy / "layer_0").exists()
    old = XMRModel.load(model_copy)
    assert not memory_mapped(old.examples.features.data)
    mentions = synthetic_mentions["dev"]
    assert old.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
    old.save(tmp_path / "upgraded")
    assert json.loads((tmp_path / "upgraded" / "xmr.json").read_text())["format_version"] == FORMAT_VERSION
    upgraded = XMRModel.load(tmp_path / "upgraded")
    assert memory_mapped(upgraded.examples.features.data)
    assert upgraded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)


def test_a_folder_with_transposed_weights_builds_its_blocks_predicts_the_same_and_saves_them(
        synthetic_model, synthetic_mentions, model_copy, tmp_path):
    """Format 4 first saved each layer's weights transposed: such a folder still loads, builds the weights grouped by
    parent from them on first use, and saves those in their place."""
    to_transposed_weights(model_copy)
    old = XMRModel.load(model_copy)
    mentions = synthetic_mentions["dev"]
    assert old.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
    old.save(tmp_path / "upgraded")
    assert not list((tmp_path / "upgraded").glob("layer_*/by_node_*")) and list((tmp_path / "upgraded").glob("layer_*/blocks_*"))
    upgraded = XMRModel.load(tmp_path / "upgraded")
    assert all(memory_mapped(array) for array in stored_blocks(upgraded).values())
    assert upgraded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)


def test_a_mapped_model_saves_over_its_own_folder(synthetic_model, model_copy):
    """The folder is replaced by a new one (atomic rename): the mapped files of the loaded model stay valid."""
    loaded = XMRModel.load(model_copy)
    loaded.save(model_copy)
    assert loaded.predict(TEXTS, top_k=10) == synthetic_model.predict(TEXTS, top_k=10)
    assert XMRModel.load(model_copy).predict(TEXTS, top_k=10) == synthetic_model.predict(TEXTS, top_k=10)


def test_a_loaded_model_saves_its_ontology_by_copying_the_file_unread(model_copy, tmp_path):
    loaded = XMRModel.load(model_copy)
    loaded.save(tmp_path / "copy")
    assert not loaded._ontology.is_read
    assert (tmp_path / "copy" / ONTOLOGY_FILE).read_bytes() == (model_copy / ONTOLOGY_FILE).read_bytes()


def test_training_into_a_folder_returns_the_model_mapped_from_it_as_trained_in_memory(synthetic_ontology, synthetic_mentions,
                                                                                      tmp_path, monkeypatch):
    """The trained arrays go through a staging folder beside the output and come back mapped before the indexes are
    built and the confidence calibrated; that calibration uses the ontology in memory, never its file."""
    train, dev = synthetic_mentions["train"], synthetic_mentions["dev"][:60]
    in_memory = XMRModel.train(synthetic_ontology, train, XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1, validation=dev)

    def read_again(cls, path):
        raise AssertionError(f"training read {path} again")

    monkeypatch.setattr(Ontology, "from_disk", classmethod(read_again))
    trained = XMRModel.train(synthetic_ontology, train, XMRConfig.from_dict(XMR_CONFIG), progress=False, n_jobs=1,
                             validation=dev, output=tmp_path / "model")
    monkeypatch.undo()
    assert [path.name for path in tmp_path.iterdir()] == ["model"]  # the staging folder is gone
    assert trained._directory == (tmp_path / "model").resolve()
    for name, matrix in stored_matrices(trained).items():
        assert memory_mapped(matrix.data), name
    assert trained.predict_mentions(dev, top_k=10) == in_memory.predict_mentions(dev, top_k=10)
    assert trained.calibrator.to_dict() == in_memory.calibrator.to_dict()
    assert trained.stats["calibration"] == in_memory.stats["calibration"]
    assert trained.ontology.ids == in_memory.ontology.ids


def test_a_loaded_model_links_without_reading_its_ontology_and_reads_it_when_asked(synthetic_model, synthetic_mentions, model_copy):
    loaded = XMRModel.load(model_copy)
    mentions = synthetic_mentions["dev"][:30]
    assert loaded.channel_scores(mentions, top_k=10) == synthetic_model.channel_scores(mentions, top_k=10)
    assert not loaded._ontology.is_read
    assert memory_mapped(loaded.parent._parents.data)
    assert len(loaded.ontology) == len(synthetic_model.ontology) and loaded._ontology.is_read


def test_a_model_folder_without_the_saved_hierarchy_builds_it_from_its_ontology(synthetic_model, synthetic_mentions, model_copy):
    shutil.rmtree(model_copy / "hierarchy")
    loaded = XMRModel.load(model_copy)
    mentions = synthetic_mentions["dev"]
    assert loaded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
    assert loaded._ontology.is_read


def test_a_missing_ontology_file_fails_the_load_and_a_damaged_one_its_first_reading(model_copy):
    ontology_file = model_copy / "ontology.jsonl.gz"
    saved = ontology_file.read_bytes()
    ontology_file.unlink()
    with pytest.raises(ModelLoadError, match="ontology.jsonl.gz"):
        XMRModel.load(model_copy)
    ontology_file.write_bytes(saved[: len(saved) // 2])
    loaded = XMRModel.load(model_copy)
    assert loaded.predict(TEXTS, top_k=10)  # linking does not read it
    with pytest.raises(SpacyXmrError, match="ontology.jsonl.gz"):
        loaded.ontology


def test_a_loaded_model_counts_n_grams_from_mapped_tables_and_reads_its_vocabulary_only_to_explain(synthetic_model, synthetic_mentions,
                                                                                                  model_copy):
    loaded = XMRModel.load(model_copy)
    blocks = (loaded.featurizer.char_block, loaded.featurizer.word_block)
    mentions = synthetic_mentions["dev"]
    assert loaded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)
    for block, trained in zip(blocks, (synthetic_model.featurizer.char_block, synthetic_model.featurizer.word_block)):
        assert callable(block._vocabulary) and memory_mapped(block._counter._keys) and memory_mapped(block._counter._columns)
        assert len(block) == len(trained)
        assert block.vocabulary == trained.vocabulary and not callable(block._vocabulary)  # read when asked


def test_a_model_folder_without_the_counter_tables_counts_from_its_vocabulary(synthetic_model, synthetic_mentions, model_copy):
    for name in ("char", "word"):
        shutil.rmtree(model_copy / f"{name}_ngram_keys")
    loaded = XMRModel.load(model_copy)
    assert not callable(loaded.featurizer.char_block._vocabulary)
    mentions = synthetic_mentions["dev"]
    assert loaded.predict_mentions(mentions, top_k=10) == synthetic_model.predict_mentions(mentions, top_k=10)


def test_counter_tables_of_another_vocabulary_fail_the_load_naming_them(model_copy):
    tables = json.loads((model_copy / "word_ngram_keys" / "units.json").read_text())
    (model_copy / "word_ngram_keys" / "units.json").write_text(json.dumps({**tables, "n_columns": tables["n_columns"] + 1}))
    with pytest.raises(ModelLoadError, match="word_ngram_keys holds .* terms but idf"):
        XMRModel.load(model_copy)


def test_a_loaded_model_maps_its_strings_and_finds_them_without_a_dict(synthetic_model, synthetic_mentions, model_copy):
    loaded = XMRModel.load(model_copy)
    tables = {"alias keys": loaded.examples.keys, "word keys": loaded.channels["word_key"]._word_keys,
              "concept ids": loaded.concept_table}
    for name, table in tables.items():
        assert memory_mapped(table._data) and memory_mapped(table._hashes), name
    assert list(tables["concept ids"]) == synthetic_model.concept_ids
    assert list(tables["alias keys"]) == list(synthetic_model.examples.keys)
    mentions = synthetic_mentions["dev"]
    assert loaded.channel_scores(mentions, top_k=10) == synthetic_model.channel_scores(mentions, top_k=10)


@pytest.mark.parametrize("table", ["alias_key_table", "word_key_table", "concept_id_table"])
def test_a_model_folder_saved_before_string_tables_reads_its_json_lists(synthetic_model, synthetic_mentions, model_copy, table):
    shutil.rmtree(model_copy / table)
    loaded = XMRModel.load(model_copy)
    mentions = synthetic_mentions["dev"]
    assert loaded.channel_scores(mentions, top_k=10) == synthetic_model.channel_scores(mentions, top_k=10)

