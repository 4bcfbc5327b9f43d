"""Fuzz suite of the corpus readers: every mutation of a real or synthetic PubTator / BioC XML / BioC JSON
file loads or raises the project's InputFormatError naming file and line (see tests/reader_mutations.py;
benchmarks/fuzz_readers.py runs the same cases by the ten thousand)."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader_mutations import FAILURE, LOADED, MUTATIONS, check_file, real_seeds, synthetic_seeds

SYNTHETIC = synthetic_seeds()
FUZZ = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def real(ncbi_dir, bc5cdr_dir, tmp_path_factory):
    return real_seeds(ncbi_dir / "NCBItrainset_corpus.txt", bc5cdr_dir / "CDR_DevelopmentSet.PubTator.txt",
                      tmp_path_factory.mktemp("seeds"))


def _run(seeds, name, mutation, seed, tmp_path_factory):
    fmt, data = seeds[name]
    path = tmp_path_factory.mktemp("fuzz") / "corpus.txt"
    path.write_bytes(MUTATIONS[mutation](data, fmt, random.Random(seed)))
    outcome, problem = check_file(path)
    assert outcome != FAILURE, f"{name} + {mutation} (seed {seed}): {problem}"


def _assert_all_load(seeds, tmp_path):
    for name, (_, data) in seeds.items():
        path = tmp_path / f"{name}.txt"
        path.write_bytes(data)
        assert check_file(path) == (LOADED, ""), name


def test_every_synthetic_seed_loads_unmutated(tmp_path):
    _assert_all_load(SYNTHETIC, tmp_path)


def test_every_real_seed_loads_unmutated(tmp_path, real):
    _assert_all_load(real, tmp_path)


@settings(max_examples=300, **FUZZ)
@given(name=st.sampled_from(sorted(SYNTHETIC)), mutation=st.sampled_from(sorted(MUTATIONS)), seed=st.integers(0, 2**32))
def test_mutated_synthetic_files_load_or_raise_input_errors(tmp_path_factory, name, mutation, seed):
    _run(SYNTHETIC, name, mutation, seed, tmp_path_factory)


@settings(max_examples=150, **FUZZ)
@given(data=st.data(), mutation=st.sampled_from(sorted(MUTATIONS)), seed=st.integers(0, 2**32))
def test_mutated_real_files_load_or_raise_input_errors(tmp_path_factory, real, data, mutation, seed):
    _run(real, data.draw(st.sampled_from(sorted(real))), mutation, seed, tmp_path_factory)
