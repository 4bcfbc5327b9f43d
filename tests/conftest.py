"""Shared fixtures: the real corpora in ../shared/data (skipped with a reason where absent), and a small
synthetic ontology, corpus and model built here, so that the core behaviour is tested without them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SPACY_XMR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _require(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set SPACY_XMR_SHARED_DATA to a folder laid out like ../shared/data)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _require("")


@pytest.fixture(scope="session")
def ncbi_dir() -> Path:
    return _require("ncbi_disease")


@pytest.fixture(scope="session")
def medic_path() -> Path:
    return _require("medic/CTD_diseases.tsv.gz")


@pytest.fixture(scope="session")
def bc5cdr_dir() -> Path:
    return _require("bc5cdr")


@pytest.fixture(scope="session")
def medic(medic_path):
    from spacy_xmr.ontology import read_medic

    return read_medic(medic_path)


# ---- synthetic data: the same behaviour without ../shared/data (see tests/synthetic.py) --------------------
@pytest.fixture(scope="session")
def synthetic_ontology():
    """About 300 MEDIC-like concepts under a root and organ categories (shared: do not modify)."""
    from synthetic import synthetic_ontology

    return synthetic_ontology()


@pytest.fixture(scope="session")
def synthetic_ontology_path(synthetic_ontology, tmp_path_factory) -> Path:
    """The synthetic ontology saved in the project's ontology format (`.jsonl.gz`)."""
    path = tmp_path_factory.mktemp("synthetic-ontology") / "ontology.jsonl.gz"
    synthetic_ontology.to_disk(path)
    return path


@pytest.fixture(scope="session")
def synthetic_corpus_dir(synthetic_ontology, tmp_path_factory) -> Path:
    """A folder with `train.xml` (60 documents) and `dev.xml` (20) in BioC XML, mentions typed `Disease`."""
    from synthetic import write_corpus

    directory = tmp_path_factory.mktemp("synthetic-corpus")
    write_corpus(synthetic_ontology, directory)
    return directory


@pytest.fixture(scope="session")
def synthetic_mentions(synthetic_corpus_dir) -> dict:
    """{"train": [...], "dev": [...]}: the gold-linked mentions of each synthetic split."""
    from spacy_xmr.corpus import iter_mentions, read_corpus

    return {split: [m for m in iter_mentions(read_corpus(synthetic_corpus_dir / f"{split}.xml")) if m.gold_ids]
            for split in ("train", "dev")}


@pytest.fixture(scope="session")
def synthetic_model(synthetic_ontology, synthetic_mentions):
    """An XMRModel trained on the synthetic ontology and train mentions with a small tree (shared: do not modify)."""
    from synthetic import train_model

    return train_model(synthetic_ontology, synthetic_mentions["train"])


@pytest.fixture(scope="session")
def synthetic_model_dir(synthetic_model, tmp_path_factory) -> Path:
    """`synthetic_model` saved: a model folder as `spacy-xmr train` writes it."""
    directory = tmp_path_factory.mktemp("synthetic-model") / "model"
    synthetic_model.save(directory)
    return directory
