"""The second layer of the pipeline tests: xmr_linker on a real slice (a few hundred MEDIC concepts, an XMR model
trained on NCBI Disease train mentions), linking NCBI Disease test documents. Skipped without ../shared/data;
the behaviour itself is tested on synthetic data in test_pipeline_linker.py and test_pipeline_serialization.py."""
from __future__ import annotations

import random

import pytest
import spacy
from spacy.training import Example

from spacy_xmr.corpus import collection_to_docs, iter_mentions, read_corpus
from spacy_xmr.ontology import Ontology
from spacy_xmr.pipeline import examples_with_gold_entities
from spacy_xmr.xmr import XMRModel

N_CONCEPTS = 400
N_TEST_DOCS = 25


@pytest.fixture(scope="module")
def ncbi(ncbi_dir):
    return {split: read_corpus(ncbi_dir / f"NCBI{split}_corpus.txt") for split in ("trainset", "testset")}


@pytest.fixture(scope="module")
def real_slice(medic, ncbi) -> Ontology:
    """Every concept linked in the first train mentions and the test set, topped up with random MEDIC concepts."""
    wanted: dict[str, None] = {}
    for mention in list(iter_mentions(ncbi["trainset"]))[:2000] + list(iter_mentions(ncbi["testset"])):
        wanted.update((resolved, None) for resolved in map(medic.resolve, mention.gold_ids) if resolved)
    others = [cid for cid in medic.ids if cid not in wanted]
    ids = [*wanted, *random.Random(0).sample(others, max(0, N_CONCEPTS - len(wanted)))][:N_CONCEPTS]
    return Ontology([medic[cid] for cid in ids], name="medic-slice")


@pytest.fixture(scope="module")
def model_dir(real_slice, ncbi, tmp_path_factory):
    """An XMR model trained on the slice's aliases and the NCBI train mentions of its concepts."""
    train = [m for m in iter_mentions(ncbi["trainset"]) if m.gold_ids and all(map(real_slice.resolve, m.gold_ids))]
    directory = tmp_path_factory.mktemp("real-slice") / "model"
    XMRModel.train(real_slice, train, progress=False).save(directory)
    return directory


@pytest.fixture(scope="module")
def nlp(real_slice, model_dir):
    """An entity ruler from the slice's aliases, then xmr_linker."""
    pipeline = spacy.blank("en")
    ruler = pipeline.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "Disease", "pattern": alias} for alias, _ in real_slice.aliases() if len(alias) > 3])
    pipeline.add_pipe("xmr_linker", config={"model": str(model_dir)})
    return pipeline


@pytest.fixture(scope="module")
def test_references(nlp, ncbi):
    return collection_to_docs(ncbi["testset"], nlp)[:N_TEST_DOCS]


def test_ruler_entities_on_ncbi_test_are_mostly_linked_to_the_alias_they_match(nlp, real_slice, test_references):
    ents = [ent for doc in nlp.pipe(doc.text for doc in test_references) for ent in doc.ents]
    exact = [ent for ent in ents if real_slice.ids_for_alias(ent.text)]
    assert len(exact) > 50
    assert sum(ent.kb_id_ in real_slice.ids_for_alias(ent.text) for ent in exact) / len(exact) > 0.9


def test_ncbi_test_gold_mentions_are_found_in_the_top_10(model_dir, test_references):
    linker = spacy.blank("en")
    linker.add_pipe("xmr_linker", config={"model": str(model_dir)})
    examples = [Example(linker.make_doc(doc.text), doc) for doc in test_references]
    scores = linker.evaluate(examples_with_gold_entities(linker, examples))
    assert scores["xmr_recall_at_10"] > 0.6  # test mentions of concepts the slice model was trained on
    assert scores["xmr_recall_at_1"] <= scores["xmr_recall_at_10"]
