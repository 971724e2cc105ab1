"""NAB scorer: hand-computed cases and reproduction of the published scoreboard."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_assets.anomaly.nab_corpus import (
    load_nab_corpus,
    load_published_scores,
    load_published_thresholds,
)
from risk_assets.anomaly.nab_scoring import (
    PROFILES,
    build_layout,
    normalize_score,
    optimize_threshold,
    score_corpus,
    score_detections,
)

NAB_ROOT = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "timeseries" / "nab"
STANDARD = PROFILES["standard"]

# 100 points at one-minute steps. The probation is floor(0.15 * 100) = 15 points.
# One window covers points 40..49 (width 10).
TIMES = pd.date_range("2024-01-01", periods=100, freq="min")
WINDOW = [[str(TIMES[40]), str(TIMES[49])]]


def _sigmoid_reward(position: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def _score(points: list[int], profile=STANDARD) -> float:
    layout = build_layout(TIMES, WINDOW)
    detections = np.zeros(100, dtype=bool)
    detections[points] = True
    return score_detections(layout, detections, profile).score


def test_detection_at_window_start():
    assert _score([40]) == pytest.approx(1.0)


def test_detection_late_in_window():
    # Last point: relative position -1/10, divided by the reward at the start.
    expected = _sigmoid_reward(-0.1) / _sigmoid_reward(-1.0)
    assert _score([49]) == pytest.approx(expected)
    assert expected == pytest.approx(0.24824, abs=1e-5)


def test_only_first_detection_in_window_counts():
    assert _score([45, 41, 48]) == pytest.approx(_sigmoid_reward(-0.9) / _sigmoid_reward(-1.0))


def test_missed_window_costs_fn_weight():
    assert _score([]) == pytest.approx(-1.0)
    assert _score([], PROFILES["reward_low_FN_rate"]) == pytest.approx(-2.0)


def test_false_positive_before_window():
    # Before the first window a false positive costs the full fp_weight.
    assert _score([20, 40]) == pytest.approx(1.0 - 0.11)


def test_false_positive_just_after_window():
    # Three points past the end of a width-10 window: position 3 / (10 - 1).
    expected = 1.0 + 0.11 * _sigmoid_reward(3 / 9)
    assert _score([40, 52]) == pytest.approx(expected)
    assert _score([40, 52], PROFILES["reward_low_FP_rate"]) == pytest.approx(
        1.0 + 0.22 * _sigmoid_reward(3 / 9)
    )


def test_false_positive_far_after_window():
    # More than three window widths past the end: the full penalty.
    assert _score([80]) == pytest.approx(-1.0 - 0.11)


def test_probationary_detections_ignored():
    assert _score([3, 10, 14, 40]) == pytest.approx(1.0)
    assert _score([15, 40]) == pytest.approx(1.0 - 0.11)


def test_counts_of_file_score():
    layout = build_layout(TIMES, WINDOW)
    detections = np.zeros(100, dtype=bool)
    detections[[20, 42, 44, 90]] = True
    result = score_detections(layout, detections, STANDARD)
    assert result.tp == 1
    assert result.fp == 2
    assert result.fn == 0


def test_normalization_null_and_perfect():
    assert normalize_score(-1.0, 1, STANDARD) == pytest.approx(0.0)
    assert normalize_score(1.0, 1, STANDARD) == pytest.approx(100.0)
    assert normalize_score(0.0, 1, STANDARD) == pytest.approx(50.0)


def test_threshold_sweep_matches_fixed_threshold():
    layout = build_layout(TIMES, WINDOW)
    scores = np.zeros(100)
    scores[20] = 0.6  # a false positive before the window
    scores[42] = 0.9  # inside the window
    layouts = {"series": layout}
    threshold, best = optimize_threshold(layouts, {"series": scores}, STANDARD)
    assert threshold == pytest.approx(0.9)
    assert best == pytest.approx(score_corpus(layouts, {"series": scores}, 0.9, STANDARD))


def test_window_without_points_raises():
    with pytest.raises(ValueError, match="contains no timestamp"):
        build_layout(TIMES, [["2030-01-01", "2030-01-02"]])


def test_detections_of_wrong_length_raise():
    layout = build_layout(TIMES, WINDOW)
    with pytest.raises(ValueError, match="one per point"):
        score_detections(layout, np.zeros(5, dtype=bool), STANDARD)


PUBLISHED = {
    "numenta": {"standard": 70.1, "reward_low_FP_rate": 63.1, "reward_low_FN_rate": 74.3},
    "windowedGaussian": {
        "standard": 39.6,
        "reward_low_FP_rate": 20.9,
        "reward_low_FN_rate": 47.4,
    },
}


@pytest.mark.datasets
@pytest.mark.skipif(not NAB_ROOT.is_dir(), reason=f"NAB corpus folder absent: {NAB_ROOT}")
@pytest.mark.parametrize("detector", sorted(PUBLISHED))
def test_published_scoreboard_reproduced(detector):
    corpus = load_nab_corpus(NAB_ROOT)
    layouts = {name: series.layout for name, series in corpus.items()}
    scores = load_published_scores(NAB_ROOT, detector)
    thresholds = load_published_thresholds(NAB_ROOT, detector)
    for profile_name, expected in PUBLISHED[detector].items():
        measured = score_corpus(layouts, scores, thresholds[profile_name], PROFILES[profile_name])
        assert measured == pytest.approx(expected, abs=0.1), profile_name
