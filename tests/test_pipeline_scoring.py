"""The registered scorer: candidate recall@k / MRR and link P/R/F, matched like `spacy-xmr evaluate` (alt ids, composite
ids), and the same acc@1 and R@k as `spacy-xmr evaluate` on the same candidates."""
from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.scorer import Scorer
from spacy.tokens import Span
from spacy.training import Example

from spacy_xmr.corpus import (GOLD_SPANS_KEY, collection_to_docs, document_mentions, gold_linked_mentions, read_corpus,
                              write_bioc, write_candidates)
from spacy_xmr.corpus.bioc_documents import iter_annotations
from spacy_xmr.evaluation import evaluate_files
from spacy_xmr.ontology import Concept, Ontology, split_gold_ids
from spacy_xmr.pipeline import examples_with_gold_entities
from spacy_xmr.pipeline.extensions import register_extensions, set_candidates
from spacy_xmr.pipeline.scoring import RECALL_AT, make_candidate_scorer, score_candidates, score_links

register_extensions()
NLP = spacy.blank("en")
TEXT = "alpha beta gamma delta epsilon zeta"


def _example(gold_ids: list[str], predicted: list[tuple[str, list[str]] | None], spans_key: str | None = None) -> Example:
    """One token per mention; `predicted[i]` is (kb_id, candidate ids) or None for no predicted span."""
    reference, doc = NLP.make_doc(TEXT), NLP.make_doc(TEXT)
    gold_spans = [Span(reference, i, i + 1, "D", kb_id=kb) for i, kb in enumerate(gold_ids)]
    pred_spans = []
    for i, prediction in enumerate(predicted):
        if prediction is not None:
            kb_id, candidates = prediction
            span = Span(doc, i, i + 1, "D", kb_id=kb_id)
            set_candidates(span, [(c, 1.0 / (rank + 1)) for rank, c in enumerate(candidates)])
            pred_spans.append(span)
    if spans_key is None:
        reference.ents, doc.ents = gold_spans, pred_spans
    else:
        reference.spans[spans_key], doc.spans[spans_key] = gold_spans, pred_spans
    return Example(doc, reference)


@pytest.mark.parametrize("spans_key", [None, "mentions"])
def test_recall_at_k_and_mrr(spans_key):
    example = _example(
        ["A", "B|C", "D", "E", "NIL"],
        [("A", ["A", "X"]), ("X", ["X", "Y", "C"]), ("X", ["X"] + [f"Y{i}" for i in range(8)] + ["D"]), None, ("NIL", [])],
        spans_key,
    )
    scores = score_candidates([example], spans_key=spans_key)
    # ranks: 1, 3 (composite gold: any id counts), 10, not predicted; the NIL gold is not counted
    assert scores["xmr_recall_at_1"] == pytest.approx(1 / 4)
    assert scores["xmr_recall_at_5"] == pytest.approx(2 / 4)
    assert scores["xmr_recall_at_10"] == pytest.approx(3 / 4)
    assert scores["xmr_mrr"] == pytest.approx((1 + 1 / 3 + 1 / 10) / 4)


def test_no_gold_links_gives_undefined_scores():
    scores = score_candidates([_example(["NIL", ""], [("A", ["A"]), None])])
    assert all(value is None for value in scores.values())


@pytest.mark.parametrize("spans_key", [None, "mentions"])
def test_alt_ids_count_as_their_concept_with_the_ontology(spans_key):
    ontology = Ontology([Concept("A", "alpha", alt_ids=["A2"]), Concept("B", "beta")])
    example = _example(["A2", "B|C"], [("A", ["X", "A"]), ("C", ["B"])], spans_key)
    assert score_candidates([example], spans_key=spans_key)["xmr_recall_at_5"] == pytest.approx(1 / 2)
    resolved = score_candidates([example], spans_key=spans_key, ontology=ontology)
    assert resolved["xmr_recall_at_5"] == 1.0 and resolved["xmr_mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert score_links([example], spans_key=spans_key)["nel_micro_p"] == pytest.approx(1 / 2)  # "C" is one of "B|C"
    assert score_links([example], spans_key=spans_key, ontology=ontology)["nel_micro_f"] == 1.0


KB_IDS = st.sampled_from(["", "NIL", "A", "B"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KB_IDS, st.one_of(st.none(), KB_IDS)), min_size=1, max_size=6))
def test_span_group_links_are_scored_like_scorer_score_links(pairs):
    gold = [g for g, _ in pairs]
    predicted = [None if p is None else (p, []) for _, p in pairs]
    expected = Scorer.score_links([_example(gold, predicted)], negative_labels=["NIL", ""])
    actual = score_links([_example(gold, predicted, "mentions")], spans_key="mentions")
    for key in ("nel_micro_p", "nel_micro_r", "nel_micro_f"):
        assert actual[key] == pytest.approx(expected[key])


def test_registered_scorer_accepts_the_component_cfg():
    scorer = spacy.registry.scorers.get("spacy_xmr.candidate_scorer.v1")()
    assert scorer is make_candidate_scorer()
    scores = scorer([_example(["A"], [("A", ["A"])])], top_k=10, threshold=None, spans_key=None, labels=(), overwrite=True)
    assert scores["nel_micro_f"] == 1.0 and scores["xmr_recall_at_1"] == 1.0


# ---- nlp.evaluate and `spacy-xmr evaluate` agree on the same candidates ------------------------------------------
def _linker_pipeline(model_dir: Path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(model_dir), "spans_key": GOLD_SPANS_KEY})
    return nlp


