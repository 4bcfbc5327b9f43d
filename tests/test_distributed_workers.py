"""Workers of `annotate` start without torch and pandas when their components do not need them (about 200 and
30 MiB of private memory each), and load only the data of their stage's components; each batch runs in a memory zone. No Ray here: the worker class runs in a
fresh interpreter the way a Ray actor process does (module imported, arguments unpickled, then constructed)."""
from __future__ import annotations

import gc
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

pytest.importorskip("ray", reason="annotate needs the distributed extra (ray)")
from annotate_support import expected_ner, jsonl_entities, save_ruler_linker_pipeline, shard_collection  # noqa: E402
from spacy_xmr.corpus.jsonl import write_jsonl  # noqa: E402
from synthetic import synthetic_collection  # noqa: E402
from spacy_xmr.distributed.pipelines import load_linker_models, needs_optional_imports, stage_components  # noqa: E402
from spacy_xmr.distributed.worker import forbid_imports  # noqa: E402


@Language.component("test_third_party_component")
def third_party_component(doc):
    return doc


@pytest.fixture(scope="module")
def pipeline_dir(synthetic_ontology, synthetic_model_dir, tmp_path_factory) -> Path:
    return save_ruler_linker_pipeline(synthetic_ontology, synthetic_model_dir, tmp_path_factory.mktemp("pipeline") / "pipeline")


def _config_only(tmp_path: Path, *components: str) -> Path:
    """A folder with only the config.cfg of a pipeline of `components` (all needs_optional_imports reads besides the models)."""
    nlp = spacy.blank("en")
    for name in components:
        nlp.add_pipe(name)
    nlp.config.to_disk(tmp_path / "config.cfg")
    return tmp_path


def test_spacy_components_and_the_linker_need_no_torch(pipeline_dir):
    models = load_linker_models(pipeline_dir)
    assert stage_components(pipeline_dir, "all") == ["entity_ruler", "xmr_linker"]
    assert not needs_optional_imports(pipeline_dir, models, stage_components(pipeline_dir, "all"))


def test_the_reranker_stage_needs_optional_imports_and_the_stage_before_it_does_not(tmp_path):
    directory = _config_only(tmp_path, "entity_ruler", "xmr_linker", "xmr_reranker")
    assert stage_components(directory, "cpu") == ["entity_ruler", "xmr_linker"]
    assert stage_components(directory, "rerank") == ["xmr_reranker"]
    assert needs_optional_imports(directory, {}, stage_components(directory, "all"))
    assert needs_optional_imports(directory, {}, stage_components(directory, "rerank"))
    assert not needs_optional_imports(directory, {}, stage_components(directory, "cpu"))


def test_a_component_from_outside_spacy_and_spacy_xmr_may_need_torch(tmp_path):
    directory = _config_only(tmp_path, "entity_ruler", "test_third_party_component")
    assert not needs_optional_imports(directory, {}, ["entity_ruler"])
    assert needs_optional_imports(directory, {}, ["entity_ruler", "test_third_party_component"])


