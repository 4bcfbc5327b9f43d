"""`spacy-xmr evaluate` refuses what it cannot score and warns when the scores would mislead: gold ids
outside the ontology (BC5CDR's chemicals against a disease ontology), entity types the model never saw, and documents
it learned from."""
from __future__ import annotations

import json

import bioc
import pytest
from typer.testing import CliRunner

from spacy_xmr.cli import app
from spacy_xmr.corpus import read_corpus, set_candidates, write_bioc
from spacy_xmr.corpus.bioc_documents import annotation_span, iter_annotations
from spacy_xmr.evaluation_checks import CALIBRATION_DOCUMENT_INFON, TRAINED_TYPES_INFON, TRAINING_DOCUMENT_INFON
from synthetic import write_medic

runner = CliRunner()
OUTSIDE_ID = "MESH:D000001"  # not in the synthetic ontology (its ids are D99xxxx)


def _add_chemical(document: bioc.BioCDocument) -> None:
    """Annotate, as a Chemical with an id outside the ontology, the first word of the first passage that no
    annotation overlaps."""
    passage = document.passages[0]
    taken = [annotation_span(annotation) for _, annotation in iter_annotations(document)]
    start = passage.offset
    for word in passage.text.split(" "):
        end = start + len(word)
        if word.isalpha() and all(end <= lo or start >= hi for lo, hi in taken):
            annotation = bioc.BioCAnnotation()
            annotation.id = f"{document.id}-chemical"
            annotation.text = word
            annotation.infons.update({"type": "Chemical", "identifier": OUTSIDE_ID})
            annotation.add_location(bioc.BioCLocation(start, len(word)))
            passage.add_annotation(annotation)
            return
        start = end + 1


@pytest.fixture(scope="module")
def mixed_corpus(synthetic_corpus_dir, tmp_path_factory):
    """(gold path, predictions path, number of Chemical mentions): the synthetic dev set plus a Chemical per
    document; the predictions name each gold id first (Diseases right) and were 'trained on' Disease only."""
    directory = tmp_path_factory.mktemp("mixed")
    collection = read_corpus(synthetic_corpus_dir / "dev.xml")
    for document in collection.documents:
        _add_chemical(document)
    write_bioc(collection, directory / "gold.xml")
    n_chemicals = 0
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            n_chemicals += annotation.infons["type"] == "Chemical"
            gold = annotation.infons["identifier"].split("|")
            set_candidates(annotation, [(concept_id, 1.0) for concept_id in gold] + [("MESH:D990001", 0.5)])
    collection.infons[TRAINED_TYPES_INFON] = "Disease"
    write_bioc(collection, directory / "pred.xml")
    return directory / "gold.xml", directory / "pred.xml", n_chemicals


def _evaluate(*args):
    result = runner.invoke(app, ["evaluate", *map(str, args)])
    return result, " ".join(result.output.split())


@pytest.mark.parametrize("k", ["0", "-3"])
def test_k_below_one_is_refused(mixed_corpus, k):
    gold, pred, _ = mixed_corpus
    result, output = _evaluate("--gold", gold, "--pred", pred, "--k", "5", "--k", k)
    assert result.exit_code == 1
    assert "each k must be >= 1" in output
    assert f"R@{k}" not in output


def test_gold_file_given_as_predictions_is_refused(mixed_corpus):
    gold, _, _ = mixed_corpus
    result, output = _evaluate("--gold", gold, "--pred", gold)
    assert result.exit_code == 1
    assert "candidate_ids" in output and "spacy-xmr apply-xmr" in output and str(gold) in output


