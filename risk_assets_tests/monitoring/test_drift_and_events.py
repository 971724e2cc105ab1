"""Drift tests, the labeled window and the sensor's event logic, without Dagster runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_assets.monitoring.config import DriftThresholds, MonitoringSetup
from risk_assets.monitoring.drift import MIN_REFERENCE_VALUES, compute_drift
from risk_assets.monitoring.performance import LabeledWindow, labeled_performance
from risk_assets.monitoring.sensors import SensorState, update_events

THRESHOLDS = DriftThresholds()


def frames(reference_rows: int, current_rows: int = 300, shift: float = 1.0):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame(
        {"stable": rng.normal(size=reference_rows), "moving": rng.normal(size=reference_rows)}
    )
    current = pd.DataFrame(
        {"stable": rng.normal(size=current_rows), "moving": rng.normal(shift, 1, current_rows)}
    )
    return reference, current


def test_columns_without_enough_values_are_not_tested():
    reference, current = frames(3000)
    # Only 60 reference rows have a value, as for a window that filled late in training.
    reference.loc[60:, "moving"] = np.nan
    result = compute_drift(reference, current, ["stable", "moving"], MIN_REFERENCE_VALUES)
    assert [column.column for column in result.columns] == ["stable"]
    assert "60 reference values, fewer than 100" in result.skipped["moving"]
    assert result.drifted_share == 0.0
    table = result.table()
    assert table["column"].tolist() == ["stable", "moving"]
    assert table["method"].iloc[1].startswith("not tested")
    assert result.summary()["skipped_columns"] == result.skipped

    current["stable"] = np.nan
    nothing = compute_drift(reference, current, ["stable", "moving"], MIN_REFERENCE_VALUES)
    assert nothing.columns == []
    assert nothing.snapshot is None
    assert "no current value" in nothing.skipped["stable"]
    assert b"No column was tested" in nothing.html()
    # Nothing tested is not "no drift": the share is NaN, which no event acts on.
    assert np.isnan(nothing.drifted_share)
    state = SensorState(open_events={"data_drift": "d1"})
    assert update_events(state, [("d2", report(nothing.drifted_share))], THRESHOLDS) == []
    assert state.open_events == {"data_drift": "d1"}


def test_small_score_sample_is_still_tested():
    # Held-out scores of a small feed: 80 rows are enough for the score's K-S test.
    reference, current = frames(80)
    result = compute_drift(reference, current, ["moving"])
    assert [column.column for column in result.columns] == ["moving"]
    assert result.skipped == {}


def test_sparse_reference_is_tested_on_its_values():
    reference, current = frames(3000)
    reference.loc[500:, "moving"] = np.nan
    result = compute_drift(reference, current, ["stable", "moving"])
    by_column = {column.column: column for column in result.columns}
    # 500 values: Evidently picks the test for a small sample, not the 3,000 rows.
    assert by_column["moving"].method == "K-S p_value"
    assert by_column["moving"].drifted


@pytest.mark.parametrize(
    ("reference_rows", "method", "kind"),
    [(500, "K-S p_value", "p_value"), (3000, "Wasserstein distance (normed)", "distance")],
)
def test_drift_test_depends_on_sample_size(reference_rows, method, kind):
    reference, current = frames(reference_rows)
    result = compute_drift(reference, current, ["stable", "moving"])
    by_column = {column.column: column for column in result.columns}
    assert result.drifted_columns == ["moving"]
    assert result.drifted_share == 0.5
    assert by_column["moving"].method == method
    assert by_column["moving"].score_kind == kind
    assert by_column["stable"].threshold == pytest.approx(0.05 if kind == "p_value" else 0.1)
    assert b"<html" in result.html()[:2000].lower()


def test_drift_without_shared_columns_names_both_sets():
    reference, _ = frames(100)
    current = pd.DataFrame({"other": [1.0, 2.0]})
    with pytest.raises(ValueError) as error:
        compute_drift(reference, current, ["stable", "moving"])
    message = str(error.value)
    assert "reference columns: ['moving', 'stable']" in message
    assert "current columns: ['other']" in message


def test_drift_rejects_empty_sample():
    reference, current = frames(100)
    with pytest.raises(ValueError, match="current sample is empty"):
        compute_drift(reference, current.iloc[0:0], ["moving"])


def scored_days(first_day: str, days: int, frauds_per_day: int = 3) -> pd.DataFrame:
    rows = []
    for offset in range(days):
        day = pd.Timestamp(first_day) + pd.Timedelta(days=offset)
        for index in range(20):
            fraud = index < frauds_per_day
            rows.append(
                {
                    "timestamp": day + pd.Timedelta(hours=index),
                    "is_fraud": int(fraud),
                    "score": 0.9 - index * 0.01 if fraud else 0.5 - index * 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_performance_skipped_before_labels_arrive():
    scored = scored_days("2025-02-01", 5)
    window = LabeledWindow.for_day(pd.Timestamp("2025-02-05"), 7, 7)
    result = labeled_performance(scored, window, baseline_ap=0.8)
    assert result["status"] == "skipped"
    assert "labels have not arrived" in result["reason"]
    assert window.describe() == "2025-01-23..2025-01-29"


def test_performance_on_labeled_window():
    scored = scored_days("2025-02-01", 10)
    window = LabeledWindow.for_day(pd.Timestamp("2025-02-10"), 7, 7)
    result = labeled_performance(scored, window, baseline_ap=0.8)
    assert result["status"] == "computed"
    assert result["rows"] == 60  # 2025-02-01..03 are labeled by 2025-02-10
    assert result["average_precision"] == pytest.approx(1.0)
    assert result["ap_drop"] == pytest.approx(-0.2)


def test_performance_skipped_with_few_frauds():
    scored = scored_days("2025-02-01", 10, frauds_per_day=1)
    window = LabeledWindow.for_day(pd.Timestamp("2025-02-10"), 7, 7)
    result = labeled_performance(scored, window, baseline_ap=0.8, min_frauds=5)
    assert result["status"] == "skipped"
    assert "contains 3 frauds, fewer than the 5 needed" in result["reason"]


def report(drifted_share: float, ap_drop: float | None = None) -> dict:
    metadata = {"drifted_share": drifted_share, "performance_status": "skipped"}
    if ap_drop is not None:
        metadata.update(performance_status="computed", ap_drop=ap_drop)
    return metadata


def test_events_open_once_and_close():
    state = SensorState()
    opened = update_events(
        state,
        [("d1", report(0.1)), ("d2", report(0.6)), ("d3", report(0.7, 0.02))],
        THRESHOLDS,
    )
    assert [(event.kind, event.partition) for event in opened] == [("data_drift", "d2")]
    assert update_events(state, [("d4", report(0.8, 0.3))], THRESHOLDS)[0].kind == (
        "performance_drop"
    )
    assert update_events(state, [("d5", report(0.9, 0.4))], THRESHOLDS) == []
    # Between the warning and the failure threshold the events stay open.
    update_events(state, [("d6", report(0.4, 0.07))], THRESHOLDS)
    assert set(state.open_events) == {"data_drift", "performance_drop"}
    assert update_events(state, [("d7", report(0.6, 0.2))], THRESHOLDS) == []
    update_events(state, [("d8", report(0.1, 0.0))], THRESHOLDS)
    assert state.open_events == {}
    reopened = update_events(state, [("d9", report(0.6))], THRESHOLDS)
    assert [event.partition for event in reopened] == ["d9"]


def test_sensor_state_round_trips():
    state = SensorState("abc", {"data_drift": "2025-02-01"})
    restored = SensorState.from_cursor(state.to_cursor())
    assert restored == state
    assert SensorState.from_cursor(None) == SensorState()


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="drifted_share_warn=0.6"):
        DriftThresholds(drifted_share_warn=0.6, drifted_share_fail=0.5)


def test_setup_rejects_scoring_start_outside_feed():
    with pytest.raises(ValueError, match="scoring_start_day=80"):
        MonitoringSetup(n_days=75, scoring_start_day=80)