def test_a_torch_layer_in_a_spacy_component_needs_optional_imports(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.config.to_disk(tmp_path / "config.cfg")
    assert not needs_optional_imports(tmp_path, {}, ["tok2vec"])
    text = (tmp_path / "config.cfg").read_text(encoding="utf8")
    architecture = nlp.config["components"]["tok2vec"]["model"]["@architectures"]  # only the name matters here
    (tmp_path / "config.cfg").write_text(text.replace(architecture, "spacy.TorchBiLSTMEncoder.v1"), encoding="utf8")
    assert needs_optional_imports(tmp_path, {}, ["tok2vec"])


def test_only_the_modules_not_imported_yet_are_forbidden():
    finders = list(sys.meta_path)
    try:
        assert forbid_imports(("json", "spacy_xmr_test_never_imported")) == ("spacy_xmr_test_never_imported",)
        import json as _  # noqa: F401  imported already: still importable
        with pytest.raises(ImportError, match="not imported in annotate workers"):
            import spacy_xmr_test_never_imported  # noqa: F401
    finally:
        sys.meta_path[:] = finders


# The actor process in miniature: import the worker module, unpickle the arguments, construct, annotate one shard.
WORKER = textwrap.dedent("""
    import json, pickle, sys
    from spacy_xmr.distributed.worker import ShardWorker, WorkerSettings
    directory, models, shard, torch = pickle.loads(sys.stdin.buffer.read())
    worker = ShardWorker(directory, models, WorkerSettings(output_format="jsonl", optional_imports=torch))
    record = worker.annotate(shard)
    print(json.dumps({"record": record, "loaded": sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "pandas", "sklearn", "spacy"})}))
""")


@pytest.mark.parametrize("torch", [False, True])
def test_a_worker_without_optional_imports_never_imports_torch_pandas_or_sklearn_and_links_the_same(pipeline_dir, synthetic_ontology, tmp_path, torch):
    if torch:
        pytest.importorskip("torch")
    from spacy_xmr.distributed.shards import plan_shards

    write_jsonl(shard_collection(synthetic_ontology, 3), tmp_path / "in.jsonl")
    [shard] = plan_shards([tmp_path / "in.jsonl"], tmp_path / "out", "jsonl")
    arguments = pickle.dumps((str(pipeline_dir), load_linker_models(pipeline_dir), shard, torch))
    result = subprocess.run([sys.executable, "-c", WORKER], input=arguments, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["record"]["status"] == "ok", answer["record"]
    # linking counts n-grams without scikit-learn (`ngram_counts.py`), which would import pandas where it can
    assert set(answer["loaded"]) == ({"spacy", "torch"} if torch else {"spacy"})
    assert jsonl_entities(tmp_path / "out") == expected_ner(pipeline_dir, [tmp_path / "in.jsonl"])


def test_each_batch_runs_in_a_memory_zone_and_its_outputs_are_read_inside_it(pipeline_dir, synthetic_ontology, tmp_path):
    """Shards full of new words leave a worker's vocab as it was (a long run does not grow it), and their outputs
    still equal plain `nlp.pipe`'s: kb ids and labels, whose strings the zone frees, are read before it ends."""
    from spacy_xmr.distributed.annotator import ShardAnnotator
    from spacy_xmr.distributed.shards import plan_shards
    from spacy_xmr.distributed.worker import WorkerSettings

    aliases = [alias for alias, _ in synthetic_ontology.aliases() if len(alias) > 3]
    paths = []
    for part in range(3):
        paths.append(tmp_path / "in" / f"part{part}.jsonl")
        paths[-1].parent.mkdir(exist_ok=True)
        texts = [f"Unheardof{part}x{n} patients with {aliases[part * 5 + n]} and wordless{part}y{n}." for n in range(5)]
        paths[-1].write_text("".join(json.dumps({"id": f"{part}-{n}", "text": t}) + "\n" for n, t in enumerate(texts)))
    annotator = ShardAnnotator(str(pipeline_dir), load_linker_models(pipeline_dir), WorkerSettings(output_format="jsonl", batch_size=2))
    vocab = annotator.nlp.vocab
    sizes = [(len(vocab.strings), len(list(vocab)))]  # len(vocab) counts lexemes ever added, freed ones too
    frozen = gc.get_freeze_count()
    try:
        for shard in plan_shards(paths, tmp_path / "out", "jsonl"):
            assert annotator.annotate(shard)["status"] == "ok"
            sizes.append((len(vocab.strings), len(list(vocab))))
        assert gc.get_freeze_count() > frozen  # the loaded pipeline left the collector's scans after the first batch
    finally:
        gc.unfreeze()  # this is the test process, not a worker
    assert sizes == sizes[:1] * 4
    written = jsonl_entities(tmp_path / "out")
    assert written == expected_ner(pipeline_dir, paths)
    assert sum(bool(entity[3]) for entities in written.values() for entity in entities) >= 15


def test_components_not_of_spacy_xmr_get_small_batches_and_the_linker_the_whole_batch(pipeline_dir, synthetic_ontology, tmp_path, monkeypatch):
    """spaCy's NER holds a whole batch's features at once (hundreds of MiB per worker at 256 abstracts): the components
    that are not spacy-xmr's get OTHER_COMPONENTS_BATCH_SIZE documents per call, the linker `--batch-size`."""
    from spacy_xmr.distributed.annotator import OTHER_COMPONENTS_BATCH_SIZE, ShardAnnotator
    from spacy_xmr.distributed.shards import plan_shards
    from spacy_xmr.distributed.worker import WorkerSettings
    from spacy_xmr.pipeline.base import CandidatePipe

    annotator = ShardAnnotator(str(pipeline_dir), load_linker_models(pipeline_dir), WorkerSettings(output_format="jsonl", batch_size=80))
    calls: dict[str, list[int]] = {}
    for name, component in annotator.nlp.components:
        def recording(stream, name=name, original=component.pipe, **kwargs):
            for doc in original(stream, **kwargs):  # spaCy's components batch by `batch_size`; count what each call saw
                calls.setdefault(name, []).append(kwargs["batch_size"])
                yield doc
        monkeypatch.setattr(component, "pipe", recording)
    write_jsonl(synthetic_collection(synthetic_ontology, 100, seed=5), tmp_path / "in.jsonl")
    [shard] = plan_shards([tmp_path / "in.jsonl"], tmp_path / "out", "jsonl")
    try:
        assert annotator.annotate(shard)["status"] == "ok"
    finally:
        gc.unfreeze()  # this is the test process, not a worker
    kinds = {name: isinstance(component, CandidatePipe) for name, component in annotator.nlp.components}
    assert sorted(kinds.values()) == [False, True]
    assert {name: set(sizes) for name, sizes in calls.items()} == {
        name: {80} if is_xmr else {OTHER_COMPONENTS_BATCH_SIZE} for name, is_xmr in kinds.items()}
    assert {name: len(sizes) for name, sizes in calls.items()} == {name: 100 for name in kinds}
    assert jsonl_entities(tmp_path / "out") == expected_ner(pipeline_dir, [tmp_path / "in.jsonl"])