def test_warns_when_many_gold_ids_are_outside_the_ontology(mixed_corpus, synthetic_ontology_path, tmp_path):
    gold, pred, n_chemicals = mixed_corpus
    result, output = _evaluate("--gold", gold, "--pred", pred, "--ontology", synthetic_ontology_path,
                               "--metric-file", tmp_path / "metrics.json")
    assert result.exit_code == 0, output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    share = n_chemicals / metrics["n_mentions"]
    assert f"{n_chemicals} of {metrics['n_mentions']} evaluated mentions ({share:.1%})" in output
    assert f"Chemical {n_chemicals}" in output and "--entity-type Disease" in output
    assert any("outside the ontology" in warning for warning in metrics["warnings"])

    result, output = _evaluate("--gold", gold, "--pred", pred, "--ontology", synthetic_ontology_path,
                               "--entity-type", "Disease")
    assert result.exit_code == 0, output
    assert "outside the ontology" not in output and "not trained on" not in output
    assert "acc@1 1.0000" in output


def test_warns_about_entity_types_the_model_was_not_trained_on(mixed_corpus, synthetic_model_dir, tmp_path):
    gold, _, n_chemicals = mixed_corpus
    applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(gold),
                                  "--out-corpus", str(tmp_path / "pred.xml")])
    assert applied.exit_code == 0, applied.output
    assert read_corpus(tmp_path / "pred.xml").infons[TRAINED_TYPES_INFON] == "Disease"
    warning = f"{n_chemicals} mentions of types the model was not trained on (Chemical {n_chemicals}; trained on Disease)"
    assert warning in " ".join(applied.output.split())  # apply-xmr warns first
    result, output = _evaluate("--gold", gold, "--pred", tmp_path / "pred.xml")
    assert result.exit_code == 0, output
    assert warning in output and "apply-xmr with --entity-type Disease" in output


def test_no_entity_type_is_advised_when_the_file_has_none_of_the_trained_types(synthetic_model_dir, synthetic_corpus_dir, tmp_path):
    """A model trained on one corpus's type names applied to another's (NCBI Disease's SpecificDisease, … against
    BC5CDR's Disease): an --entity-type of the trained types would link nothing, so none is advised."""
    collection = read_corpus(synthetic_corpus_dir / "dev.xml")
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            annotation.infons["type"] = "Disorder"
    write_bioc(collection, tmp_path / "gold.xml")
    applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(tmp_path / "gold.xml"),
                                  "--out-corpus", str(tmp_path / "pred.xml")])
    output = " ".join(applied.output.split())
    assert applied.exit_code == 0 and "types the model was not trained on (Disorder" in output
    assert "none of them is in this file" in output and "--entity-type" not in output


def test_documents_the_model_learned_from_are_marked_and_warned_about(synthetic_model_dir, synthetic_corpus_dir, tmp_path):
    """A test file that holds training documents (here: two of train.xml's among dev.xml's) gives figures that are not
    held-out: apply-xmr marks those documents and says so, and evaluate says it again for the gold documents among
    them; predicted documents that are not gold documents count as false positives end to end, and say so."""
    gold = read_corpus(synthetic_corpus_dir / "dev.xml")
    learned = read_corpus(synthetic_corpus_dir / "train.xml").documents[:2]
    learned_ids = [document.id for document in learned]
    n_learned_mentions = sum(1 for document in learned for _ in iter_annotations(document))
    gold.documents.extend(learned)
    write_bioc(gold, tmp_path / "gold.xml")
    applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(tmp_path / "gold.xml"),
                                  "--out-corpus", str(tmp_path / "pred.xml")])
    assert applied.exit_code == 0, applied.output
    warning = (f"2 of the {len(gold.documents)} predicted documents ({', '.join(learned_ids)}, {n_learned_mentions} linked mentions) "
               "are documents the model learned from")
    assert warning in " ".join(applied.output.split())
    marked = [d.id for d in read_corpus(tmp_path / "pred.xml").documents if d.infons.get(TRAINING_DOCUMENT_INFON) == "true"]
    assert marked == learned_ids
    result, output = _evaluate("--gold", tmp_path / "gold.xml", "--pred", tmp_path / "pred.xml")
    assert result.exit_code == 0, output
    assert warning.replace("predicted documents", "gold documents") in output and "not in the gold file" not in output

    # the same predictions against the gold file without the two training documents: held out, but two extra documents
    result, output = _evaluate("--gold", synthetic_corpus_dir / "dev.xml", "--pred", tmp_path / "pred.xml")
    assert result.exit_code == 0, output
    assert "learned from" not in output
    assert (f"2 predicted documents ({', '.join(learned_ids)}) are not in the gold file: their {n_learned_mentions} linked mentions "
            "count as false positives") in output

    applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(synthetic_corpus_dir / "dev.xml"),
                                  "--out-corpus", str(tmp_path / "dev-pred.xml")])
    assert applied.exit_code == 0 and "learned from" not in applied.output
    assert not any(TRAINING_DOCUMENT_INFON in d.infons for d in read_corpus(tmp_path / "dev-pred.xml").documents)


