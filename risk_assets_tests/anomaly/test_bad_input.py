"""Bad input to the anomaly package: each case raises a ValueError that names it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_assets.anomaly.lstm_autoencoder import LstmAutoEncoderDetector
from risk_assets.anomaly.nab_scoring import (
    PROFILES,
    build_layout,
    optimize_threshold,
    score_corpus,
    score_detections,
)
from risk_assets.anomaly.seasonal import SeasonalMadDetector
from risk_assets.anomaly.service_metrics import MetricDetectionSettings, detect_metric_anomalies
from risk_assets.anomaly.streaming import ValueNoveltyDetector
from risk_assets.anomaly.tabular import EnsembleDetector, IsolationForestDetector, PcaDetector
from risk_assets.anomaly.thresholds import ThresholdPolicy
from risk_assets.anomaly.transactions import score_transactions

STANDARD = PROFILES["standard"]
TIMES = pd.Series(pd.date_range("2024-01-01", periods=100, freq="min"))
WINDOW = [TIMES[40], TIMES[49]]
RNG = np.random.default_rng(0)
VALUES = RNG.normal(size=120)


def _metrics(values=VALUES, service="api", times=None) -> pd.DataFrame:
    times = pd.date_range("2024-01-01", periods=len(values), freq="min") if times is None else times
    return pd.DataFrame(
        {"timestamp": times, "service": service, "metric": "latency_ms", "value": values}
    )


def _transactions(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "transaction_id": np.arange(60),
            "amount": RNG.normal(size=60),
            "hour": RNG.normal(size=60),
        }
    )
    return frame.assign(**columns)


NO_LSTM = MetricDetectionSettings(use_lstm=False)


# Threshold policy


def test_threshold_fit_rejects_nan():
    with pytest.raises(ValueError, match="1 of 4 values not finite"):
        ThresholdPolicy(rate=0.25).fit(np.array([1.0, 2.0, np.nan, 3.0]))


def test_threshold_flag_rejects_nan():
    policy = ThresholdPolicy(rate=0.25).fit(np.arange(10.0))
    with pytest.raises(ValueError, match="scores has 1 of 2"):
        policy.flag(np.array([np.nan, 100.0]))


def test_alert_rate_policy_rejects_nan():
    policy = ThresholdPolicy(rate=0.25, kind="alert_rate")
    with pytest.raises(ValueError, match="not finite"):
        policy.flag(np.r_[np.arange(10.0), np.nan])


def test_threshold_rate_must_be_number():
    with pytest.raises(ValueError, match="got '0.01' of type str"):
        ThresholdPolicy(rate="0.01")


# Tabular detectors and transactions


def test_detector_names_non_numeric_input():
    features = np.array([["1", "x"], ["2", "3"]], dtype=object)
    with pytest.raises(ValueError, match="iforest features must be numeric"):
        IsolationForestDetector().fit(features)


def test_detector_rejects_wrong_column_count():
    detector = IsolationForestDetector().fit(RNG.normal(size=(50, 3)))
    with pytest.raises(ValueError, match="fitted on 3 feature columns but received 2"):
        detector.score(RNG.normal(size=(5, 2)))


def test_ensemble_rejects_repeated_names():
    members = [IsolationForestDetector(random_state=0), IsolationForestDetector(random_state=1)]
    with pytest.raises(ValueError, match=r"\['iforest'\] occur more than once"):
        EnsembleDetector(members)


def test_pca_skips_constant_column():
    features = np.c_[RNG.normal(size=(50, 2)), np.ones(50)]
    detector = PcaDetector().fit(features)
    assert np.isfinite(detector.training_scores_).all()
    assert np.isfinite(detector.score(features)).all()


def test_pca_rejects_identical_rows():
    with pytest.raises(ValueError, match="every one of the 2 columns is constant"):
        PcaDetector().fit(np.ones((10, 2)))


def test_transactions_name_text_column():
    frame = _transactions(kind="x")
    with pytest.raises(ValueError, match="Feature column 'kind' is not numeric: 60 values"):
        score_transactions(frame, ["amount", "kind"], autoencoder_epochs=1)


def test_transactions_reject_bad_labels():
    labels = pd.Series([0] * 60, dtype=object)
    labels[[3, 7]] = [2, "Y"]
    frame = _transactions(is_fraud=labels)
    with pytest.raises(ValueError, match="is_fraud must be 0, 1 or missing, but 2 values"):
        score_transactions(frame, ["amount", "hour"], autoencoder_epochs=1)


def test_transactions_reject_few_training_rows():
    with pytest.raises(ValueError, match="max_training_rows must be an integer >= 10, got 5"):
        score_transactions(_transactions(), ["amount", "hour"], max_training_rows=5)


def test_transactions_reject_constant_features():
    frame = _transactions(amount=1.0, hour=2.0)
    with pytest.raises(ValueError, match="Every feature column is constant"):
        score_transactions(frame, ["amount", "hour"], autoencoder_epochs=1)


def test_transactions_reject_overflow():
    frame = _transactions(amount=RNG.normal(size=60) * 1e300)
    with pytest.raises(ValueError, match=r"\['amount'\] overflow"):
        score_transactions(frame, ["amount", "hour"], autoencoder_epochs=1)


def test_transactions_reject_empty_columns():
    with pytest.raises(ValueError, match="feature_columns is empty"):
        score_transactions(_transactions(), [])


# Time-series detectors


def test_lstm_rejects_zero_batch_size():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        LstmAutoEncoderDetector(batch_size=0)


def test_lstm_rejects_two_dimensional_input():
    detector = LstmAutoEncoderDetector(window=4, epochs=1)
    with pytest.raises(ValueError, match=r"1-D array .* got shape \(50, 2\)"):
        detector.fit(np.ones((50, 2)))


def test_lstm_rejects_infinite_value():
    detector = LstmAutoEncoderDetector(window=4, epochs=1)
    with pytest.raises(ValueError, match="first, inf, is at position 10"):
        detector.fit(np.r_[VALUES[:10], np.inf, VALUES[:10]])


def test_novelty_rejects_empty_series():
    with pytest.raises(ValueError, match="values has 0 values"):
        ValueNoveltyDetector().score(np.array([]))


def test_novelty_rejects_infinite_value():
    with pytest.raises(ValueError, match="not finite"):
        ValueNoveltyDetector().score(np.r_[VALUES, np.inf])


def test_seasonal_rejects_nan():
    with pytest.raises(ValueError, match="first, nan, is at position 60"):
        SeasonalMadDetector().score(TIMES, np.r_[VALUES[:60], np.nan, VALUES[:39]])


def test_seasonal_rejects_length_mismatch():
    with pytest.raises(ValueError, match="timestamps has 50 entries but values has 100"):
        SeasonalMadDetector(period=10).score(TIMES[:50], VALUES[:100])


def test_seasonal_rejects_empty_series():
    with pytest.raises(ValueError, match="values has 0 values"):
        SeasonalMadDetector().score(TIMES[:0], VALUES[:0])


# detect_metric_anomalies


def test_metrics_reject_infinite_value():
    values = VALUES.copy()
    values[10] = np.inf
    with pytest.raises(ValueError, match=r"1 are infinite \(per service/metric series: api/"):
        detect_metric_anomalies(_metrics(values), NO_LSTM)


def test_metrics_reject_missing_service():
    table = pd.concat([_metrics(), _metrics(service=np.nan)], ignore_index=True)
    with pytest.raises(ValueError, match="120 rows with a missing service"):
        detect_metric_anomalies(table, NO_LSTM)


def test_metrics_reject_repeated_keys():
    table = pd.concat([_metrics(), _metrics()], ignore_index=True)
    with pytest.raises(ValueError, match="120 repeated \\(timestamp, service, metric\\) rows"):
        detect_metric_anomalies(table, NO_LSTM)


def test_metrics_reject_mixed_time_zones():
    times = pd.date_range("2024-01-01", periods=120, freq="min")
    mixed = list(times[:60]) + list(times[60:].tz_localize("UTC"))
    with pytest.raises(ValueError, match="timestamps cannot be read as datetimes"):
        detect_metric_anomalies(_metrics(times=mixed), NO_LSTM)


def test_metrics_reject_text_value():
    values = VALUES.astype(object)
    values[5] = "n/a"
    with pytest.raises(ValueError, match="1 values that are not numbers, e.g. 'n/a'"):
        detect_metric_anomalies(_metrics(values), NO_LSTM)


# NAB scorer


def test_nab_rejects_repeated_window():
    with pytest.raises(ValueError, match="overlap or repeat"):
        build_layout(TIMES, [WINDOW, WINDOW])


def test_nab_rejects_overlapping_windows():
    with pytest.raises(ValueError, match="points 40..49 and 45..60 overlap"):
        build_layout(TIMES, [WINDOW, [TIMES[45], TIMES[60]]])


def test_nab_names_unsorted_timestamps():
    shuffled = TIMES.sample(frac=1, random_state=0)
    with pytest.raises(ValueError, match="not in increasing order"):
        build_layout(shuffled, [WINDOW])


def test_nab_rejects_mixed_time_zones():
    aware = [bound.tz_localize("UTC") for bound in WINDOW]
    with pytest.raises(ValueError, match="is tz-aware but the timestamps are tz-naive"):
        build_layout(TIMES, [aware])


def test_nab_compares_aware_times_in_utc():
    times = TIMES.dt.tz_localize("UTC")
    window = [bound.tz_localize("UTC").tz_convert("Asia/Kolkata") for bound in WINDOW]
    layout = build_layout(times, [window])
    assert np.flatnonzero(layout.window_id >= 0)[0] == 40
    assert np.flatnonzero(layout.window_id >= 0)[-1] == 49


def test_nab_rejects_three_bounds():
    with pytest.raises(ValueError, match="must be a \\[start, end\\] pair"):
        build_layout(TIMES, [[TIMES[40], TIMES[45], TIMES[49]]])


def test_nab_rejects_missing_bound():
    with pytest.raises(ValueError, match="missing bound"):
        build_layout(TIMES, [[pd.NaT, TIMES[49]]])


def test_nab_rejects_reversed_window():
    with pytest.raises(ValueError, match="ends before it starts"):
        build_layout(TIMES, [[TIMES[49], TIMES[40]]])


def test_nab_cuts_window_at_data_start(caplog):
    layout = build_layout(TIMES, [["2023-12-31", TIMES[10]]])
    assert layout.n_windows == 1
    assert int((layout.window_id >= 0).sum()) == 11
    assert "reaches past the data" in caplog.text


def test_nab_detections_must_be_binary():
    layout = build_layout(TIMES, [WINDOW])
    with pytest.raises(ValueError, match="100 entries are not, e.g. 0.3"):
        score_detections(layout, np.full(100, 0.3), STANDARD)


def test_nab_detections_reject_nan():
    layout = build_layout(TIMES, [WINDOW])
    detections = np.zeros(100)
    detections[99] = np.nan
    with pytest.raises(ValueError, match="e.g. nan at position 99"):
        score_detections(layout, detections, STANDARD)


def test_nab_detections_accept_zero_one():
    layout = build_layout(TIMES, [WINDOW])
    detections = np.zeros(100, dtype=int)
    detections[40] = 1
    assert score_detections(layout, detections, STANDARD).tp == 1


def test_nab_corpus_rejects_nan_threshold():
    layouts = {"file": build_layout(TIMES, [WINDOW])}
    with pytest.raises(ValueError, match="threshold is NaN"):
        score_corpus(layouts, {"file": np.zeros(100)}, float("nan"), STANDARD)


def test_nab_corpus_rejects_nan_scores():
    layouts = {"file": build_layout(TIMES, [WINDOW])}
    with pytest.raises(ValueError, match="NAB file 'file' has 100 of 100 values not finite"):
        score_corpus(layouts, {"file": np.full(100, np.nan)}, 0.5, STANDARD)


def test_nab_sweep_rejects_nan_scores():
    layouts = {"file": build_layout(TIMES, [WINDOW])}
    scores = np.r_[np.zeros(99), np.nan]
    with pytest.raises(ValueError, match="1 of 100 values not finite"):
        optimize_threshold(layouts, {"file": scores}, STANDARD)


def test_nab_sweep_names_missing_file():
    layouts = {"file": build_layout(TIMES, [WINDOW])}
    with pytest.raises(ValueError, match="No anomaly scores for NAB file 'file'"):
        optimize_threshold(layouts, {"other": np.zeros(100)}, STANDARD)


def test_nab_sweep_rejects_wrong_length():
    layouts = {"file": build_layout(TIMES, [WINDOW])}
    with pytest.raises(ValueError, match="has 100 points but 10 anomaly scores"):
        optimize_threshold(layouts, {"file": np.zeros(10)}, STANDARD)


def test_nab_sweep_rejects_empty_corpus():
    with pytest.raises(ValueError, match="layouts is empty"):
        optimize_threshold({}, {}, STANDARD)
