"""The learned ranker on a real slice: a few hundred MEDIC concepts, NCBI Disease train mentions of them for the
out-of-fold lists, NCBI Disease dev mentions to evaluate. Skipped without ../shared/data (the behaviour itself is
tested on synthetic data in test_ranking_model.py); the full-size figures are benchmarks/rank_ncbi_disease.py's."""
from __future__ import annotations

import random

import pytest

pytest.importorskip("lightgbm", reason="the learned ranker needs lightgbm (pip install 'spacy-xmr[rank]')")

from spacy_xmr.calibration_metrics import expected_calibration_error  # noqa: E402
from spacy_xmr.corpus import iter_mentions, read_corpus  # noqa: E402
from spacy_xmr.corpus.gold_rank import rank_of  # noqa: E402
from spacy_xmr.evaluation import evaluate_candidates  # noqa: E402
from spacy_xmr.ontology import Ontology  # noqa: E402
from spacy_xmr.ranking import RankerConfig, train_ranker  # noqa: E402
from spacy_xmr.xmr import XMRConfig, XMRModel  # noqa: E402

N_CONCEPTS = 600
N_TRAIN_DOCUMENTS = 150
XMR_CONFIG = {"tree": {"max_leaf_size": 16, "branching_factor": 8}, "seed": 0}  # a smaller tree: seconds per model


def test_the_ranker_beats_or_matches_the_xmr_stage_and_calibrates_its_confidence_on_a_real_dev_slice(medic, ncbi_dir):
    splits = {split: [m for m in iter_mentions(read_corpus(ncbi_dir / f"NCBI{split}_corpus.txt")) if m.gold_ids]
              for split in ("trainset", "developset")}
    wanted = dict.fromkeys(resolved for m in splits["trainset"] + splits["developset"] for resolved in map(medic.resolve, m.gold_ids)
                           if resolved)
    others = random.Random(0).sample([cid for cid in medic.ids if cid not in wanted], max(0, N_CONCEPTS - len(wanted)))
    ontology = Ontology([medic[cid] for cid in [*wanted, *others]], name="medic-slice")
    documents = sorted({m.document_id for m in splits["trainset"]})[:N_TRAIN_DOCUMENTS]
    train, dev = [m for m in splits["trainset"] if m.document_id in documents], splits["developset"]

    xmr_config = XMRConfig.from_dict(XMR_CONFIG)
    ranker = train_ranker(ontology, train, RankerConfig(folds=3), xmr_config)
    xmr = XMRModel.train(ontology, train, xmr_config, progress=False)
    evidence = xmr.channel_scores(dev, top_k=ranker.config.top_k)
    ranked, confidences = ranker.rank_with_confidence(dev, evidence, xmr.ontology)
    orders = {"xmr": [[(c.concept_id, c.score) for c in candidates] for candidates in evidence], "ranker": ranked}
    results = {name: evaluate_candidates(dev, {m.key: r for m, r in zip(dev, ranked)}, xmr.ontology, [1])
               for name, ranked in orders.items()}
    print({name: (result["acc_at_1"], result["mrr"]) for name, result in results.items()})
    assert results["ranker"]["acc_at_1"] >= results["xmr"]["acc_at_1"], results
    assert ranker.stats["n_lists_used"] > 0.9 * len(train)  # out-of-fold lists still hold the gold concept mostly

    # the ranker's own confidence: fitted out-of-fold, closer to its accuracy on dev than the top candidate's list share
    correct = [rank_of(candidates, mention.gold_ids, xmr.ontology) == 1 for candidates, mention in zip(ranked, dev)]
    shares = [candidates[0][1] if candidates else 0.0 for candidates in ranked]
    print({"ece": expected_calibration_error(confidences, correct), "ece_share": expected_calibration_error(shares, correct)})
    assert ranker.calibrator.fitted_on["source"] == "out-of-fold" and all(0.0 <= c <= 1.0 for c in confidences)
    assert expected_calibration_error(confidences, correct) < expected_calibration_error(shares, correct)
