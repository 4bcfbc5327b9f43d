"""`annotate` on a local Ray instance: outputs equal plain `nlp.pipe`, resume, a killed worker, a corrupt shard,
the CLI, and a reranker stage on CPU. One Ray instance serves the whole module (CI has 2 cores)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from spacy_xmr.corpus import GOLD_SPANS_KEY, collection_to_docs, get_candidates, get_confidence, write_bioc
from spacy_xmr.corpus.candidates import PREDICTED_ID
from spacy_xmr.corpus.formats import read_corpus
from spacy_xmr.corpus.jsonl import write_jsonl
from spacy_xmr.corpus.pubtator_writer import write_pubtator

ray = pytest.importorskip("ray", reason="annotate needs the distributed extra (ray)")
from annotate_support import (  # noqa: E402
    DOCS_PER_SHARD, expected_ner, jsonl_entities, save_ruler_linker_pipeline, shard_collection,
)
from spacy_xmr.distributed import annotate  # noqa: E402
from spacy_xmr.distributed.manifest import MANIFEST_NAME  # noqa: E402
from spacy_xmr.distributed.run import KILL_MARKER_ENV, KILL_SHARD_ENV, _Scheduler  # noqa: E402
from spacy_xmr.distributed.worker import FirstStageLost  # noqa: E402
from spacy_xmr.errors import SpacyXmrError  # noqa: E402
from synthetic import CORPUS_FILE_WRITERS  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    """One local Ray for every test here; `annotate` joins it instead of starting its own."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pipeline_dir(synthetic_ontology, synthetic_model_dir, tmp_path_factory) -> Path:
    return save_ruler_linker_pipeline(synthetic_ontology, synthetic_model_dir, tmp_path_factory.mktemp("pipeline") / "pipeline")



