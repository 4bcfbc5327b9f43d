"""Shared fixtures: the real corpora in ../shared/data, skipped with a reason where absent."""
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
