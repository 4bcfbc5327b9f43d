"""The xmr_linker's prediction settings: checked at add_pipe, applied to the model it loads, kept by to_disk/spacy.load,
and never written into the model's own files. On the synthetic model, so no shared data is needed."""
from __future__ import annotations

import json

import pytest
import spacy

from spacy_xmr.errors import ConfigError
from spacy_xmr.xmr import XMRModel

SETTINGS = {"document_candidates": 0, "channel_weights": {"tree": 0.5, "parent": 0.0}, "n_jobs": 1, "max_postings": 2,
            "tree_candidates": 3}


def pipeline(model_dir, mention_texts: list[str], **settings):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "Disease", "pattern": text} for text in mention_texts])
    nlp.add_pipe("xmr_linker", config={"model": str(model_dir), "top_k": 12, **settings})
    return nlp


def candidates(nlp, texts: list[str]) -> list:
    return [[ent._.xmr_candidates for ent in doc.ents] for doc in nlp.pipe(texts)]


@pytest.fixture(scope="module")
def documents(synthetic_mentions):
    mentions = synthetic_mentions["dev"]
    texts = sorted({m.text for m in mentions if " " in m.text})[:15]
    return texts, [f"Patients with {a} and with {b} were seen." for a, b in zip(texts, texts[1:])]


@pytest.mark.parametrize("key,value", [
    ("document_candidates", -1), ("channel_weights", {"trees": 1.0}), ("dense_device", "gpu"), ("n_jobs", 0), ("max_postings", -1),
    ("tree_candidates", -1),
])
def test_a_bad_setting_fails_at_add_pipe_naming_the_key(synthetic_model_dir, key, value):
    with pytest.raises(ConfigError, match=rf"\[components.xmr_linker\].*{key}"):
        pipeline(synthetic_model_dir, [], **{key: value})


def test_settings_reach_the_model_and_survive_to_disk_and_spacy_load(synthetic_model_dir, documents, tmp_path):
    mention_texts, texts = documents
    nlp = pipeline(synthetic_model_dir, mention_texts, **SETTINGS)
    model = nlp.get_pipe("xmr_linker").get_model()
    assert model.prediction_config.fusion.document_candidates == 0 and model.prediction_config.fusion.tree_weight == 0.5
    assert model.prediction_config.nearest.max_postings == 2 and model.config.nearest.max_postings == 0
    assert model.prediction_config.nearest.tree_candidates == 3
    linked = candidates(nlp, texts)
    plain = candidates(pipeline(synthetic_model_dir, mention_texts), texts)
    assert sum(len(c) for c in linked) >= len(texts) and linked != plain
    nlp.to_disk(tmp_path / "nlp")
    saved_config = json.loads((tmp_path / "nlp" / "xmr_linker" / "model" / "xmr.json").read_text())["config"]
    assert saved_config == XMRModel.load(synthetic_model_dir).config.to_dict()  # the model's own files are unchanged
    again = spacy.load(tmp_path / "nlp")
    linker = again.get_pipe("xmr_linker")
    assert {key: linker.cfg[key] for key in SETTINGS} == SETTINGS
    assert linker.get_model().settings == model.settings
    assert candidates(again, texts) == linked

