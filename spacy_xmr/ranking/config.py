"""Learned ranker settings: one dataclass that round-trips through JSON, checked by `spacy_xmr.settings`."""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings, setting

OBJECTIVES = ("lambdarank", "rank_xendcg", "binary")


@dataclass
class RankerConfig(Settings):
    """How many XMR candidates are reranked, how the out-of-fold lists are made, and LightGBM's settings.

    `top_k`: the XMR candidates each mention's list holds (the ranker reorders them, it adds none); `folds`: the
    training corpus's documents are dealt into that many folds, and each fold's lists come from an XMR model
    trained on the others, so that training sees lists as hard as at test time. The rest are LightGBM's
    (`objective`: lambdarank, the listwise rank_xendcg, or a pointwise binary classifier of each pair;
    `num_leaves`, `learning_rate`, `n_estimators`, `min_data_in_leaf`, `feature_fraction`, `lambda_l2`).
    `calibration_folds`: the inner document folds whose rankers score the lists that the confidence is fitted on
    (0: no calibrator, so no confidence).
    """

    label = "ranker config:"
    top_k: int = setting(10, at_least=2)
    folds: int = setting(5, at_least=2)
    objective: str = setting("binary", one_of=OBJECTIVES)  # dev acc@1 NCBI / BC5CDR: binary 0.917 / 0.903, lambdarank 0.906 / 0.901
    # dev acc@1 NCBI / BC5CDR, mean of 5 seeds: 300 trees at 0.05 0.9154 / 0.9011, 150 at 0.1 0.9159 / 0.9022 (and half the
    # prediction time), 200 at 0.075 0.9149 / 0.9018, 150 at 0.05 0.9151 / 0.8998
    n_estimators: int = setting(150, at_least=1)
    learning_rate: float = setting(0.1, above=0)
    num_leaves: int = setting(7, at_least=2)
    min_data_in_leaf: int = setting(50, at_least=1)
    feature_fraction: float = setting(0.8, above=0, at_most=1)
    # dev acc@1 NCBI / BC5CDR, mean of 5 seeds (`rank_ncbi_disease.py --seeds 5`): 1.0 0.9124 / 0.9007, 10.0 0.9154 / 0.9011,
    # 30.0 0.9141 / 0.9018, 100.0 0.9139 / 0.9011
    lambda_l2: float = setting(10.0, at_least=0)
    seed: int = setting(0, at_least=0)
    calibration_folds: int = setting(3, at_least=0)

    def check(self) -> None:
        if self.calibration_folds == 1:
            self.fail("calibration_folds", "0 (no calibrator) or at least 2 (inner document folds)")

    def lightgbm_params(self) -> dict:
        """LightGBM's parameters: the objective on binary relevance, one thread (the lists are small; threads only
        contend), deterministic."""
        return {
            "objective": self.objective, "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf, "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2, "seed": self.seed, "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbosity": -1,
        }