def _write_every_format(synthetic_ontology, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed, (name, writer) in enumerate(CORPUS_FILE_WRITERS.items()):
        writer(shard_collection(synthetic_ontology, seed), directory / name)
        paths.append(directory / name)
    return paths


def test_every_input_format_gives_what_nlp_pipe_gives(pipeline_dir, synthetic_ontology, tmp_path):
    inputs = _write_every_format(synthetic_ontology, tmp_path / "in")
    summary = annotate(pipeline_dir, [str(tmp_path / "in" / "*")], tmp_path / "out", output_format="jsonl", workers=2,
                       batch_size=4, progress=False)  # each shard linked and written in two batches
    assert summary.failed == [] and summary.shards == len(CORPUS_FILE_WRITERS) and summary.documents == len(CORPUS_FILE_WRITERS) * DOCS_PER_SHARD
    expected = expected_ner(pipeline_dir, inputs)
    assert sum(len(entities) for entities in expected.values()) == summary.mentions > 0
    assert jsonl_entities(tmp_path / "out") == expected
    manifest = [json.loads(line) for line in (tmp_path / "out" / MANIFEST_NAME).read_text().splitlines()]
    assert sorted(r["input"] for r in manifest) == sorted(str(p.resolve()) for p in inputs)
    assert {r["status"] for r in manifest} == {"ok"} and all(Path(r["output"]).is_file() for r in manifest)
    assert all(0 < r["cpu_seconds"] for r in manifest)


def test_gold_mentions_are_linked_in_place(pipeline_dir, synthetic_ontology, tmp_path):
    collection = shard_collection(synthetic_ontology, 7)
    write_pubtator(collection, tmp_path / "in.txt")
    summary = annotate(pipeline_dir, [tmp_path / "in.txt"], tmp_path / "out", mentions="gold", workers=1, progress=False)
    nlp = spacy.load(pipeline_dir)
    nlp.get_pipe("xmr_linker").spans_key = GOLD_SPANS_KEY
    with nlp.select_pipes(disable=["entity_ruler"]):
        docs = list(nlp.pipe(collection_to_docs(read_corpus(tmp_path / "in.txt"), nlp)))
    expected = {(d.id, s.start_char, s.end_char, s.kb_id_, tuple(s._.xmr_candidates), s._.xmr_confidence)
                for d, doc in zip(collection.documents, docs) for s in doc.spans[GOLD_SPANS_KEY]}
    written = read_corpus(tmp_path / "out" / "in.xml")
    annotations = [(d, a) for d in written.documents for p in d.passages for a in p.annotations]
    assert {(d.id, a.locations[0].offset, a.locations[0].end, a.infons[PREDICTED_ID], tuple(get_candidates(a)),
             get_confidence(a)) for d, a in annotations} == expected
    assert all(0 <= get_confidence(a) <= 1 for _, a in annotations)  # the calibrated confidence travels too
    assert summary.mentions == len(expected) == len(annotations)
    gold = {(d.id, a.id, a.infons.get("identifier")) for d in collection.documents for p in d.passages for a in p.annotations}
    assert {(d.id, a.id, a.infons.get("identifier")) for d, a in annotations} == gold  # the input's ids and gold kept


def test_entity_types_choose_the_gold_mentions_to_link(pipeline_dir, synthetic_ontology, tmp_path):
    collection = shard_collection(synthetic_ontology, 8)
    annotations = [a for d in collection.documents for p in d.passages for a in p.annotations]
    for annotation in annotations[::2]:
        annotation.infons["type"] = "Chemical"
    write_bioc(collection, tmp_path / "in.xml")
    summary = annotate(pipeline_dir, [tmp_path / "in.xml"], tmp_path / "out", mentions="gold", entity_types=["Disease"],
                       workers=1, progress=False)
    written = [a for d in read_corpus(tmp_path / "out" / "in.xml").documents for p in d.passages for a in p.annotations]
    assert summary.mentions == len(written) == len(annotations[1::2])
    assert {a.infons["type"] for a in written} == {"Disease"} and all(PREDICTED_ID in a.infons for a in written)
    with pytest.raises(SpacyXmrError, match="--entity-type chooses among the input's mentions"):
        annotate(pipeline_dir, [tmp_path / "in.xml"], tmp_path / "out2", entity_types=["Disease"], progress=False)
    lower = _cli("--pipeline", str(pipeline_dir), "--input", str(tmp_path / "in.xml"), "--output", str(tmp_path / "out3"),
                 "--workers", "1", "--mentions", "gold", "--entity-type", "disease")
    assert lower.exit_code == 0 and "no mention of type disease in the inputs" in " ".join(lower.output.split())


def test_a_worker_killed_mid_shard_is_replaced_and_every_document_written_once(pipeline_dir, synthetic_ontology, tmp_path,
                                                                                monkeypatch):
    inputs = []
    for seed in range(4):
        inputs.append(tmp_path / "in" / f"part{seed}.jsonl")
        inputs[-1].parent.mkdir(exist_ok=True)
        write_jsonl(shard_collection(synthetic_ontology, seed), inputs[-1])
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_SHARD_ENV, "part2.jsonl")
    monkeypatch.setenv(KILL_MARKER_ENV, str(marker))
    summary = annotate(pipeline_dir, [str(p) for p in inputs], tmp_path / "out", output_format="jsonl", workers=2, progress=False)
    assert marker.exists()  # the worker did die in the middle of part2
    assert summary.failed == [] and summary.shards == 4
    assert not list((tmp_path / "out").glob(".*.tmp"))  # the retry removed the killed attempt's temporary output
    written = jsonl_entities(tmp_path / "out")  # raises if a document is written twice
    assert sorted(written) == sorted(d.id for p in inputs for d in read_corpus(p).documents)


def test_a_worker_reports_each_written_batch_to_the_progress_counter(pipeline_dir, synthetic_ontology, tmp_path):
    """So that the driver's documents bar moves within a long shard, not only when it completes."""
    from spacy_xmr.distributed.annotator import ShardAnnotator
    from spacy_xmr.distributed.pipelines import load_linker_models
    from spacy_xmr.distributed.progress import DocumentCounter
    from spacy_xmr.distributed.shards import plan_shards
    from spacy_xmr.distributed.worker import WorkerSettings

    class RecordingCounter(DocumentCounter):
        def __init__(self):
            super().__init__()
            self.batches = []

        def add(self, documents: int) -> None:
            super().add(documents)
            self.batches.append(documents)

        def recorded(self) -> list[int]:
            return self.batches

    counter = ray.remote(RecordingCounter).options(num_cpus=0, name="test-counter").remote()
    write_jsonl(shard_collection(synthetic_ontology, 3), tmp_path / "part.jsonl")
    [shard] = plan_shards([tmp_path / "part.jsonl"], tmp_path / "out", "jsonl")
    settings = WorkerSettings(output_format="jsonl", batch_size=4, progress_counter="test-counter")
    record = ShardAnnotator(str(pipeline_dir), load_linker_models(pipeline_dir), settings).annotate(shard)
    assert record["status"] == "ok" and ray.get(counter.recorded.remote()) == [4, DOCS_PER_SHARD - 4]