def test_documents_the_confidence_was_calibrated_on_are_warned_about(mixed_corpus, tmp_path):
    gold, pred, _ = mixed_corpus
    collection = read_corpus(pred)
    collection.documents[0].infons[CALIBRATION_DOCUMENT_INFON] = "true"
    write_bioc(collection, tmp_path / "pred.xml")
    result, output = _evaluate("--gold", gold, "--pred", tmp_path / "pred.xml")
    assert result.exit_code == 0, output
    assert (f"1 of the {len(collection.documents)} gold documents ({collection.documents[0].id}, ") in output
    assert "the model's confidence was calibrated on" in output and "though acc@1 and R@k are" in output


def test_predictions_of_another_corpus_and_an_empty_gold_selection_are_refused(mixed_corpus, tmp_path):
    gold, pred, _ = mixed_corpus
    collection = read_corpus(pred)
    for document in collection.documents:
        document.id = f"other-{document.id}"
    write_bioc(collection, tmp_path / "other.xml")
    result, output = _evaluate("--gold", gold, "--pred", tmp_path / "other.xml")
    assert result.exit_code == 1 and "is a document of the gold file" in output and "another corpus?" in output

    result, output = _evaluate("--gold", gold, "--pred", pred, "--entity-type", "Diseases")
    assert result.exit_code == 1 and "no mention of the entity type 'Diseases' has a gold id" in output


def test_types_left_unlinked_count_as_without_a_prediction_and_are_named(mixed_corpus, synthetic_model_dir, tmp_path):
    gold, _, n_chemicals = mixed_corpus
    applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(gold),
                                  "--out-corpus", str(tmp_path / "pred.xml"), "--entity-type", "Disease"])
    assert applied.exit_code == 0, applied.output
    result, output = _evaluate("--gold", gold, "--pred", tmp_path / "pred.xml", "--metric-file", tmp_path / "metrics.json")
    assert result.exit_code == 0, output
    assert json.loads((tmp_path / "metrics.json").read_text())["n_without_prediction"] == n_chemicals
    assert (f"the predictions link no gold mention of some types (Chemical {n_chemicals}): they count as misses; to score "
            "only the linked types, evaluate with --entity-type Disease") in output
    result, output = _evaluate("--gold", gold, "--pred", tmp_path / "pred.xml", "--entity-type", "Chemical")
    assert result.exit_code == 1 and f"none of its {n_chemicals} annotations of the entity type 'Chemical' has" in output
    assert "predictions made for other entity types" in output


