"""The garbage collector paused while a component links a batch, and candidates stored out of its watch."""
from __future__ import annotations

import gc

import pytest

from spacy_xmr.pipeline.collector import collector_paused
from spacy_xmr.pipeline.extensions import _key
from pipeline_slice import ruler_pipeline, sample_texts


def test_paused_inside_and_running_again_after_even_on_an_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a batch failed")
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_linker_ranks_each_batch_with_the_collector_paused(monkeypatch):
    nlp = ruler_pipeline()
    linker = nlp.get_pipe("xmr_linker")
    seen, rank = [], linker._rank
    monkeypatch.setattr(linker, "_rank", lambda spans: seen.append(gc.isenabled()) or rank(spans))
    docs = list(nlp.pipe(sample_texts(), batch_size=2)) + [nlp(sample_texts()[0])]
    assert seen and not any(seen) and gc.isenabled()
    assert any(ent._.xmr_candidates for doc in docs for ent in doc.ents)


def test_stored_candidates_leave_the_collectors_watch():
    """Tuples of strings and floats are untracked by the collector's first pass; lists would be walked by every full pass."""
    doc = next(doc for doc in ruler_pipeline().pipe(sample_texts()) if doc.ents)
    gc.collect()
    stored = [doc.user_data[_key(ent)] for ent in doc.ents]
    assert stored and not any(gc.is_tracked(value) for value in stored)
