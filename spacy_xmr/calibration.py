"""`Calibrator`: turns a stage's evidence about its top candidate into the probability that the candidate is right.

Why: fused scores mean nothing to a user (an exact match scores about 5, a fuzzy one under 1), so a threshold on
them cannot say "keep the links that are right 90 % of the time". A calibrator is fitted on mentions the model did
not learn from (out-of-fold, or a validation corpus): a logistic regression over the evidence (top score, margin to
the second, which channels found the top candidate), whose output an isotonic regression then maps to observed
accuracy. Features are clipped to the range they had in the fit, so a query unlike any fitted on (a phrase that
names no concept) is not extrapolated to a confident answer. Both are stored as plain numbers (JSON, no pickle) and applied with numpy alone; scikit-learn
is imported only to fit. Any stage can use one over features of its own (the XMR stage: `xmr/confidence.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import ModelLoadError, SpacyXmrError

FORMAT_NAME = "spacy-xmr-calibration"
FORMAT_VERSION = 1
MIN_EXAMPLES = 20  # below this a fitted probability says more about the fit than about the model
MIN_EACH_CLASS = 2  # the logistic regression needs right and wrong examples


@dataclass
class Calibrator:
    """Probability that a top candidate is right, from named evidence features (see the module docstring).

    `fitted_on` records where the examples came from (`source`: "out-of-fold" or "validation"), how many there
    were and the accuracy among them, so a user can tell how far to trust the figures."""

    feature_names: list[str]
    low: list[float]  # each feature's range in the fit
    high: list[float]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    isotonic_x: list[float]
    isotonic_y: list[float]
    fitted_on: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, features: np.ndarray, correct: np.ndarray, feature_names: Sequence[str], source: str) -> "Calibrator":
        """Fit on one row of `features` per mention and whether its top candidate was right."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        features, correct = np.asarray(features, dtype=np.float64), np.asarray(correct, dtype=bool)
        n_right = int(correct.sum())
        if len(correct) < MIN_EXAMPLES or min(n_right, len(correct) - n_right) < MIN_EACH_CLASS:
            raise SpacyXmrError(f"cannot fit a calibrator on {len(correct)} mentions ({n_right} right): it needs at least "
                                f"{MIN_EXAMPLES}, with {MIN_EACH_CLASS} or more both right and wrong")
        mean, scale = features.mean(axis=0), features.std(axis=0)
        scale[scale == 0] = 1.0
        logistic = LogisticRegression(C=1.0, max_iter=1000).fit((features - mean) / scale, correct)
        raw = logistic.decision_function((features - mean) / scale)
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, correct.astype(np.float64))
        return cls(list(feature_names), features.min(axis=0).tolist(), features.max(axis=0).tolist(), mean.tolist(), scale.tolist(), logistic.coef_[0].tolist(), float(logistic.intercept_[0]),
                   isotonic.X_thresholds_.tolist(), isotonic.y_thresholds_.tolist(),
                   {"source": source, "n_mentions": len(correct), "accuracy": n_right / len(correct)})

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The probability that each row's top candidate is right."""
        features = np.clip(np.asarray(features, dtype=np.float64).reshape(-1, len(self.feature_names)), self.low, self.high)
        raw = ((features - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return np.interp(raw, self.isotonic_x, self.isotonic_y)

    def to_dict(self) -> dict:
        return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "feature_names": self.feature_names, "low": self.low,
                "high": self.high, "mean": self.mean,
                "scale": self.scale, "coef": self.coef, "intercept": self.intercept, "isotonic_x": self.isotonic_x,
                "isotonic_y": self.isotonic_y, "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, data: dict, source: str, expected_features: Sequence[str]) -> "Calibrator":
        """A calibrator stored by `to_dict`, checked to read the features `expected_features` in that order;
        ModelLoadError names `source` (the file) and what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME or data.get("format_version") != FORMAT_VERSION:
            raise ModelLoadError(f"{source}: not a spacy-xmr calibration of format version {FORMAT_VERSION}; train the model again")
        try:
            calibrator = cls(**{key: value for key, value in data.items() if key not in ("format", "format_version")})
        except TypeError as err:
            raise ModelLoadError(f"{source}: {err}; train the model again") from err
        n = len(calibrator.feature_names)
        lengths = {len(values) for values in (calibrator.low, calibrator.high, calibrator.mean, calibrator.scale, calibrator.coef)}
        if calibrator.feature_names != list(expected_features) or lengths != {n}:
            raise ModelLoadError(f"{source}: calibrates the features {calibrator.feature_names}, but this version computes "
                                 f"{list(expected_features)}; train the model again")
        if len(calibrator.isotonic_x) != len(calibrator.isotonic_y) or not calibrator.isotonic_x:
            raise ModelLoadError(f"{source}: isotonic_x and isotonic_y must be non-empty and of equal length")
        return calibrator

