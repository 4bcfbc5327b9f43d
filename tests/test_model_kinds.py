"""A model folder of the wrong kind is named for what it is, at add_pipe and at load, with the folder to give."""
from __future__ import annotations

import shutil

import pytest
import spacy

from spacy_xmr.errors import ConfigError, ModelLoadError
from spacy_xmr.ranking.model import LearnedRanker
from spacy_xmr.xmr import XMRModel


def test_an_xmr_model_given_to_the_reranker_is_named_at_add_pipe(synthetic_model_dir):
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=r"xmr_reranker\] model = .* holds an XMR model \(xmr.json\), not a cross-encoder "
                                          r"reranker; give a folder written by `spacy-xmr train-reranker`"):
        nlp.add_pipe("xmr_reranker", config={"model": str(synthetic_model_dir)})
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    with pytest.raises(ConfigError, match="holds an XMR model .*not a learned ranker.*train-ranker"):
        nlp.add_pipe("xmr_ranker", config={"model": str(synthetic_model_dir)})
    assert nlp.pipe_names == ["xmr_linker"]


def test_a_pipeline_folder_given_as_the_model_names_its_component_model(synthetic_model_dir, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    nlp.to_disk(tmp_path / "pipeline")
    with pytest.raises(ConfigError, match=r"is a spaCy pipeline folder, not an XMR model; give the model folder of its "
                                          r"component \(.*pipeline/xmr_linker/model\)"):
        spacy.blank("en").add_pipe("xmr_linker", config={"model": str(tmp_path / "pipeline")})


def test_a_training_folder_points_to_its_best_model(tmp_path):
    """`train-reranker --output` writes model-best/ inside; the output folder itself is not the model."""
    (tmp_path / "run" / "model-best").mkdir(parents=True)
    (tmp_path / "run" / "model-best" / "reranker.json").write_text("{}", encoding="utf8")
    with pytest.raises(ConfigError, match=r"is a training output folder; give the model in it: .*run/model-best"):
        spacy.blank("en").add_pipe("xmr_reranker", config={"model": str(tmp_path / "run")})
    (tmp_path / "run" / "checkpoint").mkdir()
    with pytest.raises(ConfigError, match=r"checkpoint is not a cross-encoder reranker folder; give the training's model beside "
                                          r"it: .*run/model-best"):
        spacy.blank("en").add_pipe("xmr_reranker", config={"model": str(tmp_path / "run" / "checkpoint")})


def test_loaders_name_the_kind_they_found(synthetic_model_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="holds an XMR model .*not a learned ranker"):
        LearnedRanker.load(synthetic_model_dir)
    ranker_like = tmp_path / "ranker"
    shutil.copytree(synthetic_model_dir, ranker_like)
    (ranker_like / "xmr.json").rename(ranker_like / "ranker.json")
    with pytest.raises(ModelLoadError, match="holds a learned ranker .*ranker.json.*not an XMR model.*train-xmr"):
        XMRModel.load(ranker_like)
    with pytest.raises(ModelLoadError, match="missing does not exist .*train-xmr"):
        XMRModel.load(tmp_path / "missing")
