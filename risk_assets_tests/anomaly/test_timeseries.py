"""Time-series detectors on a short synthetic series with an injected spike."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from risk_assets.anomaly.lstm_autoencoder import LstmAutoEncoderDetector
from risk_assets.anomaly.seasonal import SeasonalMadDetector, detect_daily_period
from risk_assets.anomaly.service_metrics import MetricDetectionSettings, detect_metric_anomalies
from risk_assets.anomaly.streaming import (
    RobustDeviationConfig,
    RobustDeviationDetector,
    ValueNoveltyDetector,
    causal_percentile_surprise,
    nearest_seen_distance,
    suppress_repeats,
)

SPIKE = 450
N_POINTS = 600
PERIOD = 48  # points per day at 30-minute steps


@pytest.fixture(scope="module")
def series():
    """A daily sine with noise, 30-minute steps, and one spike at index 450."""
    rng = np.random.default_rng(1)
    steps = np.arange(N_POINTS)
    values = 10 + 3 * np.sin(2 * np.pi * steps / PERIOD) + rng.normal(0, 0.2, N_POINTS)
    values[SPIKE] += 8.0
    timestamps = pd.Series(pd.date_range("2024-01-01", periods=N_POINTS, freq="30min"))
    return timestamps, values


def test_value_novelty_peaks_at_spike(series):
    _, values = series
    scores = ValueNoveltyDetector().score(values)
    assert scores.shape == (N_POINTS,)
    assert int(np.argmax(scores[100:])) + 100 == SPIKE


def test_value_novelty_is_causal(series):
    _, values = series
    full = ValueNoveltyDetector().score(values)
    prefix = ValueNoveltyDetector().score(values[: SPIKE + 1])
    np.testing.assert_allclose(full[: SPIKE + 1], prefix)


def test_robust_deviation_peaks_at_spike(series):
    _, values = series
    detector = RobustDeviationDetector(RobustDeviationConfig(window=200, season=PERIOD))
    scores = detector.score(values)
    # The spike is the first point to beat every earlier score after the warm-up.
    assert scores[SPIKE] > scores[150:SPIKE].max()


def test_robust_deviation_is_causal(series):
    _, values = series
    detector = RobustDeviationDetector(RobustDeviationConfig(window=200, season=PERIOD))
    full = detector.score(values)
    prefix = detector.score(values[: SPIKE + 1])
    np.testing.assert_allclose(full[: SPIKE + 1], prefix)


def test_robust_deviation_rejects_bad_season():
    with pytest.raises(ValueError, match="season must be a positive"):
        RobustDeviationDetector(RobustDeviationConfig(season=0))


def test_nearest_seen_distance_by_hand():
    distances = nearest_seen_distance(np.array([0.0, 10.0, 4.0, 10.0, 7.5]), min_history=1)
    np.testing.assert_allclose(distances, [0.0, 10.0, 4.0, 0.0, 2.5])


def test_percentile_surprise_of_new_maximum():
    surprise = causal_percentile_surprise(np.array([1.0, 2.0, 3.0, 0.5]), min_history=3)
    # All three earlier scores are at or above 0.5, so the surprise is -log(4 / 4).
    assert surprise[3] == pytest.approx(0.0)
    top = causal_percentile_surprise(np.array([1.0, 2.0, 3.0, 9.0]), min_history=3)
    assert top[3] == pytest.approx(np.log(4.0))


def test_suppress_repeats_keeps_new_maxima():
    scores = np.array([0.0, 5.0, 4.0, 6.0, 1.0, 0.0, 0.0, 3.0])
    np.testing.assert_allclose(
        suppress_repeats(scores, suppression=3), [0.0, 5.0, 0.0, 6.0, 0.0, 0.0, 0.0, 3.0]
    )


def test_suppress_repeats_rejects_negative_length():
    with pytest.raises(ValueError, match="suppression must be >= 0"):
        suppress_repeats(np.ones(3), -1)


def test_detect_daily_period(series):
    timestamps, values = series
    assert detect_daily_period(timestamps, values) == PERIOD


def test_stl_mad_flags_only_spike(series):
    timestamps, values = series
    detector = SeasonalMadDetector(threshold=5.0)
    scores = detector.score(timestamps, values)
    flags = detector.flag(scores)
    assert flags[SPIKE]
    assert flags.sum() == 1


def test_stl_mad_rejects_bad_threshold():
    with pytest.raises(ValueError, match="threshold must be positive"):
        SeasonalMadDetector(threshold=0)


def test_lstm_autoencoder_peaks_at_spike(series, tmp_path):
    _, values = series
    detector = LstmAutoEncoderDetector(window=8, hidden_size=8, epochs=5).fit(values[:300])
    scores = detector.score(values)
    assert scores.shape == (N_POINTS,)
    assert np.all(scores[:7] == 0)
    assert SPIKE <= int(np.argmax(scores)) < SPIKE + 8
    detector.save(tmp_path / "lstm")
    restored = LstmAutoEncoderDetector.load(tmp_path / "lstm")
    np.testing.assert_allclose(restored.score(values), scores, rtol=1e-5)


def test_lstm_rejects_short_series():
    with pytest.raises(ValueError, match="fewer than the window of 32"):
        LstmAutoEncoderDetector().fit(np.arange(10.0))


def test_service_metric_anomalies_flag_spike(series):
    timestamps, values = series
    frame = pd.DataFrame(
        {"timestamp": timestamps, "service": "api", "metric": "latency_ms", "value": values}
    )
    other = frame.assign(metric="cpu", value=np.r_[values[:SPIKE], values[SPIKE:] * 0 + 10])
    settings = MetricDetectionSettings(lstm_epochs=3, lstm_window=8)
    table = detect_metric_anomalies(pd.concat([frame, other]), settings)
    assert len(table) == 2 * N_POINTS
    latency = table[table["metric"] == "latency_ms"].reset_index(drop=True)
    assert latency.loc[SPIKE, "is_anomaly"]
    assert latency.loc[SPIKE, "stl_flag"]
    assert latency["lstm_score"].notna().all()


def test_saved_series_models_reproduce_scores(series, tmp_path):
    timestamps, values = series
    frame = pd.DataFrame(
        {"timestamp": timestamps, "service": "api/v1", "metric": "latency ms", "value": values}
    )
    settings = MetricDetectionSettings(lstm_epochs=2, lstm_window=8)
    table = detect_metric_anomalies(frame, settings, model_folder=tmp_path)
    index = json.loads((tmp_path / "series.json").read_text())
    assert list(index.values()) == [{"service": "api/v1", "metric": "latency ms"}]
    folder = tmp_path / next(iter(index))
    assert "/" not in folder.name
    assert " " not in folder.name
    scoring = json.loads((folder / "scoring.json").read_text())
    restored = LstmAutoEncoderDetector.load(folder)
    rescored = restored.score(values) / scoring["median_training_error"]
    np.testing.assert_allclose(rescored, table["lstm_score"].to_numpy(), rtol=1e-4)


def test_service_metric_anomalies_missing_column():
    with pytest.raises(ValueError, match=r"missing columns \['metric'\]"):
        detect_metric_anomalies(pd.DataFrame(columns=["timestamp", "service", "value"]))
