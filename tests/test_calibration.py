"""The Calibrator (spacy_xmr/calibration.py): probabilities that follow accuracy, stored as plain JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from spacy_xmr.calibration import Calibrator
from spacy_xmr.calibration_metrics import expected_calibration_error
from spacy_xmr.errors import ModelLoadError, SpacyXmrError

NAMES = ("score", "margin")


def _sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features whose first column sets the true probability of being right: sigmoid(6 x - 2)."""
    rng = np.random.default_rng(seed)
    features = rng.uniform(0, 1, size=(n, 2))
    correct = rng.uniform(size=n) < 1 / (1 + np.exp(-(6 * features[:, 0] - 2)))
    return features, correct


def test_fitted_probabilities_follow_the_accuracy_of_new_examples():
    calibrator = Calibrator.fit(*_sample(4000, 0), NAMES, "validation")
    features, correct = _sample(4000, 1)
    confidence = calibrator.predict(features)
    assert expected_calibration_error(confidence, correct) < 0.03
    grid = calibrator.predict(np.column_stack([np.linspace(0, 1, 50), np.full(50, 0.5)]))
    assert np.all(np.diff(grid) >= 0) and grid[-1] - grid[0] > 0.5  # rises with the evidence that matters
    assert calibrator.fitted_on["source"] == "validation" and calibrator.fitted_on["n_mentions"] == 4000


def test_a_stored_calibrator_predicts_the_same_from_json():
    calibrator = Calibrator.fit(*_sample(500, 0), NAMES, "out-of-fold")
    stored = json.loads(json.dumps(calibrator.to_dict()))
    loaded = Calibrator.from_dict(stored, "calibration.json", NAMES)
    features, _ = _sample(100, 2)
    np.testing.assert_array_equal(loaded.predict(features), calibrator.predict(features))


@pytest.mark.parametrize("change, message", [
    ({"format": "other"}, "not a spacy-xmr calibration"),
    ({"feature_names": ["score", "other"]}, "calibrates the features"),
    ({"isotonic_y": []}, "isotonic_x and isotonic_y"),
    ({"unknown": 1}, "unexpected keyword"),
])
def test_a_bad_stored_calibrator_names_its_file(change, message):
    stored = {**Calibrator.fit(*_sample(200, 0), NAMES, "validation").to_dict(), **change}
    with pytest.raises(ModelLoadError, match=message) as error:
        Calibrator.from_dict(stored, "model/calibration.json", NAMES)
    assert "model/calibration.json" in str(error.value)


def test_too_few_or_one_sided_examples_are_refused():
    features, correct = _sample(200, 0)
    with pytest.raises(SpacyXmrError, match="at least 20"):
        Calibrator.fit(features[:10], correct[:10], NAMES, "validation")
    with pytest.raises(SpacyXmrError, match="both right and wrong"):
        Calibrator.fit(features, np.ones(200, dtype=bool), NAMES, "validation")