def test_a_rankers_output_does_not_mark_the_xmr_models_calibration_documents(synthetic_corpus_dir):
    """The confidence in apply-ranker's output is the ranker's, calibrated out-of-fold on the training corpus: the XMR
    model's --val-corpus documents are held out from it."""
    from types import SimpleNamespace

    from spacy_xmr.corpus import iter_mentions
    from spacy_xmr.evaluation_checks import mark_what_the_model_learned
    from spacy_xmr.xmr.training_documents import DocumentSet

    collection = read_corpus(synthetic_corpus_dir / "dev.xml")
    mentions = list(iter_mentions(collection))
    model = SimpleNamespace(stats={}, training_documents=None, calibration_documents=DocumentSet.of(m.document_text for m in mentions))
    for confidence_is_the_models, marked in ((True, len(collection.documents)), (False, 0)):
        mark_what_the_model_learned(collection, mentions, model, confidence_is_the_models)
        assert sum(d.infons.pop(CALIBRATION_DOCUMENT_INFON, None) == "true" for d in collection.documents) == marked


def test_a_medic_release_file_serves_as_the_ontology_as_in_the_training_commands(mixed_corpus, synthetic_ontology,
                                                                                 synthetic_ontology_path, tmp_path):
    gold, pred, _ = mixed_corpus
    metrics = {}
    for name, ontology in (("jsonl", synthetic_ontology_path), ("medic", write_medic(synthetic_ontology, tmp_path / "CTD_diseases.tsv.gz"))):
        result, output = _evaluate("--gold", gold, "--pred", pred, "--ontology", ontology, "--metric-file", tmp_path / f"{name}.json")
        assert result.exit_code == 0, output
        metrics[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert metrics["medic"]["acc_at_1"] == metrics["jsonl"]["acc_at_1"] and metrics["medic"]["warnings"] == metrics["jsonl"]["warnings"]


def test_warns_when_the_cut_offs_are_longer_than_the_candidate_lists(mixed_corpus, synthetic_model_dir, tmp_path):
    gold, _, _ = mixed_corpus
    outputs = {}
    for top_k in (1, 50):
        applied = runner.invoke(app, ["apply-xmr", "--model", str(synthetic_model_dir), "--in-corpus", str(gold), "--top-k",
                                      str(top_k), "--out-corpus", str(tmp_path / f"pred{top_k}.xml"), "--entity-type", "Disease"])
        assert applied.exit_code == 0, applied.output
        result, outputs[top_k] = _evaluate("--gold", gold, "--pred", tmp_path / f"pred{top_k}.xml", "--entity-type", "Disease")
        assert result.exit_code == 0, outputs[top_k]
    assert "lists hold at most 1 candidates, so R@5, R@10, R@20, R@50 count only those" in outputs[1]
    assert "--top-k 50" in outputs[1] and "lists hold at most" not in outputs[50]


@pytest.mark.parametrize("which", ["gold", "pred"])
def test_refuses_a_metric_file_that_is_an_input(mixed_corpus, tmp_path, which):
    gold, pred, _ = mixed_corpus
    target = {"gold": gold, "pred": pred}[which]
    before = target.read_bytes()
    result, output = _evaluate("--gold", gold, "--pred", pred, "--metric-file", target)
    assert result.exit_code == 1 and "refusing to overwrite the input" in output
    assert target.read_bytes() == before


def test_warns_about_gold_ids_spelled_otherwise_however_few(synthetic_corpus_dir, synthetic_ontology_path, tmp_path):
    collection = read_corpus(synthetic_corpus_dir / "dev.xml")
    [(_, first), *_] = iter_annotations(collection.documents[0])
    first.infons["identifier"] = first.infons["identifier"].lower()  # 'mesh:d99...': one mention in the whole set
    write_bioc(collection, tmp_path / "gold.xml")
    for _, annotation in (pair for document in collection.documents for pair in iter_annotations(document)):
        set_candidates(annotation, [(annotation.infons["identifier"].split("|")[0], 1.0)])
    write_bioc(collection, tmp_path / "pred.xml")
    result, output = _evaluate("--gold", tmp_path / "gold.xml", "--pred", tmp_path / "pred.xml", "--ontology", synthetic_ontology_path)
    assert result.exit_code == 0, output
    assert "of the gold ids, 1 are in the ontology spelled otherwise (the corpus's 'mesh:d99" in output
    assert "outside the ontology" not in output  # too few for that warning
