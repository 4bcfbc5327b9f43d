"""Candidate metrics: hand-checked values, alt-id resolution, end-to-end scores, properties and the CLI."""
from __future__ import annotations

import json

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import Mention, read_corpus, write_bioc, write_candidates
from spacy_xmr.corpus.gold_rank import rank_of, strict_rank_of
from spacy_xmr.errors import SpacyXmrError
from spacy_xmr.evaluation import evaluate_candidates, evaluate_files
from spacy_xmr.ontology import Concept, Ontology

ONTOLOGY = Ontology(
    [Concept("MESH:D1", "one", alt_ids=["MESH:D9"]), Concept("MESH:D2", "two"), Concept("MESH:D3", "three")]
)


def _mention(annotation_id, gold, start=0):
    return Mention("doc", annotation_id, start, start + 1, "x", gold_ids=gold)


GOLD = [_mention("a", ["MESH:D1"], 0), _mention("b", ["MESH:D2", "MESH:D3"], 2), _mention("c", ["MESH:D3"], 4),
        _mention("d", [], 6)]


def test_hand_checked_lenient_and_strict_metrics():
    predictions = {
        ("doc", "a"): ["MESH:D2", "MESH:D9"],  # alt id of D1 at rank 2
        ("doc", "b"): [("MESH:D3", 0.9), ("MESH:D1", 0.5), ("MESH:D2", 0.1)],  # lenient rank 1, all gold by rank 3
        ("doc", "c"): ["NIL"],
    }
    metrics = evaluate_candidates(GOLD, predictions, ONTOLOGY, ks=(1, 2, 3))
    assert (metrics["n_mentions"], metrics["n_without_gold_id"], metrics["n_multi_id"]) == (3, 1, 1)
    assert metrics["acc_at_1"] == pytest.approx(1 / 3)
    assert metrics["recall_at_k"] == pytest.approx({"1": 1 / 3, "2": 2 / 3, "3": 2 / 3})
    assert metrics["mrr"] == pytest.approx((1 / 2 + 1) / 3)
    # strict: b needs D2 and D3; shortest prefix holding both has length 3 → strict rank 3 - 1 = 2
    assert metrics["strict"]["recall_at_k"] == pytest.approx({"1": 0.0, "2": 2 / 3, "3": 2 / 3})
    assert metrics["strict"]["mrr"] == pytest.approx((1 / 2 + 1 / 2) / 3)
    assert metrics["e2e"] is None and metrics["n_without_prediction"] == 0


def test_without_ontology_alt_ids_do_not_match_and_missing_ids_are_listed():
    predictions = {("doc", "a"): ["MESH:D9"]}
    assert evaluate_candidates(GOLD, predictions, None)["acc_at_1"] == 0.0
    gold = [_mention("a", ["MESH:D7"]), _mention("b", ["MESH:D7", "MESH:D1"], 2)]
    metrics = evaluate_candidates(gold, {}, ONTOLOGY)
    assert metrics["n_gold_missing_from_ontology"] == 2 and metrics["gold_ids_missing_from_ontology"] == ["MESH:D7"]
    assert metrics["n_without_prediction"] == 2 and metrics["mrr"] == 0.0


def test_span_keyed_predictions_give_end_to_end_scores():
    predictions = {
        ("doc", 0, 1): ["MESH:D1"],  # true positive
        ("doc", 2, 3): ["MESH:D1", "MESH:D2"],  # right span, wrong top-1
        ("doc", 8, 9): ["MESH:D3"],  # no gold span: false positive
        ("doc", 4, 5): [],  # nothing predicted
    }
    e2e = evaluate_candidates(GOLD, predictions, ONTOLOGY, match_by="span")["e2e"]
    assert (e2e["n_predicted"], e2e["n_true_positive"]) == (3, 1)
    assert e2e["precision"] == pytest.approx(1 / 3) and e2e["recall"] == pytest.approx(1 / 3)
    assert e2e["f1"] == pytest.approx(1 / 3)


def test_match_mode_is_explicit():
    by_location = {mention.location: ["MESH:D1"] for mention in GOLD}
    assert evaluate_candidates(GOLD, by_location, ONTOLOGY)["n_without_prediction"] == 3  # keys are not guessed
    assert evaluate_candidates(GOLD, by_location, ONTOLOGY, match_by="span")["acc_at_1"] == pytest.approx(1 / 3)
    with pytest.raises(SpacyXmrError, match="match_by='offsets'"):
        evaluate_candidates(GOLD, by_location, match_by="offsets")


