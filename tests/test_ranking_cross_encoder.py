"""The learned ranker with the cross-encoder feature group: `train-ranker --reranker` on the synthetic corpus with a
tiny random BERT reranker; the training lists' out-of-fold scores; the ranker that keeps its reranker and scores with
it in `rank_with`, the `xmr_ranker` component and a saved pipeline."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import spacy

pytest.importorskip("lightgbm", reason="the learned ranker needs lightgbm (pip install 'spacy-xmr[rank]')")
pytest.importorskip("torch", reason="the cross-encoder needs torch")
rerank = pytest.importorskip("spacy_xmr.rerank", reason="the rerank subpackage is not installed")
from rerank_support import write_tiny_bert  # noqa: E402  (needs transformers, like the reranker)

from spacy_xmr.corpus import collection_to_docs, read_corpus  # noqa: E402
from spacy_xmr.corpus.spacy_docs import USER_DATA_KEY  # noqa: E402
from spacy_xmr.pipeline.mentions import mentions_of_spans  # noqa: E402
from spacy_xmr.ranking import LearnedRanker  # noqa: E402
from spacy_xmr.ranking.cross_encoder import out_of_fold_scores, scores_of  # noqa: E402
from spacy_xmr.ranking.model import CROSS_ENCODER_DIR  # noqa: E402
from spacy_xmr.ranking.training import document_folds  # noqa: E402
from spacy_xmr.xmr import CandidateEvidence, XMRModel  # noqa: E402
from ranking_support import train_ranker_with_cli  # noqa: E402


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory, synthetic_ontology):
    """An untrained base reranker on a tiny random BERT, set to train one epoch (what `train-reranker` would save)."""
    root = tmp_path_factory.mktemp("cross-encoder")
    config = rerank.RerankerConfig(crosstype="base", model_name=str(write_tiny_bert(root / "tiny-bert")), max_length=128,
                                   max_candidate_tokens=16, precision="fp32", epochs=1)
    rerank.Reranker.from_encoder(config, synthetic_ontology, device="cpu", local_files_only=True).save(root / "reranker")
    return root / "reranker"


@pytest.fixture(scope="module")
def ranker_dir(tmp_path_factory, synthetic_ontology_path, synthetic_corpus_dir, synthetic_model_dir, reranker_dir):
    model, output = train_ranker_with_cli(tmp_path_factory.mktemp("ranker"), synthetic_ontology_path, synthetic_corpus_dir,
                                          synthetic_model_dir, "--reranker", str(reranker_dir), "--device", "cpu")
    assert "cross-encoder of fold 2: trained on" in output
    return model


def test_each_lists_score_comes_from_a_cross_encoder_that_never_trained_on_its_fold(monkeypatch, synthetic_ontology,
                                                                                    synthetic_mentions):
    mentions = synthetic_mentions["train"]
    folds = document_folds(mentions, 3)
    evidence = [[CandidateEvidence(mention.gold_ids[0], 1.0, {})] for mention in mentions]
    trained_on = []

    def train_reranker(config, train_mentions, *args, **kwargs):
        trained_on.append({m.key for m in train_mentions})
        return {"model_dir": str(len(trained_on) - 1), "train_seconds": 0.0}

    def load(model_dir, device):  # a cross-encoder that scores every pair with its own number
        return SimpleNamespace(score=lambda ms, ids, batch_size: [[float(model_dir)] * len(row) for row in ids])

    monkeypatch.setattr(rerank, "train_reranker", train_reranker)
    monkeypatch.setattr(rerank, "Reranker", SimpleNamespace(load=load))
    scores = out_of_fold_scores(synthetic_ontology, mentions, evidence, folds, rerank.RerankerConfig(), corpus_concepts=True)
    assert len(trained_on) == 3
    for mention, fold, row in zip(mentions, folds, scores):
        assert row == [float(fold)] and mention.key not in trained_on[fold]
        assert all(mention.key in keys for other, keys in enumerate(trained_on) if other != fold)


def test_the_ranker_keeps_its_reranker_and_scores_the_lists_with_it(ranker_dir, synthetic_model_dir, synthetic_mentions):
    ranker = LearnedRanker.load(ranker_dir, device="cpu")
    assert ranker.with_cross_encoder and (ranker_dir / CROSS_ENCODER_DIR).is_dir() and ranker.cross_encoder is not None
    assert ranker.feature_names[-2:] == ["cross_encoder_score", "cross_encoder_rank"]
    xmr, dev = XMRModel.load(synthetic_model_dir), synthetic_mentions["dev"]
    evidence = xmr.channel_scores(dev, top_k=ranker.config.top_k)
    explicit = ranker.rank(dev, evidence, xmr.ontology, scores_of(ranker.cross_encoder, dev, evidence))
    scored = []
    score = ranker.cross_encoder.score
    ranker.cross_encoder.score = lambda mentions, ids, **kwargs: scored.append(ids) or score(mentions, ids, **kwargs)
    assert ranker.rank_with(xmr, dev)[0] == explicit
    assert scored == [[[c.concept_id for c in candidates] for candidates in evidence]]  # every list, by its own cross-encoder


def test_the_component_ranks_with_the_cross_encoder_and_a_saved_pipeline_keeps_it(ranker_dir, synthetic_model_dir,
                                                                                  synthetic_corpus_dir, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(synthetic_model_dir)})
    nlp.add_pipe("xmr_ranker", config={"model": str(ranker_dir)})
    dev_docs = collection_to_docs(read_corpus(synthetic_corpus_dir / "dev.xml"), spacy.blank("en"))
    docs = list(nlp.pipe(doc.copy() for doc in dev_docs))
    # the mentions the component reads: a span's context is its token window in the doc, not its corpus sentence, and
    # the cross-encoder scores what it is shown
    mentions = mentions_of_spans([ent for doc in dev_docs for ent in doc.ents])
    expected = LearnedRanker.load(ranker_dir, device="cpu").rank_with(XMRModel.load(synthetic_model_dir), mentions)[0]
    by_location = {(doc.user_data[USER_DATA_KEY]["document_id"], ent.start_char, ent.end_char): [c for c, _ in ranked]
                   for (doc, ent), ranked in zip([(doc, ent) for doc in dev_docs for ent in doc.ents], expected)}

    def candidates(docs) -> dict:
        return {(doc.user_data[USER_DATA_KEY]["document_id"], ent.start_char, ent.end_char): [c for c, _ in ent._.xmr_candidates]
                for doc in docs for ent in doc.ents}

    assert candidates(docs) == by_location
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "xmr_ranker" / "model" / CROSS_ENCODER_DIR).is_dir()
    loaded = spacy.load(tmp_path / "pipeline")
    assert candidates(loaded.pipe(doc.copy() for doc in dev_docs)) == by_location
