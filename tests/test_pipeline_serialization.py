"""Saving and loading pipelines with xmr_linker: disk, bytes, new processes, packages, bad dirs."""
from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import textwrap

import pytest
import spacy
from spacy.lang.en import English

from spacy_xmr.errors import ModelLoadError
from spacy_xmr.pipeline import examples_with_gold_entities
from pipeline_slice import (
    annotations, gold_examples, linker_only_pipeline, ruler_pipeline, sample_texts, trained_model_dir,
)

# run in a fresh interpreter: forbid the network and unpickling while loading, print the annotations. numba alone may
# unpickle: what it cached of the machine code it compiled on this machine (`xmr/compiled_loops.py`), not a file of
# the pipeline.
LOAD_AND_ANNOTATE = textwrap.dedent("""
    import json, pickle, socket, sys
    unpickle = pickle.load, pickle.loads
    def forbidden(*args, **kwargs):
        raise RuntimeError("network or pickle used while loading a pipeline")
    def numba_cache_only(load):
        def guarded(*args, **kwargs):
            if not sys._getframe(1).f_globals.get("__name__", "").startswith("numba."):
                forbidden()
            return load(*args, **kwargs)
        return guarded
    pickle.load, pickle.loads = (numba_cache_only(load) for load in unpickle)
    socket.socket.connect = forbidden
    import spacy
    nlp = spacy.load(sys.argv[1])
    texts = json.loads(sys.stdin.read())
    print(json.dumps([
        [[e.start_char, e.end_char, e.label_, e.kb_id_, [[c, round(s, 5)] for c, s in e._.xmr_candidates]] for e in doc.ents]
        for doc in nlp.pipe(texts)
    ]))
""")


@pytest.fixture(scope="module")
def texts():
    return list(sample_texts())[:12]


def _as_json(value):
    return json.loads(json.dumps(value))


def _pipeline_with_own_model_copy(tmp_path):
    """A pipeline whose configured model directory the test may delete afterwards."""
    model_copy = tmp_path / "original-model"
    shutil.copytree(trained_model_dir(), model_copy)
    return ruler_pipeline(model=str(model_copy)), model_copy


def test_to_disk_then_load_in_new_process_gives_identical_predictions(tmp_path, texts):
    nlp, model_copy = _pipeline_with_own_model_copy(tmp_path)
    expected = _as_json(annotations(nlp.pipe(texts)))
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "xmr_linker" / "model").is_dir()
    shutil.rmtree(model_copy)  # as on another machine: the configured path is gone
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_ANNOTATE, str(tmp_path / "pipeline")],
        input=json.dumps(texts), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_loaded_pipeline_can_be_saved_again(tmp_path, texts):
    nlp = ruler_pipeline()
    nlp.to_disk(tmp_path / "first")
    loaded = spacy.load(tmp_path / "first")
    loaded.to_disk(tmp_path / "second")
    loaded.to_disk(tmp_path / "first")  # over the directory it was loaded from
    expected = annotations(nlp.pipe(texts))
    assert annotations(spacy.load(tmp_path / "second").pipe(texts)) == expected
    assert annotations(spacy.load(tmp_path / "first").pipe(texts)) == expected


def test_never_loaded_model_is_copied_on_save(tmp_path, texts):
    nlp = ruler_pipeline()
    assert nlp.get_pipe("xmr_linker")._model is None
    nlp.to_disk(tmp_path / "pipeline")
    assert nlp.get_pipe("xmr_linker")._model is None  # saving did not load it
    assert annotations(spacy.load(tmp_path / "pipeline").pipe(texts)) == annotations(nlp.pipe(texts))


def test_to_bytes_from_bytes():
    # linker alone on gold entities: spaCy's entity_ruler loses phrase_matcher_attr in from_bytes
    nlp = linker_only_pipeline()
    gold_docs = [eg.predicted for eg in examples_with_gold_entities(nlp, gold_examples(nlp, n_docs=8))]
    expected = annotations(nlp.pipe(doc.copy() for doc in gold_docs))
    restored = English.from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert annotations(restored.pipe(doc.copy() for doc in gold_docs)) == expected
    fresh = spacy.blank("en")
    fresh.add_pipe("xmr_linker").from_bytes(nlp.get_pipe("xmr_linker").to_bytes())
    assert annotations(fresh.pipe(doc.copy() for doc in gold_docs)) == expected


def test_component_pickles_for_multiprocessing(texts):
    nlp = ruler_pipeline()
    linker = nlp.get_pipe("xmr_linker")
    linker.get_model()
    docs = [nlp.get_pipe("entity_ruler")(nlp.make_doc(text)) for text in texts[:3]]
    assert pickle.loads(pickle.dumps(linker)).predict(docs) == linker.predict(docs)


def test_missing_model_directory_fails_at_load(tmp_path):
    ruler_pipeline().to_disk(tmp_path / "pipeline")
    shutil.rmtree(tmp_path / "pipeline" / "xmr_linker" / "model")
    with pytest.raises(ModelLoadError, match="xmr_linker.*does not exist"):
        spacy.load(tmp_path / "pipeline")


def test_corrupt_model_directory_fails_at_load(tmp_path):
    ruler_pipeline().to_disk(tmp_path / "pipeline")
    for path in (tmp_path / "pipeline" / "xmr_linker" / "model").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError, match="xmr_linker"):
        spacy.load(tmp_path / "pipeline")


@pytest.mark.slow
def test_spacy_package_builds_a_loadable_package(tmp_path, texts):
    nlp = ruler_pipeline()
    nlp.meta["name"] = "xmr_test"
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "packages").mkdir()
    build = subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(tmp_path / "pipeline"), str(tmp_path / "packages"),
         "--name", "xmr_test", "--version", "0.0.1", "--force"],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    package_root = tmp_path / "packages" / "en_xmr_test-0.0.1"
    assert list((package_root / "dist").glob("en_xmr_test-0.0.1*"))
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(package_root)!r})
        import en_xmr_test
        nlp = en_xmr_test.load()
        docs = list(nlp.pipe(json.loads(sys.stdin.read())))
        print(json.dumps([[e.kb_id_ for e in doc.ents] for doc in docs]))
    """)
    loaded = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, timeout=180)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == [[e.kb_id_ for e in doc.ents] for doc in nlp.pipe(texts)]
