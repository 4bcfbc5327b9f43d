"""Calibration figures (spacy_xmr/calibration_metrics.py): reliability bins, expected calibration error, precision
against coverage, where a threshold keeps tied confidences together."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_xmr.calibration_metrics import (
    TARGET_PRECISIONS, THRESHOLDS, at_threshold, calibration_summary, coverage_at_precision, expected_calibration_error,
    precision_coverage, reliability_bins,
)
from spacy_xmr.errors import SpacyXmrError

TIED = ([0.9, 0.9, 0.8, 0.5], [True, False, True, True])  # keeping 0.9: 2 links, 1 right; 0.8: 3, 2 right; 0.5: 4, 3
RANKED = ([0.95, 0.9, 0.8, 0.3], [True, True, True, False])


def test_expected_calibration_error_weighs_each_bins_gap_by_its_size():
    # bin 0.9: confidence 0.9, accuracy 0.5 (gap 0.4, 2 of 4); bin 0.1: confidence 0.1, accuracy 0 (gap 0.1, 2 of 4)
    assert expected_calibration_error([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]) == pytest.approx(0.25)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == 0.0
    assert expected_calibration_error([], []) == 0.0


def test_reliability_bins_are_equal_width_and_the_last_holds_one():
    rows = reliability_bins([0.05, 0.15, 0.15, 1.0], [0, 1, 0, 1], n_bins=10)
    assert [(r["low"], r["n"], r["accuracy"]) for r in rows] == [(0.0, 1, 0.0), (0.1, 2, 0.5), (0.9, 1, 1.0)]
    assert rows[1]["mean_confidence"] == pytest.approx(0.15)


def test_coverage_at_precision_keeps_tied_confidences_together():
    assert coverage_at_precision(*TIED, 0.7) == {"precision_target": 0.7, "coverage": 1.0, "threshold": 0.5, "precision": 0.75}
    assert coverage_at_precision(*TIED, 0.9)["coverage"] == 0.0 and coverage_at_precision(*TIED, 0.9)["threshold"] is None
    assert coverage_at_precision(*RANKED, 0.9) == {"precision_target": 0.9, "coverage": 0.75, "threshold": 0.8, "precision": 1.0}


def test_precision_coverage_points_are_thresholds_on_the_confidence():
    assert [(p["coverage"], p["precision"]) for p in precision_coverage(*RANKED, n_points=4)] == [
        (0.25, 1.0), (0.5, 1.0), (0.75, 1.0), (1.0, 0.75)]
    assert [p["coverage"] for p in precision_coverage(*TIED, n_points=4)] == [0.5, 0.5, 0.75, 1.0]  # 0.9 keeps two


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0]), st.booleans()), min_size=1, max_size=60))
def test_every_reported_point_is_what_its_threshold_keeps(pairs):
    confidence, correct = (np.array(column) for column in zip(*pairs))
    summary = calibration_summary(confidence, correct)
    for point in [*summary["precision_coverage"], *(c for c in summary["coverage_at_precision"] if c["threshold"] is not None)]:
        kept = confidence >= point["threshold"]
        assert point["coverage"] == pytest.approx(kept.mean()) and point["precision"] == pytest.approx(correct[kept].mean())
    for found in summary["coverage_at_precision"]:  # no lower threshold reaches the target
        lower = [t for t in set(confidence) if found["threshold"] is None or t < found["threshold"]]
        assert all(correct[confidence >= t].mean() < found["precision_target"] for t in lower)
    assert [row["threshold"] for row in summary["at_threshold"]] == list(THRESHOLDS)
    assert [c["precision_target"] for c in summary["coverage_at_precision"]] == list(TARGET_PRECISIONS)
    assert summary["n"] == len(pairs) and sum(row["n"] for row in summary["reliability"]) == len(pairs)


def test_at_threshold_without_links_has_no_precision():
    assert at_threshold(*RANKED, 0.99) == {"threshold": 0.99, "coverage": 0.0, "precision": None}


@pytest.mark.parametrize("confidence, correct, message", [
    ([0.5, 0.6], [True], "2 confidences but 1 outcomes"),
    ([0.5, 1.2], [True, False], "outside \\[0, 1\\]"),
    ([float("nan")], [True], "not a number"),
])
def test_bad_pairs_are_refused(confidence, correct, message):
    with pytest.raises(SpacyXmrError, match=message):
        calibration_summary(confidence, correct)
