"""xmr_reranker after xmr_linker, with tiny randomly initialised BERT rerankers of every crosstype
saved by the rerank subpackage's own `Reranker.save`, uncalibrated and calibrated."""
from __future__ import annotations

import pytest
import spacy

from spacy_xmr.errors import ConfigError
from spacy_xmr.pipeline import examples_with_gold_entities
from pipeline_slice import annotations, gold_examples, linker_only_pipeline, slice_collection, slice_ontology, trained_model_dir

torch = pytest.importorskip("torch", reason="the reranker needs torch")
rerank = pytest.importorskip("spacy_xmr.rerank", reason="the rerank subpackage is not installed")
from rerank_support import write_tiny_bert  # noqa: E402  (needs transformers, like the reranker)

N_DOCS = 4


@pytest.fixture(scope="module")
def reranker_dirs(tmp_path_factory):
    """One saved reranker directory per crosstype, on a tiny random BERT."""
    root = tmp_path_factory.mktemp("rerankers")
    encoder = write_tiny_bert(root / "tiny-bert")
    dirs = {}
    for crosstype in rerank.CROSSTYPES:
        config = rerank.RerankerConfig(crosstype=crosstype, model_name=str(encoder), max_length=128,
                                       max_candidate_tokens=16, precision="fp32")
        reranker = rerank.Reranker.from_encoder(config, slice_ontology(), device="cpu", local_files_only=True)
        reranker.save(root / crosstype)
        dirs[crosstype] = root / crosstype
    return dirs


@pytest.fixture(scope="module")
def calibrated_dir(reranker_dirs, tmp_path_factory):
    """The random `parallel` reranker calibrated on the XMR candidates of the synthetic dev mentions, of which it
    ranks few right (the XMR stage ranks most right)."""
    from spacy_xmr.corpus import iter_mentions
    from spacy_xmr.rerank.confidence import fit_calibrator
    from spacy_xmr.xmr import XMRModel

    mentions = [mention for mention in iter_mentions(slice_collection("dev")) if mention.gold_ids]
    xmr = XMRModel.load(trained_model_dir())
    candidates = xmr.predict_mentions(mentions, top_k=10)
    reranker = rerank.Reranker.load(reranker_dirs["parallel"], device="cpu")
    reranker.calibrator = fit_calibrator(mentions, candidates, reranker.rerank(mentions, candidates), xmr.ontology)
    assert reranker.calibrator is not None
    directory = tmp_path_factory.mktemp("calibrated") / "reranker"
    reranker.save(directory)
    return directory


def _pipeline(reranker_dir, **config):
    nlp = linker_only_pipeline()
    nlp.add_pipe("xmr_reranker", config={"model": str(reranker_dir), "device": "cpu", **config})
    return nlp


def assert_same_rerankings(docs_a, docs_b, tolerance: float = 1e-4):
    """Same spans and candidates with scores equal within `tolerance`; the top concept may differ only
    between near-tied candidates (a random cross-encoder gives many, and kernels or padding move them)."""
    docs_a, docs_b = list(docs_a), list(docs_b)
    assert len(docs_a) == len(docs_b)
    for doc_a, doc_b in zip(docs_a, docs_b):
        assert [(e.start_char, e.end_char) for e in doc_a.ents] == [(e.start_char, e.end_char) for e in doc_b.ents]
        for ent_a, ent_b in zip(doc_a.ents, doc_b.ents):
            scores_a, scores_b = dict(ent_a._.xmr_candidates), dict(ent_b._.xmr_candidates)
            assert scores_a.keys() == scores_b.keys()
            assert [scores_a[c] for c in scores_a] == pytest.approx([scores_b[c] for c in scores_a], abs=tolerance)
            assert scores_a[ent_b.kb_id_] == pytest.approx(scores_a[ent_a.kb_id_], abs=2 * tolerance)


def _gold_docs(nlp):
    return [eg.predicted for eg in examples_with_gold_entities(nlp, gold_examples(nlp, n_docs=N_DOCS))]


