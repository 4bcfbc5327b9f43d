"""`spacy-xmr train-reranker` / `apply-reranker` on small BioC corpora with XMR-style candidate infons."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import get_candidates, get_confidence, iter_mentions, read_corpus, write_bioc, write_candidates
from spacy_xmr.corpus.bioc_documents import iter_annotations
from spacy_xmr.rerank import Reranker, RerankerConfig
from rerank_support import copies, synthetic_rankings, toy_candidates, toy_ontology, write_tiny_bert
from synthetic import write_medic

TITLE = "Patients with breast cancer and colon cancer."
ABSTRACT = "The lung tumor and the lung tumor. Renal failure and cardiac failure."
GOLD = [("breast cancer", "D001943"), ("colon cancer", "D003110"), ("lung tumor", "D008175"), ("lung tumor", "D008175"),
        ("Renal failure", "D007676"), ("cardiac failure", "D006333")]


def _pubtator(path, pmids):
    lines = []
    for pmid in pmids:
        lines += [f"{pmid}|t|{TITLE}", f"{pmid}|a|{ABSTRACT}"]
        text, cursor = f"{TITLE} {ABSTRACT}", 0
        for surface, gold in GOLD:
            start = text.index(surface, cursor)
            cursor = start + len(surface)
            lines.append(f"{pmid}\t{start}\t{cursor}\t{surface}\tDisease\t{gold}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def _with_candidates(corpus_path, out_path):
    collection = read_corpus(corpus_path)
    mentions = list(iter_mentions(collection))
    candidates = toy_candidates(mentions, k=4)
    write_bioc(write_candidates(collection, {m.key: c for m, c in zip(mentions, candidates)}), out_path)
    return out_path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    toy_ontology().to_disk(root / "ontology.jsonl.gz")
    train = _pubtator(root / "train.txt", ["101", "102", "103"])
    dev = _pubtator(root / "dev.txt", ["201"])
    return {"root": root, "bert": write_tiny_bert(root / "bert"), "ontology": root / "ontology.jsonl.gz", "train": train, "dev": dev,
            "train_candidates": _with_candidates(train, root / "train.xmr.xml"), "dev_candidates": _with_candidates(dev, root / "dev.xmr.xml")}


def test_train_then_apply_reranker(files, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(files["root"])
    output = files["root"] / "reranker"
    result = runner.invoke(app, [
        "train-reranker", "--crosstype", "multi", "--model", str(files["bert"]), "--train-corpus", str(files["train"]),
        "--val-corpus", str(files["dev"]), "--candidates-from", str(files["train_candidates"]),
        "--val-candidates-from", str(files["dev_candidates"]), "--ontology", str(files["ontology"]), "--output", "reranker",
        "--top-k", "4", "--epochs", "1", "--batch-size", "4", "--max-length", "128", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (output / "model-best" / "reranker.json").exists()
    # the summary names the model by an absolute path, though the output was given relative to the working folder
    assert json.loads((output / "training.json").read_text())["model_dir"] == str((output / "model-best").resolve())

    reranked_path = files["root"] / "dev.reranked.xml"
    result = runner.invoke(app, ["apply-reranker", "--model", str(output), "--in-corpus", str(files["dev_candidates"]),
                                 "--out-corpus", str(reranked_path), "--device", "cpu"])
    assert result.exit_code != 0 and "is a training output folder; give the model in it" in " ".join(result.output.split())
    result = runner.invoke(app, ["apply-reranker", "--model", str(output / "model-best"), "--in-corpus", str(files["dev_candidates"]),
                                 "--out-corpus", str(reranked_path), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    before = read_corpus(files["dev_candidates"])
    mentions = list(iter_mentions(before))
    stored = {(d.id, a.id): get_candidates(a) for d in before.documents for _, a in iter_annotations(d)}
    expected = Reranker.load(output / "model-best", device="cpu").rerank(mentions, [stored[m.key] for m in mentions])
    after = read_corpus(reranked_path)
    written = {(d.id, a.id): get_candidates(a) for d in after.documents for _, a in iter_annotations(d)}
    for mention, ranked in zip(mentions, expected):
        got = written[mention.key]
        assert [c for c, _ in got] == [c for c, _ in ranked]
        assert [s for _, s in got] == pytest.approx([s for _, s in ranked], abs=1e-5)


def test_train_reranker_reads_a_medic_release_file_and_learns_the_gold_ids_it_lacks(files, tmp_path):
    """Heart failure is left out of the release: the training mentions name it, as the XMR model would."""
    release = [c for c in toy_ontology() if c.id != "MESH:D006333"]
    medic = write_medic(release, tmp_path / "CTD_diseases.tsv.gz")
    result = CliRunner().invoke(app, [
        "train-reranker", "--crosstype", "parallel", "--model", str(files["bert"]), "--train-corpus", str(files["train"]),
        "--val-corpus", str(files["dev"]), "--candidates-from", str(files["train_candidates"]),
        "--val-candidates-from", str(files["dev_candidates"]), "--ontology", str(medic), "--output", str(tmp_path / "r"),
        "--top-k", "4", "--epochs", "1", "--batch-size", "4", "--max-length", "128", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    saved = Reranker.load(tmp_path / "r" / "model-best", device="cpu").ontology
    assert [(c.id, c.name, c.synonyms, c.alt_ids) for c in saved] == [
        *[(c.id, c.name, c.synonyms, c.alt_ids) for c in release], ("MESH:D006333", "cardiac failure", [], [])]


def test_user_errors_fail_cleanly(files, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["apply-reranker", "--model", str(tmp_path), "--in-corpus", str(files["dev_candidates"]),
                                 "--out-corpus", str(tmp_path / "out.xml")])
    assert result.exit_code == 1 and "reranker.json" in result.output
    result = runner.invoke(app, ["apply-reranker", "--model", str(tmp_path), "--in-corpus", str(files["dev"]),
                                 "--out-corpus", str(tmp_path / "out.xml")])  # the gold file, without candidates
    assert result.exit_code == 1 and "has a `candidate_ids`" in " ".join(result.output.split()) and not (tmp_path / "out.xml").exists()
    result = runner.invoke(app, [
        "train-reranker", "--crosstype", "quadruple", "--model", str(files["bert"]), "--train-corpus", str(files["train"]),
        "--val-corpus", str(files["dev"]), "--candidates-from", str(files["train_candidates"]), "--ontology", str(files["ontology"]),
        "--output", str(tmp_path / "o")])
    assert result.exit_code == 1 and "crosstype = 'quadruple'" in result.output
    result = runner.invoke(app, [
        "train-reranker", "--model", str(files["bert"]), "--train-corpus", str(files["train"]), "--val-corpus", str(files["dev"]),
        "--candidates-from", str(files["train_candidates"]), "--output", str(tmp_path / "o"), "--lr", "0"])
    assert result.exit_code == 1 and "lr = 0.0 is invalid; it must be a number > 0" in result.output
    result = runner.invoke(app, [
        "train-reranker", "--model", str(files["bert"]), "--train-corpus", str(files["train"]), "--val-corpus", str(files["dev"]),
        "--candidates-from", str(files["train_candidates"]), "--val-candidates-from", str(files["dev_candidates"]),
        "--output", str(tmp_path / "o"), "--device", "cpu"])
    assert result.exit_code == 1 and "--ontology" in result.output
    result = runner.invoke(app, [
        "train-reranker", "--model", str(files["bert"]), "--train-corpus", str(files["train"]), "--val-corpus", str(files["dev"]),
        "--candidates-from", str(files["dev_candidates"]), "--ontology", str(files["ontology"]), "--output", str(tmp_path / "o"),
        "--max-length", "128", "--device", "cpu"])
    assert result.exit_code == 1 and "none of the" in result.output


def test_apply_reranker_writes_the_reranker_confidence_and_drops_the_xmr_one(files, tmp_path):
    from spacy_xmr.rerank.confidence import fit_calibrator

    stale = read_corpus(files["dev_candidates"])
    mentions = list(iter_mentions(stale))
    stored = {(d.id, a.id): get_candidates(a) for d in stale.documents for _, a in iter_annotations(d)}
    candidates = [stored[m.key] for m in mentions]
    with_xmr_confidence = tmp_path / "dev.confident.xml"  # as `apply-xmr` writes it with a calibrated model
    write_bioc(write_candidates(stale, stored, {key: 0.99 for key in stored}), with_xmr_confidence)
    reranker = Reranker.from_encoder(RerankerConfig(model_name=str(files["bert"]), max_length=128, max_candidate_tokens=12),
                                     toy_ontology(), device="cpu")
    reranker.save(tmp_path / "uncalibrated")
    reranker.calibrator = fit_calibrator(copies(20), *synthetic_rankings(copies(20)), toy_ontology())
    reranker.save(tmp_path / "calibrated")
    expected = reranker.confidence(candidates, reranker.rerank(mentions, candidates))

    written = {}
    for name in ("calibrated", "uncalibrated"):
        out = tmp_path / f"{name}.xml"
        result = CliRunner().invoke(app, ["apply-reranker", "--model", str(tmp_path / name), "--in-corpus", str(with_xmr_confidence),
                                          "--out-corpus", str(out), "--device", "cpu"])
        assert result.exit_code == 0, result.output
        annotations = {(d.id, a.id): a for d in read_corpus(out).documents for _, a in iter_annotations(d)}
        written[name] = [get_confidence(annotations[m.key]) for m in mentions]
    assert written["calibrated"] == pytest.approx(expected) and written["calibrated"] != [0.99] * len(mentions)
    assert written["uncalibrated"] == [None] * len(mentions)


@pytest.mark.parametrize("corpus_concepts", [False, True])
def test_reranker_learns_the_concepts_of_the_xmr_model_it_reranks(files, tmp_path, monkeypatch, corpus_concepts):
    """Heart failure is left out of the release. An XMR model trained with `training.corpus_concepts` false never
    names it, so the reranker trained on that model's candidates must not learn it either (it used to be re-added
    from the training corpus whatever the model did); with corpus concepts, the model's ontology holds it."""
    from spacy_xmr.rerank import RerankerConfig
    from spacy_xmr.rerank.labels import training_examples
    from spacy_xmr.workflows import rerank as workflow
    from spacy_xmr.workflows.xmr import train_from_files
    from spacy_xmr.xmr import XMRConfig

    release = [c for c in toy_ontology() if c.id != "MESH:D006333"]
    medic = write_medic(release, tmp_path / "CTD_diseases.tsv.gz")
    config = XMRConfig.from_dict({"tree": {"max_leaf_size": 2}, "training": {"corpus_concepts": corpus_concepts}})
    train_from_files(medic, [files["train"]], config, progress=False).save(tmp_path / "xmr")
    seen = {}

    def record(config, train_mentions, train_candidates, val_mentions, val_candidates, ontology, output_dir, **options):
        seen.update(mentions=train_mentions, candidates=train_candidates, ontology=ontology)
        return {}

    monkeypatch.setattr(workflow, "train_reranker", record)
    workflow.train_reranker_from_files(RerankerConfig(top_k=4), files["train"], files["dev"], tmp_path / "xmr", None, tmp_path / "r")
    learned = {c.id for c in seen["ontology"]} - {c.id for c in release}
    examples = training_examples(seen["mentions"], [[c for c, _ in ranked] for ranked in seen["candidates"]], seen["ontology"],
                                 top_k=4, gold_policy="add", seed=0)
    named = {concept_id for ids in examples.candidate_ids for concept_id in ids}
    if corpus_concepts:
        assert learned == {"MESH:D006333"} and "MESH:D006333" in named
    else:
        assert learned == set() and "MESH:D006333" not in named and examples.n_skipped_no_gold_id > 0


def test_train_reranker_refuses_an_output_that_is_an_input_or_inside_one_or_a_folder_of_the_users(files, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    command = ["train-reranker", "--crosstype", "base", "--model", str(files["bert"]), "--train-corpus", str(files["train"]),
               "--val-corpus", str(files["dev"]), "--candidates-from", str(files["train_candidates"]),
               "--val-candidates-from", str(files["dev_candidates"]), "--ontology", str(files["ontology"]),
               "--top-k", "4", "--epochs", "1", "--device", "cpu", "--output"]
    bert_files = sorted(p.name for p in files["bert"].iterdir())
    for output, expected in [(files["train"], "refusing to overwrite the input"), (files["bert"], "refusing to overwrite the input"),
                             (files["bert"] / "run", "refusing to write inside the input folder"),
                             (tmp_path / "mine", "not an earlier output of this kind")]:
        result = CliRunner().invoke(app, [*command, str(output)])
        assert result.exit_code == 1 and expected in " ".join(result.output.split()), result.output
    assert sorted(p.name for p in files["bert"].iterdir()) == bert_files and not (files["bert"] / "run").exists()
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