def test_the_progress_bars_count_shards_and_documents(pipeline_dir, synthetic_ontology, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    for seed in range(2):
        write_jsonl(shard_collection(synthetic_ontology, seed), tmp_path / "in" / f"part{seed}.jsonl")
    annotate(pipeline_dir, [str(tmp_path / "in" / "*.jsonl")], tmp_path / "out", workers=1, batch_size=4, progress=True)
    bars = capsys.readouterr().err
    assert "annotate: 100%" in bars and "2/2" in bars
    assert f"documents written: {2 * DOCS_PER_SHARD}doc" in bars


def _cli(*args: str):
    from typer.testing import CliRunner

    from spacy_xmr.cli import app

    return CliRunner().invoke(app, ["annotate", *args])


def test_corrupt_shard_is_reported_and_a_rerun_resumes(pipeline_dir, synthetic_ontology, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in range(3):
        write_bioc(shard_collection(synthetic_ontology, seed), inputs / f"part{seed}.xml")
    good_part1 = (inputs / "part1.xml").read_text(encoding="utf8")
    cut = good_part1.splitlines()
    (inputs / "part1.xml").write_text("\n".join(cut[: len(cut) // 2]), encoding="utf8")  # truncated mid-document
    args = ["--pipeline", str(pipeline_dir), "--input", str(inputs / "*.xml"), "--output", str(tmp_path / "out"), "--workers", "1"]

    first = _cli(*args)
    assert first.exit_code == 1 and "1 of 3 shard(s) failed" in first.output
    manifest = tmp_path / "out" / MANIFEST_NAME
    [failed] = [r for r in map(json.loads, manifest.read_text().splitlines()) if r["status"] == "failed"]
    assert failed["input"].endswith("part1.xml") and failed["line"] and "truncated" in failed["error"]
    where = f"{failed['input']}, line {failed['line']}"
    assert " ".join(first.output.split()).count(where) == 1  # the file and line said once, not before the error's own
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xml")) == ["part0.xml", "part2.xml"]

    # an interrupted run: part2's output lost and its manifest line cut short; part1 fixed meanwhile
    (inputs / "part1.xml").write_text(good_part1, encoding="utf8")
    (tmp_path / "out" / "part2.xml").unlink()
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(line for line in lines if "part2" not in line) + "\n" + lines[-1][:40], encoding="utf8")
    part0_written = (tmp_path / "out" / "part0.xml").stat().st_mtime_ns
    second = _cli(*args)
    assert second.exit_code == 0, second.output
    assert "Skipped 1 shard(s)" in second.output and "12 documents" in second.output
    assert (tmp_path / "out" / "part0.xml").stat().st_mtime_ns == part0_written
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xml")) == ["part0.xml", "part1.xml", "part2.xml"]

    third = _cli(*args)
    assert third.exit_code == 0 and "Skipped 3 shard(s)" in third.output

    # other settings redo every shard: gold mentions instead of the NER's, then the input folder as the output
    gold = _cli(*args, "--mentions", "gold")
    assert gold.exit_code == 0 and "Skipped" not in gold.output and "18 documents" in " ".join(gold.output.split()), gold.output
    ruler_only = spacy.blank("en")
    ruler_only.add_pipe("entity_ruler")
    ruler_only.to_disk(tmp_path / "ruler_only")
    no_linker = _cli("--pipeline", str(tmp_path / "ruler_only"), *args[2:])
    assert no_linker.exit_code == 1 and "no xmr_linker component to link with (it has entity_ruler)" in " ".join(no_linker.output.split())
    into_inputs = _cli(*args[:-4], "--output", str(inputs), "--format", "bioc")
    assert into_inputs.exit_code == 1 and "an input of this run" in " ".join(into_inputs.output.split())
    assert (inputs / "part1.xml").read_text(encoding="utf8") == good_part1  # never written over


@pytest.fixture(scope="module")
def reranker_pipeline_dir(pipeline_dir, synthetic_ontology, tmp_path_factory) -> Path:
    """The ruler + linker pipeline with a tiny randomly initialised reranker after them."""
    pytest.importorskip("transformers")
    from rerank_support import write_tiny_bert

    from spacy_xmr.rerank import Reranker, RerankerConfig

    directory = tmp_path_factory.mktemp("reranker_pipeline")
    config = RerankerConfig(model_name=str(write_tiny_bert(directory / "bert")), max_length=128, max_candidate_tokens=16, precision="fp32")
    Reranker.from_encoder(config, synthetic_ontology, device="cpu", local_files_only=True).save(directory / "reranker")
    nlp = spacy.load(pipeline_dir)
    nlp.add_pipe("xmr_reranker", config={"model": str(directory / "reranker"), "device": "cpu"})
    nlp.to_disk(directory / "pipeline")
    return directory / "pipeline"


def _assert_reranked_as_by_nlp_pipe(written: dict, expected: dict) -> None:
    assert written.keys() == expected.keys()
    for doc_id in expected:
        assert [e[:3] for e in written[doc_id]] == [e[:3] for e in expected[doc_id]]
        for (*_, candidates, confidence), (*_, expected_candidates, expected_confidence) in zip(written[doc_id], expected[doc_id]):
            assert [c for c, _ in candidates] == [c for c, _ in expected_candidates]
            assert [s for _, s in candidates] == pytest.approx([s for _, s in expected_candidates], abs=1e-4)
            assert confidence == pytest.approx(expected_confidence, abs=1e-4)


def test_reranker_stage_on_cpu_gives_what_nlp_pipe_gives(reranker_pipeline_dir, synthetic_ontology, tmp_path):
    write_jsonl(shard_collection(synthetic_ontology, 9), tmp_path / "in.jsonl")
    summary = annotate(reranker_pipeline_dir, [tmp_path / "in.jsonl"], tmp_path / "out", output_format="jsonl", workers=1,
                       batch_size=4, rerank_stage=True, progress=False)  # two batches streamed to the GPU stage
    assert summary.rerank_stage and summary.failed == []
    _assert_reranked_as_by_nlp_pipe(jsonl_entities(tmp_path / "out"), expected_ner(reranker_pipeline_dir, [tmp_path / "in.jsonl"]))


def test_reranker_stage_redoes_a_killed_stream_and_reports_a_corrupt_shard(reranker_pipeline_dir, synthetic_ontology,
                                                                          tmp_path, monkeypatch):
    """Two CPU workers stream three shards into one reranking worker; one of them dies after handing on part1's
    first batch, and part2 is cut short."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = [inputs / "part0.jsonl", inputs / "part1.jsonl"]
    for seed, path in enumerate(good):
        write_jsonl(shard_collection(synthetic_ontology, seed), path)
    write_bioc(shard_collection(synthetic_ontology, 2), inputs / "part2.xml")
    cut = (inputs / "part2.xml").read_text(encoding="utf8").splitlines()
    (inputs / "part2.xml").write_text("\n".join(cut[: len(cut) // 2]), encoding="utf8")
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_SHARD_ENV, "part1.jsonl")
    monkeypatch.setenv(KILL_MARKER_ENV, str(marker))

    summary = annotate(reranker_pipeline_dir, [str(inputs / "*")], tmp_path / "out", output_format="jsonl", workers=2,
                       batch_size=4, rerank_stage=True, progress=False)
    assert marker.exists() and summary.rerank_stage and summary.shards == 3
    [failed] = summary.failed
    assert failed["input"].endswith("part2.xml") and failed["line"] and "truncated" in failed["error"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MANIFEST_NAME, "part0.jsonl", "part1.jsonl"]
    written = jsonl_entities(tmp_path / "out")  # raises if a document is written twice
    _assert_reranked_as_by_nlp_pipe(written, expected_ner(reranker_pipeline_dir, good))
    assert summary.documents == 2 * DOCS_PER_SHARD and summary.mentions == sum(map(len, written.values()))
    records = [json.loads(line) for line in (tmp_path / "out" / MANIFEST_NAME).read_text().splitlines()]
    assert all(0 < r["cpu_seconds"] and 0 < r["seconds"] for r in records if r["status"] == "ok")


@pytest.mark.parametrize("split, error, replaced", [
    (False, ray.exceptions.ActorDiedError(), "cpu"),
    (True, ray.exceptions.ActorDiedError(), "gpu"),  # the reranking worker itself
    (True, ray.exceptions.RayTaskError("finish", "", FirstStageLost("gone")), "cpu"),  # the worker streaming to it
    (True, ray.exceptions.RayTaskError("finish", "", ValueError("a bug")), None),
])
def test_a_worker_lost_for_good_is_replaced_in_its_own_pool(split, error, replaced):
    scheduler = object.__new__(_Scheduler)
    old_cpu, old_gpu = object(), object()
    scheduler.split, scheduler.cpu, scheduler.gpu = split, [object(), old_cpu], [old_gpu]
    scheduler.new_cpu_actor, scheduler.new_gpu_actor = (lambda: "new cpu"), (lambda: "new gpu")
    scheduler._replace_lost_worker(error, 1, old_cpu, 0, old_gpu)
    assert (scheduler.cpu[1] == "new cpu", scheduler.gpu[0] == "new gpu") == (replaced == "cpu", replaced == "gpu")


def test_a_worker_actor_runs_without_torch(pipeline_dir):
    """In a real Ray worker process, which has imported pyarrow before the actor starts, thinc still does not
    import torch."""
    pytest.importorskip("torch")
    if not Path("/proc/self/maps").is_file():
        pytest.skip("reads the worker's memory map from /proc (Linux)")
    from spacy_xmr.distributed.pipelines import load_linker_models
    from spacy_xmr.distributed.worker import ShardWorker, WorkerSettings

    actor = ray.remote(ShardWorker).remote(str(pipeline_dir), load_linker_models(pipeline_dir), WorkerSettings(optional_imports=False))
    try:
        assert "libtorch" not in Path(f"/proc/{ray.get(actor.pid.remote())}/maps").read_text()
    finally:
        ray.kill(actor)


def test_library_and_other_commands_do_not_import_ray():
    code = ("import sys, spacy, spacy_xmr, spacy_xmr.cli, spacy_xmr.corpus.formats; spacy.blank('en');"
            "print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("inside", [False, True])
def test_an_output_folder_that_is_or_lies_inside_the_pipeline_is_refused(pipeline_dir, synthetic_ontology, tmp_path, inside):
    _write_every_format(synthetic_ontology, tmp_path / "in")
    before = sorted(path.relative_to(pipeline_dir) for path in pipeline_dir.rglob("*"))
    output = pipeline_dir / "out" if inside else pipeline_dir
    with pytest.raises(FileExistsError, match="refusing to (overwrite the input|write inside the input folder)"):
        annotate(pipeline_dir, [str(tmp_path / "in" / "*")], output, output_format="jsonl", workers=1, progress=False)
    assert sorted(path.relative_to(pipeline_dir) for path in pipeline_dir.rglob("*")) == before


def test_a_ray_client_server_that_fails_to_start_is_tried_again(monkeypatch, caplog):
    """Ray Client's proxy now and then fails to start the per-client server (Ray's own race, seen in CI): annotate tries
    again, and says so; another failure to join is not retried."""
    from spacy_xmr.distributed import run

    client_server_failed = ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last): "
                                                  "RuntimeError: Starting Ray client server failed.")
    monkeypatch.setattr(run.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(run, "CLIENT_SERVER_RETRY_SECONDS", 0.0)

    def joins(*errors: Exception) -> list[str]:
        """The addresses ray.init was called with, when its calls raise `errors` in turn (and then succeed)."""
        calls = []

        def init(**kwargs):
            calls.append(kwargs["address"])
            if len(calls) <= len(errors):
                raise errors[len(calls) - 1]

        monkeypatch.setattr(run.ray, "init", init)
        run._connect("ray://head:10001", None)
        return calls

    with caplog.at_level("WARNING"):
        assert joins(client_server_failed) == ["ray://head:10001"] * 2
    assert "did not start (try 1 of 3); trying again" in caplog.text
    with pytest.raises(SpacyXmrError, match="cannot start or join Ray: ray client connection timeout"):
        joins(ConnectionError("ray client connection timeout"))  # no proxy answered; a second call would succeed
    with pytest.raises(SpacyXmrError, match="Starting Ray client server failed"):
        joins(*[client_server_failed] * run.CLIENT_SERVER_TRIES)
