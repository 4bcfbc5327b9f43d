"""Units of the project workflow scripts in projects/scripts/ (imported as the workflow runs them)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.tokens import Span

SCRIPTS = Path(__file__).resolve().parent.parent / "projects" / "scripts"
sys.path.insert(0, str(SCRIPTS))

import datasets  # noqa: E402
import get_sources  # noqa: E402
import predict_e2e  # noqa: E402
import report  # noqa: E402
import reranker_status  # noqa: E402
import step  # noqa: E402
import train_dense_encoder  # noqa: E402


def test_sized_command_fills_the_size_and_uses_this_python():
    command = ["python", "-m", "spacy", "train", "--training.max_steps", "{ner_max_steps}"]
    assert step.sized_command(command, smoke=True) == [sys.executable, "-m", "spacy", "train", "--training.max_steps", "300"]
    assert step.sized_command(command, smoke=False)[-1] == step.SIZES["full"]["ner_max_steps"]
    assert set(step.SIZES["full"]) == set(step.SIZES["smoke"])


def test_sized_command_names_an_unknown_placeholder():
    with pytest.raises(SystemExit, match="ner_steps"):
        step.sized_command(["spacy-xmr", "{ner_steps}"], smoke=False)


def test_step_skips_without_reranker_and_removes_stale_outputs(tmp_path):
    from typer.testing import CliRunner
    import typer

    reranker_dir = tmp_path / "reranker"
    reranker_dir.mkdir()
    reranker_status.write_status(reranker_dir, enabled=False)
    stale = tmp_path / "reranked.json"
    stale.write_text("{}")
    marker = tmp_path / "ran"
    app = typer.Typer()
    app.command()(step.main)
    result = CliRunner().invoke(app, ["--if-reranker", str(reranker_dir), "--output", str(stale), "--",
                                      "python", "-c", f"open({str(marker)!r}, 'w')"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and not marker.exists()

    reranker_status.write_status(reranker_dir, enabled=True)
    result = CliRunner().invoke(app, ["--if-reranker", str(reranker_dir), "--", "python", "-c", f"open({str(marker)!r}, 'w')"])
    assert result.exit_code == 0, result.output
    assert marker.exists()
    assert reranker_status.reranker_model(reranker_dir) == reranker_dir / "model-best"


def test_step_passes_the_dense_encoder_only_when_one_was_aligned(tmp_path):
    from typer.testing import CliRunner
    import typer

    encoder_dir, seen = tmp_path / "dense_encoder", tmp_path / "argv.json"
    encoder_dir.mkdir()
    app = typer.Typer()
    app.command()(step.main)
    record = ["--", "python", "-c", f"import json, sys; json.dump(sys.argv[1:], open({str(seen)!r}, 'w'))", "x"]
    result = CliRunner().invoke(app, ["--dense-from", str(encoder_dir), *record])
    assert result.exit_code == 0, result.output
    assert json.loads(seen.read_text()) == ["x"]  # an empty folder: vars.dense = 0

    (encoder_dir / "config.json").write_text("{}")
    result = CliRunner().invoke(app, ["--dense-from", str(encoder_dir), *record])
    assert result.exit_code == 0, result.output
    assert json.loads(seen.read_text()) == ["x", "--dense-encoder", str(encoder_dir)]


def test_dense_step_disabled_leaves_an_empty_folder(tmp_path):
    from typer.testing import CliRunner
    import typer

    output = tmp_path / "dense_encoder"
    output.mkdir()
    (output / "config.json").write_text("{}")  # from an earlier run with vars.dense = 1
    (tmp_path / "ontology.jsonl.gz").write_bytes(b"")
    (tmp_path / "train.xml").write_text("")
    app = typer.Typer()
    app.command()(train_dense_encoder.main)
    result = CliRunner().invoke(app, [str(output), "--ontology", str(tmp_path / "ontology.jsonl.gz"),
                                      "--train-corpus", str(tmp_path / "train.xml"), "--enabled", "0"])
    assert result.exit_code == 0, result.output
    assert output.is_dir() and not any(output.iterdir())


def _fake_sources(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


def test_get_sources_copies_the_dataset_files_and_skips_an_optional_test(tmp_path):
    spec = datasets.DATASETS["bc5cdr_disease"]
    sources = _fake_sources(tmp_path / "data", spec.required + ["ncbi_disease/unrelated.txt"])
    get_sources.main("bc5cdr_disease", tmp_path / "out", sources=str(sources))
    copied = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert copied == sorted(spec.required)
    assert not spec.has_test(tmp_path / "out")
    assert "--out-test" not in spec.converter_args(tmp_path / "out", tmp_path / "corpus")


def test_get_sources_finds_files_nested_in_an_unzipped_release(tmp_path):
    spec = datasets.DATASETS["bc5cdr_disease"]
    nested = [name.replace("bc5cdr/", "bc5cdr/CDR_Data/CDR.Corpus.v010516/") for name in spec.files]
    get_sources.main("bc5cdr_disease", tmp_path / "out", sources=str(_fake_sources(tmp_path / "data", nested)))
    assert spec.has_test(tmp_path / "out")
    assert "--out-test" in spec.converter_args(tmp_path / "out", tmp_path / "corpus")


def test_get_sources_names_a_missing_file(tmp_path, capsys):
    spec = datasets.DATASETS["ncbi_disease"]
    sources = _fake_sources(tmp_path / "data", spec.required)  # the NCBI test split is required
    with pytest.raises(SystemExit):
        get_sources.main("ncbi_disease", tmp_path / "out", sources=str(sources))
    assert "NCBItestset_corpus.txt" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(SystemExit, match="ncbi_disease"):
        datasets.get_dataset("ncbi")


def test_predictions_keep_document_ids_offsets_and_candidates():
    from spacy_xmr.corpus import get_candidates
    from spacy_xmr.pipeline.extensions import register_extensions

    register_extensions()
    doc = spacy.blank("en")("Title. Breast cancer runs in families.")
    ent = Span(doc, 2, 4, label="Disease")
    doc.ents = [ent]
    doc.ents[0]._.xmr_candidates = [("MESH:D001943", 0.9), ("MESH:D009369", 0.1)]
    (document,) = predict_e2e.predictions_collection(["123"], [doc]).documents
    (annotation,) = document.passages[0].annotations
    assert document.id == "123" and document.passages[0].text == doc.text
    assert (annotation.locations[0].offset, annotation.locations[0].length) == (ent.start_char, len("Breast cancer"))
    assert get_candidates(annotation) == [("MESH:D001943", 0.9), ("MESH:D009369", 0.1)]
    assert annotation.infons["predicted_id"] == "MESH:D001943"


def _metrics(acc: float, e2e: bool) -> dict:
    recall = {"1": acc, "5": min(1.0, acc + 0.05), "10": min(1.0, acc + 0.08)}
    return {"n_mentions": 960, "n_multi_id": 12, "acc_at_1": acc, "recall_at_k": recall, "mrr": acc + 0.02,
            "strict": {"acc_at_1": acc - 0.01, "recall_at_k": recall, "mrr": acc},
            "e2e": {"precision": 0.7, "recall": 0.6, "f1": 0.646} if e2e else None}


def test_report_rejects_a_run_without_a_name():
    import typer

    with pytest.raises(typer.BadParameter, match="NAME=PATH"):
        report.parse_runs(["metrics/e2e.json"])


def test_report_writes_table_and_plot(tmp_path):
    (tmp_path / "gold_mentions_xmr.json").write_text(json.dumps(_metrics(0.8625, e2e=False)))
    (tmp_path / "e2e.json").write_text(json.dumps(_metrics(0.5, e2e=True)))
    runs = [f"xmr={tmp_path / 'gold_mentions_xmr.json'}", f"xmr+reranker={tmp_path / 'gold_mentions_reranked.json'}"]
    report.main(runs, e2e=f"pipeline={tmp_path / 'e2e.json'}", out_dir=tmp_path / "out", title="ncbi_disease, test split",
                ner_meta=None, smoke=1)
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf8")
    gold_table, e2e_table = text.split("## End to end")
    assert "| xmr | 960 | 0.8625 | 0.8525 | 0.8625 | 0.9125 | 0.9425 | 0.8825 |" in gold_table
    assert "| xmr+reranker | not run |" in gold_table
    assert "| pipeline | 960 | 0.5000 | 0.4900 | 0.5000 | 0.5500 | 0.5800 | 0.5200 | 0.7000 | 0.6000 | 0.6460 |" in e2e_table
    assert "Smoke run" in text and "(12 mentions have several)" in text
    assert (tmp_path / "out" / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_writes_the_calibration_of_the_confidence_that_apply_xmr_wrote(synthetic_model_dir, synthetic_corpus_dir, tmp_path):
    from typer.testing import CliRunner

    from spacy_xmr.cli import app
    from spacy_xmr.corpus import get_confidence, read_corpus
    from spacy_xmr.corpus.bioc_documents import iter_annotations

    predictions, metric_file = tmp_path / "pred.xml", tmp_path / "gold_mentions_xmr.json"
    for command in (["apply-xmr", "--model", synthetic_model_dir, "--in-corpus", synthetic_corpus_dir / "dev.xml", "--out-corpus", predictions],
                    ["evaluate", "--gold", synthetic_corpus_dir / "dev.xml", "--pred", predictions, "--metric-file", metric_file]):
        result = CliRunner().invoke(app, list(map(str, command)))
        assert result.exit_code == 0, result.output
    confidences = [get_confidence(a) for d in read_corpus(predictions).documents for _, a in iter_annotations(d)]
    assert confidences and all(0 <= c <= 1 for c in confidences)
    metrics = json.loads(metric_file.read_text())
    calibration = metrics["calibration"]
    assert calibration["n"] == metrics["n_mentions"] == len(confidences)
    assert calibration["accuracy"] == pytest.approx(metrics["acc_at_1"])  # every mention has a confidence
    assert calibration["mean_confidence"] == pytest.approx(np.mean(confidences))
    assert "expected calibration error" in " ".join(result.output.split())

    report.main([f"xmr={metric_file}", f"xmr+reranker={tmp_path / 'absent.json'}"], e2e=None, out_dir=tmp_path / "out",
                title="synthetic, dev split", ner_meta=None, smoke=0)
    written = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert written["runs"] == {"xmr": calibration} and written["default_threshold"] == report.DEFAULT_THRESHOLD
    for png in ("calibration_reliability.png", "precision_coverage.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf8")
    assert f"| xmr | {calibration['n']} | {calibration['accuracy']:.4f} |" in text
    assert f"| {report.DEFAULT_THRESHOLD} (default) |" in text and "![reliability](calibration_reliability.png)" in text

    metrics["calibration"] = None  # an uncalibrated model: the stale figures go
    metric_file.write_text(json.dumps(metrics))
    report.main([f"xmr={metric_file}"], e2e=None, out_dir=tmp_path / "out", title="t", ner_meta=None, smoke=0)
    assert not (tmp_path / "out" / "calibration.json").exists()
    assert "No run gave a confidence" in (tmp_path / "out" / "report.md").read_text(encoding="utf8")
