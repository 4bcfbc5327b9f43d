"""A small real slice shared by the pipeline tests: a few hundred MEDIC concepts, NCBI Disease
documents, an XMR model trained once per session, and an entity ruler built from MEDIC aliases.

Helpers are cached at module level (this module is imported once), so every pipeline test
file reuses the same trained model.
"""
from __future__ import annotations

import atexit
import functools
import random
import shutil
import tempfile
from pathlib import Path

import pytest
import spacy

from conftest import SHARED_DATA

N_CONCEPTS = 400
N_TRAIN_DOCS = 150
N_TEST_DOCS = 25
ENTITY_LABEL = "Disease"


def _path(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set SPACY_XMR_SHARED_DATA)")
    return path


@functools.lru_cache(maxsize=None)
def ncbi_collection(split: str):
    from spacy_xmr.corpus import read_corpus

    return read_corpus(_path(f"ncbi_disease/NCBI{split}_corpus.txt"))


@functools.lru_cache(maxsize=None)
def slice_ontology():
    """Every concept linked in the first train docs and the test docs, topped up with random MEDIC concepts."""
    from spacy_xmr.corpus import iter_mentions
    from spacy_xmr.ontology import Ontology, read_medic

    medic = read_medic(_path("medic/CTD_diseases.tsv.gz"))
    wanted: list[str] = []
    for mention in list(iter_mentions(ncbi_collection("trainset")))[:2000] + list(iter_mentions(ncbi_collection("testset"))):
        for gold in mention.gold_ids:
            resolved = medic.resolve(gold)
            if resolved and resolved not in wanted:
                wanted.append(resolved)
    others = [cid for cid in medic.ids if cid not in set(wanted)]
    wanted += random.Random(0).sample(others, max(0, N_CONCEPTS - len(wanted)))
    return Ontology([medic[cid] for cid in wanted[:N_CONCEPTS]], name="medic-slice")


def slice_mentions(split: str):
    """Gold mentions of `split` whose ids resolve to a slice concept (ids mapped to it)."""
    from spacy_xmr.corpus import iter_mentions

    ontology = slice_ontology()
    mentions = []
    for mention in iter_mentions(ncbi_collection(split)):
        resolved = [ontology.resolve(gold) for gold in mention.gold_ids]
        if resolved and all(resolved):
            mention.gold_ids = resolved
            mentions.append(mention)
    return mentions


@functools.lru_cache(maxsize=None)
def trained_model_dir() -> Path:
    """A real XMRModel trained on the slice and saved once per session."""
    from spacy_xmr.xmr import XMRModel

    model = XMRModel.train(slice_ontology(), slice_mentions("trainset"), progress=False)
    root = Path(tempfile.mkdtemp(prefix="xmr-slice-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    model.save(root / "model")
    return root / "model"


def ruler_pipeline(**linker_config) -> spacy.language.Language:
    """`spacy.blank("en")` + an entity ruler from the slice's MEDIC aliases + `xmr_linker`."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([
        {"label": ENTITY_LABEL, "pattern": alias} for alias, _ in slice_ontology().aliases() if len(alias) > 3
    ])
    nlp.add_pipe("xmr_linker", config={"model": str(trained_model_dir()), **linker_config})
    return nlp


def linker_only_pipeline(**linker_config) -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(trained_model_dir()), **linker_config})
    return nlp


@functools.lru_cache(maxsize=None)
def ncbi_test_texts() -> tuple[str, ...]:
    from spacy_xmr.corpus import collection_to_docs

    return tuple(doc.text for doc in collection_to_docs(ncbi_collection("testset"), spacy.blank("en"))[:N_TEST_DOCS])


def gold_examples(nlp, n_docs: int = N_TEST_DOCS):
    """NCBI test docs as Examples with gold, linked entities (tokenised by `nlp`)."""
    from spacy.training import Example

    from spacy_xmr.corpus import collection_to_docs

    references = collection_to_docs(ncbi_collection("testset"), nlp)[:n_docs]
    return [Example(nlp.make_doc(doc.text), doc) for doc in references]


def annotations(docs) -> list[list[tuple]]:
    """What the linker wrote, as plain values, for comparing runs."""
    return [
        [(ent.start_char, ent.end_char, ent.label_, ent.kb_id_, [(c, round(s, 5)) for c, s in ent._.xmr_candidates])
         for ent in doc.ents]
        for doc in docs
    ]