def _both_evaluations(nlp, gold_path: Path, tmp_path: Path) -> tuple[dict, dict, Path, Path]:
    """`nlp.evaluate` on the gold mentions of `gold_path`, and `evaluate_files` (`spacy-xmr evaluate`) on a
    prediction corpus holding the candidates that the same pipeline gives those mentions; both with the
    linker model's ontology. Also returns the prediction and ontology paths."""
    collection = read_corpus(gold_path)
    references = collection_to_docs(collection, nlp)
    examples = examples_with_gold_entities(nlp, [Example(nlp.make_doc(doc.text), doc) for doc in references])
    from_spacy = nlp.evaluate(examples)
    linked = nlp.pipe(example.predicted.copy() for example in examples)
    predictions = {}
    for document, doc in zip(collection.documents, linked, strict=True):
        for mention, span in zip(document_mentions(document), doc.spans[GOLD_SPANS_KEY], strict=True):
            predictions[mention.key] = span._.xmr_candidates
    pred_path, ontology_path = tmp_path / "pred.xml", tmp_path / "ontology.jsonl.gz"
    write_bioc(write_candidates(collection, predictions), pred_path)
    nlp.get_pipe("xmr_linker").get_model().ontology.to_disk(ontology_path)
    return from_spacy, evaluate_files(gold_path, pred_path, ontology_path, ks=RECALL_AT), pred_path, ontology_path


def _assert_same_ranking_metrics(from_spacy: dict, from_files: dict) -> None:
    assert from_files["n_mentions"] > 0 and from_files["n_without_prediction"] == 0
    assert from_spacy["xmr_recall_at_1"] == pytest.approx(from_files["acc_at_1"])
    for k in RECALL_AT:
        assert from_spacy[f"xmr_recall_at_{k}"] == pytest.approx(from_files["recall_at_k"][str(k)])
    assert from_spacy["xmr_mrr"] == pytest.approx(from_files["mrr"])


def _with_alt_gold_ids(gold_path: Path, ontology, out_path: Path) -> int:
    """Write the corpus with each gold id that has an alt id replaced by it; returns how many were replaced."""
    collection = read_corpus(gold_path)
    n_replaced = 0
    for document in collection.documents:
        for _, annotation in iter_annotations(document):
            ids = split_gold_ids(annotation.infons.get("identifier", ""))
            alt = [(ontology.get(i).alt_ids or [i])[0] if ontology.get(i) else i for i in ids]
            n_replaced += sum(a != i for a, i in zip(alt, ids))
            annotation.infons["identifier"] = "|".join(alt)
    write_bioc(collection, out_path)
    return n_replaced


def test_nlp_evaluate_and_evaluate_files_agree_on_alt_gold_ids(synthetic_model_dir, synthetic_corpus_dir, tmp_path):
    nlp = _linker_pipeline(synthetic_model_dir)
    gold_path = tmp_path / "dev-alt-ids.xml"
    assert _with_alt_gold_ids(synthetic_corpus_dir / "dev.xml", nlp.get_pipe("xmr_linker").get_model().ontology, gold_path) > 5
    from_spacy, from_files, pred_path, _ = _both_evaluations(nlp, gold_path, tmp_path)
    _assert_same_ranking_metrics(from_spacy, from_files)
    unresolved = evaluate_files(gold_path, pred_path, None, ks=RECALL_AT)
    assert unresolved["acc_at_1"] < from_files["acc_at_1"]  # the alt ids only match through the ontology


def test_nlp_evaluate_and_evaluate_files_agree_on_ncbi_test(ncbi_dir, medic, tmp_path):
    """On the whole NCBI Disease test set (79 of its gold ids are MEDIC alt ids), with a model trained on NCBI
    train over the MEDIC concepts that NCBI links (a small ontology keeps training to seconds)."""
    from spacy_xmr.xmr import XMRModel

    train = gold_linked_mentions([ncbi_dir / "NCBItrainset_corpus.txt"])
    test_path = ncbi_dir / "NCBItestset_corpus.txt"
    linked = {medic.resolve(i): None for m in train + gold_linked_mentions([test_path]) for i in m.gold_ids}
    ontology = Ontology([medic[concept_id] for concept_id in linked if concept_id], name="ncbi-concepts")
    XMRModel.train(ontology, train, progress=False).save(tmp_path / "model")
    from_spacy, from_files, pred_path, _ = _both_evaluations(_linker_pipeline(tmp_path / "model"), test_path, tmp_path)
    _assert_same_ranking_metrics(from_spacy, from_files)
    assert from_files["n_multi_id"] > 0 and from_files["acc_at_1"] > 0.5
    assert evaluate_files(test_path, pred_path, None, ks=RECALL_AT)["acc_at_1"] < from_files["acc_at_1"]


def test_spacy_train_weighs_the_end_to_end_recall_and_each_score_the_scorer_gives():
    """model-best by xmr_recall_at_1 (every gold mention counts), not nel_micro_f (only the spans the NER got right:
    about 1.0 for an untrained NER that finds a few entities)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    nlp.add_pipe("xmr_linker")
    weights = nlp.config["training"]["score_weights"]
    assert weights["xmr_recall_at_1"] > 0 and weights["nel_micro_f"] is None
    assert {f"xmr_recall_at_{k}" for k in RECALL_AT} | {"xmr_mrr"} <= set(weights)
    assert "span._.xmr_confidence" in nlp.get_pipe_meta("xmr_linker").assigns
