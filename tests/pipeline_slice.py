"""The synthetic slice shared by the pipeline tests: the ontology and corpus of tests/synthetic.py, an XMR model
trained once per session, and an entity ruler built from the ontology's aliases. No ../shared/data needed
(tests/test_pipeline_real_data.py runs the pipeline on a real MEDIC and NCBI Disease slice).

Helpers are cached at module level (this module is imported once), so every pipeline test
file reuses the same trained model.
"""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import spacy

from synthetic import ENTITY_TYPE as ENTITY_LABEL
from synthetic import ROOT_ID, split_collection, synthetic_ontology, train_model


@functools.lru_cache(maxsize=None)
def slice_ontology():
    return synthetic_ontology()


@functools.lru_cache(maxsize=None)
def slice_collection(split: str):
    """The synthetic `train` or `dev` BioC collection (treat as read-only)."""
    return split_collection(slice_ontology(), split)


@functools.lru_cache(maxsize=None)
def trained_model_dir() -> Path:
    """An XMRModel trained on the train split's gold mentions and saved once per session."""
    from spacy_xmr.corpus import iter_mentions

    model = train_model(slice_ontology(), [m for m in iter_mentions(slice_collection("train")) if m.gold_ids])
    root = Path(tempfile.mkdtemp(prefix="xmr-slice-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    model.save(root / "model")
    return root / "model"


def concept_names(n: int, avoid_word: str = "") -> list[str]:
    """Names of `n` diseases that no other concept shares as an alias (and without `avoid_word`): text to link."""
    ontology = slice_ontology()
    names = [concept.name for concept in ontology if concept.parents and concept.parents != [ROOT_ID]
             and ontology.ids_for_alias(concept.name) == [concept.id] and avoid_word not in concept.name.split()]
    return names[:n]


def ruler_pipeline(**linker_config) -> spacy.language.Language:
    """`spacy.blank("en")` + an entity ruler from the ontology's aliases + `xmr_linker`."""
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
def sample_texts() -> tuple[str, ...]:
    """The dev documents' texts (20)."""
    from spacy_xmr.corpus import collection_to_docs

    return tuple(doc.text for doc in collection_to_docs(slice_collection("dev"), spacy.blank("en")))


def gold_examples(nlp, n_docs: int = 20):
    """Dev documents as Examples with gold, linked entities (tokenised by `nlp`)."""
    from spacy.training import Example

    from spacy_xmr.corpus import collection_to_docs

    references = collection_to_docs(slice_collection("dev"), nlp)[:n_docs]
    return [Example(nlp.make_doc(doc.text), doc) for doc in references]


def annotations(docs) -> list[list[tuple]]:
    """What the linker wrote, as plain values, for comparing runs."""
    return [
        [(ent.start_char, ent.end_char, ent.label_, ent.kb_id_, [(c, round(s, 5)) for c, s in ent._.xmr_candidates])
         for ent in doc.ents]
        for doc in docs
    ]