def test_strict_rank_definition():
    assert strict_rank_of(["b", "a"], {"a", "b"}) == 1
    assert strict_rank_of(["a", "x", "b"], {"a", "b"}) == 2
    assert strict_rank_of(["a"], {"a", "b"}) is None


def test_rank_of_resolves_alt_ids_skips_nil_and_keeps_first_places():
    ranking = [("NIL", 9.0), ("MESH:D2", 1.0), ("MESH:D9", 0.5), ("MESH:D1", 0.4), ("MESH:D3", 0.1)]
    assert rank_of(ranking, ["MESH:D1"], ONTOLOGY) == 2  # D9 is an alt id of D1; NIL is no candidate
    assert rank_of(ranking, ["MESH:D3"], ONTOLOGY) == 3  # D1 repeated (as D9, then D1) keeps one place
    assert rank_of(ranking, ["MESH:D1"]) == 3 and rank_of(ranking, ["MESH:D7"], ONTOLOGY) is None
    assert rank_of(ranking, ["MESH:D9"], ONTOLOGY) == rank_of(ranking, ["MESH:D1"], ONTOLOGY)  # gold alt id too


ids = st.sampled_from([f"MESH:D{i}" for i in range(8)])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(ids, min_size=1, max_size=3, unique=True), st.lists(ids, max_size=8)), min_size=1, max_size=10))
def test_metric_properties(cases):
    gold = [_mention(str(i), g, i) for i, (g, _) in enumerate(cases)]
    predictions = {("doc", str(i)): p for i, (_, p) in enumerate(cases)}
    metrics = evaluate_candidates(gold, predictions, ks=(1, 2, 5, 10))
    for scores in (metrics, metrics["strict"]):
        recalls = [scores["recall_at_k"][k] for k in ("1", "2", "5", "10")]
        assert recalls == sorted(recalls)
        assert scores["acc_at_1"] == scores["recall_at_k"]["1"]
        assert 0.0 <= scores["mrr"] <= 1.0 and scores["acc_at_1"] <= scores["mrr"] <= recalls[-1]
    for key in ("acc_at_1", "mrr"):
        assert metrics["strict"][key] <= metrics[key]


def _invoke_evaluate(args: list[str]):
    """Run `spacy-xmr evaluate ARGS` (typer runs a lone command without its name until a second one exists)."""
    is_group = hasattr(typer.main.get_command(app), "commands")
    return CliRunner().invoke(app, (["evaluate"] if is_group else []) + args)


def _gold_file(tmp_path):
    path = tmp_path / "gold.txt"
    path.write_text(
        "1|t|Breast cancer and ovarian cancer.\n1|a|None.\n"
        "1\t0\t13\tBreast cancer\tDisease\tD001943\n1\t18\t32\tovarian cancer\tDisease\tD010051\n",
        encoding="utf8",
    )
    return path


def test_evaluate_files_and_cli(tmp_path):
    gold_path = _gold_file(tmp_path)
    predicted = write_candidates(read_corpus(gold_path), {("1", "0"): [("MESH:D001943", 3.0)], ("1", "1"): [("MESH:D1", 1.0)]})
    write_bioc(predicted, tmp_path / "pred.xml")
    ontology_path = tmp_path / "onto.jsonl.gz"
    Ontology([Concept("MESH:D001943", "Breast Neoplasms")]).to_disk(ontology_path)
    metrics = evaluate_files(gold_path, tmp_path / "pred.xml", ontology_path)
    assert metrics["acc_at_1"] == 0.5 and metrics["e2e"]["precision"] == 0.5
    assert metrics["gold_ids_missing_from_ontology"] == ["MESH:D010051"]

    out = tmp_path / "metrics.json"
    result = _invoke_evaluate(["--gold", str(gold_path), "--pred", str(tmp_path / "pred.xml"),
                               "--ontology", str(ontology_path), "--metric-file", str(out), "--k", "1", "--k", "5"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["recall_at_k"] == {"1": 0.5, "5": 0.5} and written["ks"] == [1, 5]
    assert "acc@1" in result.output


def test_cli_reports_bad_input_without_traceback(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<collection><document>", encoding="utf8")
    result = _invoke_evaluate(["--gold", str(_gold_file(tmp_path)), "--pred", str(bad)])
    assert result.exit_code == 1 and "bad.xml" in result.output and "Traceback" not in result.output