@pytest.mark.parametrize("crosstype", rerank.CROSSTYPES)
def test_reranker_resorts_the_linker_candidates(reranker_dirs, crosstype):
    nlp = _pipeline(reranker_dirs[crosstype])
    with nlp.select_pipes(disable=["xmr_reranker"]):
        linked = list(nlp.pipe(doc.copy() for doc in _gold_docs(nlp)))
    reranked = list(nlp.pipe(doc.copy() for doc in _gold_docs(nlp)))
    reranker = nlp.get_pipe("xmr_reranker")
    n_changed = 0
    for before_doc, after_doc in zip(linked, reranked):
        for before, after in zip(before_doc.ents, after_doc.ents):
            old, new = before._.xmr_candidates, after._.xmr_candidates
            assert sorted(c for c, _ in old) == sorted(c for c, _ in new)
            assert [s for _, s in new] == sorted((s for _, s in new), reverse=True)
            assert after.kb_id_ == new[0][0]
            n_changed += [c for c, _ in old] != [c for c, _ in new]
    assert n_changed > 0  # a random cross-encoder reorders some lists
    # the component's scores are the reranker's own for the same mentions and candidates
    direct = reranker.predict(linked)
    assert [[c for c, _ in span] for doc in direct for span in doc] == [
        [c for c, _ in ent._.xmr_candidates] for doc in reranked for ent in doc.ents]


def test_pipe_equals_call_and_threshold_gives_nil(reranker_dirs):
    nlp = _pipeline(reranker_dirs["parallel"])
    docs = _gold_docs(nlp)
    assert_same_rerankings(nlp.pipe(doc.copy() for doc in docs), [nlp(doc.copy()) for doc in docs])
    strict = _pipeline(reranker_dirs["parallel"], threshold=1e9, threshold_on="score")
    ents = [ent for doc in strict.pipe(doc.copy() for doc in docs) for ent in doc.ents]
    assert ents and all(ent.kb_id_ == "NIL" and ent._.xmr_candidates for ent in ents)


def test_top_k_truncates_reranked_candidates(reranker_dirs):
    nlp = _pipeline(reranker_dirs["base"], top_k=3)
    ents = [ent for doc in nlp.pipe(_gold_docs(nlp)) for ent in doc.ents]
    assert ents and all(len(ent._.xmr_candidates) <= 3 for ent in ents)


def test_pipeline_with_reranker_saves_and_loads(reranker_dirs, tmp_path):
    nlp = _pipeline(reranker_dirs["passage"])
    docs = _gold_docs(nlp)
    expected = list(nlp.pipe(doc.copy() for doc in docs))
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "xmr_reranker" / "model" / "reranker.json").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    assert annotations(loaded.pipe(doc.copy() for doc in docs)) == annotations(expected)
    fresh = spacy.blank("en")
    fresh.add_pipe("xmr_linker", config={"model": str(trained_model_dir())})
    fresh.add_pipe("xmr_reranker", config={"device": "cpu"}).from_bytes(nlp.get_pipe("xmr_reranker").to_bytes())
    assert annotations(fresh.pipe(doc.copy() for doc in docs)) == annotations(expected)


def test_spans_without_candidates_become_nil_and_a_reranker_with_none_to_rerank_says_so_once(reranker_dirs, caplog):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_reranker", config={"model": str(reranker_dirs["base"]), "device": "cpu"})
    doc = nlp.make_doc("Wilson disease")
    doc.ents = [spacy.tokens.Span(doc, 0, 2, "Disease")]
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        assert nlp(doc).ents[0].kb_id_ == "NIL"
        nlp(nlp.make_doc("no entity here"))
        nlp(doc)
    warnings = [r.getMessage() for r in caplog.records if "candidates to rerank" in r.getMessage()]
    assert len(warnings) == 1 and "does it come after xmr_linker" in warnings[0]


def test_not_a_reranker_directory_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=r"xmr_reranker\] model = .*empty.*no reranker.json.*train-reranker"):
        nlp.add_pipe("xmr_reranker", config={"model": str(tmp_path / "empty")})


