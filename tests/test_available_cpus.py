"""How many CPUs the XMR stage and the ranker use: the affinity mask, capped by OMP_NUM_THREADS (which Ray sets to an
actor's num_cpus)."""
import os

import pytest

from spacy_xmr.xmr.parallel import available_cpus


def _mask() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_without_omp_num_threads_every_cpu_of_the_mask_is_used(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert available_cpus() == _mask()


def test_omp_num_threads_caps_the_cpus(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert available_cpus() == 1


def test_omp_num_threads_above_the_mask_does_not_raise_it(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", str(_mask() + 8))
    assert available_cpus() == _mask()


@pytest.mark.parametrize("value", ["", "0", "four", "-2"])
def test_an_unusable_omp_num_threads_is_ignored(monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert available_cpus() == _mask()
