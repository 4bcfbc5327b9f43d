"""A loaded XMR model pickles as its folder and prediction settings (`XMRModel.__reduce_ex__`): spawn-started workers
(`nlp.pipe(n_process=...)` on macOS and Windows, Ray tasks) map the model's files again instead of receiving copies of
its arrays; a model built in memory still pickles by value."""
from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

from model_formats import memory_mapped

from spacy_xmr.xmr import XMRModel

TEXTS = ["cardiac disease", "Renal Diseases", "nephritis syndrome type 2", "hepatomegaly", "zzz unknown", ""]


def test_a_loaded_model_pickles_as_its_folder_and_maps_it_again(synthetic_model_dir, synthetic_mentions):
    loaded = XMRModel.load(synthetic_model_dir, beam_size=4, document_candidates=1)
    loaded.n_jobs = 1
    data = pickle.dumps(loaded)
    assert len(data) < 2_000, f"{len(data)} bytes: the arrays were copied into the pickle"
    again = pickle.loads(data)
    assert again.settings == loaded.settings and again.n_jobs == 1
    assert memory_mapped(again.examples.features.data) and memory_mapped(again.channels["tree"].layers[-1].weights.data)
    mentions = synthetic_mentions["dev"]
    assert again.predict(TEXTS) == loaded.predict(TEXTS)
    assert again.predict_mentions(mentions) == loaded.predict_mentions(mentions)


def test_a_model_built_in_memory_pickles_by_value(synthetic_model):
    data = pickle.dumps(synthetic_model)
    assert len(data) > 100_000  # the arrays themselves: there is no folder to name
    assert pickle.loads(data).predict(TEXTS) == synthetic_model.predict(TEXTS)


def test_spawned_pipe_workers_get_the_loaded_linker_model(tmp_path):
    """`nlp.pipe(n_process=2)` with spawn-started workers, after the parent loaded the model: the workers unpickle the
    linker, and with it the model by its folder; their annotations equal one process's."""
    script = textwrap.dedent(f"""
        import multiprocessing, pickle, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pipeline_slice import annotations, ruler_pipeline, sample_texts
        multiprocessing.set_start_method("spawn", force=True)
        nlp = ruler_pipeline()
        texts = list(sample_texts())[:6]
        one = annotations(nlp.pipe(texts))  # loads the model in this process
        assert len(pickle.dumps(nlp.get_pipe("xmr_linker").get_model())) < 2_000
        two = annotations(nlp.pipe(texts, n_process=2, batch_size=2))
        assert two == one and any(one), (one, two)
        print("spawned workers agree")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "spawned workers agree" in result.stdout