@pytest.mark.gpu
def test_cuda_reranker_matches_cpu(reranker_dirs):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu = _pipeline(reranker_dirs["parallel"])
    gpu = _pipeline(reranker_dirs["parallel"], device="auto")
    assert gpu.get_pipe("xmr_reranker").get_model().device.type == "cuda"
    docs = _gold_docs(cpu)
    assert_same_rerankings(cpu.pipe(doc.copy() for doc in docs), gpu.pipe(doc.copy() for doc in docs), tolerance=1e-3)



def _confidences(docs) -> list:
    return [ent._.xmr_confidence for doc in docs for ent in doc.ents]


def test_the_reranker_sets_its_own_confidence_and_the_threshold_reads_it(calibrated_dir):
    nlp = _pipeline(calibrated_dir)  # the default threshold: 0.5 on the confidence
    docs = _gold_docs(nlp)
    with nlp.select_pipes(disable=["xmr_reranker"]):
        linker_confidence = _confidences(nlp.pipe(doc.copy() for doc in docs))
    ents = [ent for doc in nlp.pipe(doc.copy() for doc in docs) for ent in doc.ents]
    confidence = [ent._.xmr_confidence for ent in ents]
    assert ents and all(0.0 <= value <= 1.0 for value in confidence)
    # the random reranker ranks few right, the XMR stage most: its confidence is its own, not the linker's
    assert sum(confidence) / len(confidence) < 0.5 < sum(linker_confidence) / len(linker_confidence)
    assert [ent.kb_id_ for ent in ents] == [ent._.xmr_candidates[0][0] if value >= 0.5 else "NIL" for ent, value in zip(ents, confidence)]
    assert {"NIL"} < {ent.kb_id_ for ent in ents}  # some linked, some not


def test_calibrated_reranker_round_trips_through_a_saved_pipeline(calibrated_dir, tmp_path):
    nlp = _pipeline(calibrated_dir)
    docs = _gold_docs(nlp)
    expected = list(nlp.pipe(doc.copy() for doc in docs))
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "xmr_reranker" / "model" / "calibration.json").exists()
    loaded = list(spacy.load(tmp_path / "pipeline").pipe(doc.copy() for doc in docs))
    assert annotations(loaded) == annotations(expected)
    assert _confidences(loaded) == _confidences(expected) and None not in _confidences(loaded)


def test_reranker_without_calibration_gives_no_confidence_and_makes_no_nil(reranker_dirs, caplog):
    """A reranker directory without calibration.json, as earlier versions wrote, still loads."""
    assert not (reranker_dirs["parallel"] / "calibration.json").exists()
    nlp = _pipeline(reranker_dirs["parallel"])  # the default threshold on the confidence has nothing to read
    ents = [ent for doc in nlp.pipe(_gold_docs(nlp)) for ent in doc.ents]
    assert ents and all(ent._.xmr_confidence is None and ent.kb_id_ == ent._.xmr_candidates[0][0] for ent in ents)
    assert "has no calibration" in caplog.text


def test_linker_lists_shorter_than_the_rerankers_training_are_reranked_with_one_warning(reranker_dirs, caplog):
    trained_k = rerank.Reranker.load(reranker_dirs["base"], device="cpu").config.top_k
    nlp = linker_only_pipeline(top_k=trained_k - 5)
    nlp.add_pipe("xmr_reranker", config={"model": str(reranker_dirs["base"]), "device": "cpu"})
    with caplog.at_level("WARNING", logger="spacy_xmr"):
        ents = [ent for doc in nlp.pipe(_gold_docs(nlp)) for ent in doc.ents] + list(nlp(_gold_docs(nlp)[0]).ents)
    assert ents and all(ent._.xmr_candidates for ent in ents)
    warnings = [r.getMessage() for r in caplog.records if "trained on" in r.getMessage()]
    assert warnings == [f"'xmr_reranker': the candidate lists hold up to {trained_k - 5} candidates and the reranker was "
                        f"trained on {trained_k}: it reranks them all, but it scores best on lists as long as its training's; "
                        f"set the xmr_linker's top_k = {trained_k}"]
