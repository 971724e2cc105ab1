"""Point-in-time correctness of the transaction feature table."""

import numpy as np
import pandas as pd
import pytest

from risk_assets.features.fraud_features import (
    FEATURE_COLUMNS,
    FeatureWindows,
    build_transaction_features,
    feature_history_days,
    feature_lookback_days,
    full_history_features,
    mask_unfilled_windows,
)
from risk_assets.features.windows import KeyedTimeIndex
from risk_assets.ingestion.simulator import SimulationConfig, simulate


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    world = simulate(
        SimulationConfig(
            seed=21, n_customers=120, n_terminals=200, n_days=40, service_hours=2, n_incidents=0
        )
    )
    return world.transactions


def test_later_transactions_do_not_change_features(transactions):
    cutoff = transactions["timestamp"].min() + pd.Timedelta(days=25)
    early = transactions[transactions["timestamp"] < cutoff]
    alone = build_transaction_features(early).set_index("transaction_id")
    full = build_transaction_features(transactions).set_index("transaction_id")
    pd.testing.assert_frame_equal(alone[FEATURE_COLUMNS], full.loc[alone.index, FEATURE_COLUMNS])


def test_later_labels_do_not_change_features(transactions):
    cutoff = transactions["timestamp"].min() + pd.Timedelta(days=25)
    relabeled = transactions.copy()
    later = relabeled["timestamp"] >= cutoff
    relabeled.loc[later, "is_fraud"] = 1 - relabeled.loc[later, "is_fraud"]
    before = build_transaction_features(transactions)
    after = build_transaction_features(relabeled)
    rows = (transactions["timestamp"] < cutoff).to_numpy()
    pd.testing.assert_frame_equal(
        before.loc[rows, FEATURE_COLUMNS], after.loc[rows, FEATURE_COLUMNS]
    )


def test_labels_inside_delay_are_not_used(transactions):
    """Labels of the last 7 days before a transaction never reach its features."""
    windows = FeatureWindows()
    cutoff = transactions["timestamp"].min() + pd.Timedelta(days=30)
    flipped = transactions.copy()
    recent = flipped["timestamp"] >= cutoff - pd.Timedelta(days=windows.label_delay_days)
    flipped.loc[recent, "is_fraud"] = 1 - flipped.loc[recent, "is_fraud"]
    rows = (transactions["timestamp"] <= cutoff).to_numpy()
    before = build_transaction_features(transactions).loc[rows, FEATURE_COLUMNS]
    after = build_transaction_features(flipped).loc[rows, FEATURE_COLUMNS]
    pd.testing.assert_frame_equal(before, after)
    later = ~rows
    changed = build_transaction_features(flipped).loc[later, "terminal_fraud_rate_7d"]
    unchanged = build_transaction_features(transactions).loc[later, "terminal_fraud_rate_7d"]
    assert not changed.equals(unchanged), "flipped labels never reached any feature"


def test_window_counts_match_brute_force():
    rng = np.random.default_rng(0)
    keys = rng.choice(["a", "b", "c"], 300)
    seconds = np.sort(rng.integers(0, 30 * 86_400, 300))
    values = rng.uniform(0, 10, 300)
    index = KeyedTimeIndex.build(keys, seconds)
    window, lag = 5 * 86_400, 86_400
    count, total = index.window_sum(values, window, lag)
    for i in range(300):
        inside = (
            (keys == keys[i])
            & (seconds < seconds[i] - lag)
            & (seconds >= seconds[i] - lag - window)
        )
        assert count[i] == inside.sum()
        assert total[i] == pytest.approx(values[inside].sum())


def test_customer_mean_excludes_current_amount():
    tx = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3],
            "timestamp": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00"]
            ),
            "customer_id": ["c", "c", "c"],
            "terminal_id": ["t1", "t2", "t1"],
            "device_id": ["d", "d", "d"],
            "amount": [10.0, 30.0, 500.0],
            "is_fraud": [0, 0, 1],
            "fraud_scenario": [0, 0, 1],
        }
    )
    features = build_transaction_features(tx)
    assert list(features["customer_tx_count_1d"]) == [0, 1, 2]
    assert features["customer_avg_amount_1d"].iloc[2] == pytest.approx(20.0)
    assert features["amount_ratio_30d"].iloc[2] == pytest.approx(25.0)
    assert list(features["is_new_terminal_for_customer"]) == [1, 1, 0]
    assert features["seconds_since_previous_tx"].iloc[1] == 3600


def test_unfilled_windows_are_blanked():
    start = pd.Timestamp("2025-01-01")
    rows = pd.DataFrame(
        {
            "timestamp": start + pd.to_timedelta([0, 6, 7, 29, 30, 43, 44], unit="D"),
            "amount": 10.0,
            "customer_tx_count_7d": 1.0,
            "customer_tx_count_30d": 1.0,
            "amount_ratio_baseline": 1.0,
            "terminal_fraud_rate_7d": 0.0,
            "transaction_id": range(7),
        }
    )
    masked = mask_unfilled_windows(rows, start)
    assert masked["amount"].notna().all()
    assert masked["transaction_id"].tolist() == list(range(7))
    # Complete from day 7, day 30 and day 44 (30 days ending 14 days back).
    assert masked["customer_tx_count_7d"].isna().tolist() == [True, True] + [False] * 5
    assert masked["customer_tx_count_30d"].isna().tolist() == [True] * 4 + [False] * 3
    assert masked["amount_ratio_baseline"].isna().tolist() == [True] * 6 + [False]
    # A fraud rate over delayed labels needs the 7-day label delay as well.
    assert masked["terminal_fraud_rate_7d"].isna().tolist() == [True] * 3 + [False] * 4
    assert rows["customer_tx_count_30d"].notna().all()


def test_every_feature_has_a_lookback():
    lookback = feature_lookback_days()
    assert set(lookback) == set(FEATURE_COLUMNS)
    assert all(days >= 0 for days in lookback.values())


def test_windowed_features_complete_after_lookback():
    # A feed cut 20 days into the data gives the same windowed features as the whole
    # data once each feature's lookback has passed since the cut.
    world = simulate(
        SimulationConfig(
            seed=4, n_customers=80, n_terminals=120, n_days=80, service_hours=2, n_incidents=0
        )
    )
    transactions = world.transactions
    cut = transactions["timestamp"].min().normalize() + pd.Timedelta(days=20)
    full = build_transaction_features(transactions).set_index("transaction_id")
    late = build_transaction_features(transactions[transactions["timestamp"] >= cut])
    late = late.set_index("transaction_id")
    windowed = {
        name: days
        for name, days in feature_lookback_days().items()
        if name not in full_history_features()
    }
    for name, days in windowed.items():
        rows = late.index[late["timestamp"] >= cut + pd.Timedelta(days=days)]
        assert len(rows) > 100, name
        np.testing.assert_allclose(
            late.loc[rows, name].to_numpy(float), full.loc[rows, name].to_numpy(float), err_msg=name
        )


def test_history_days_cover_every_lookback():
    assert feature_history_days() == max(feature_lookback_days().values())
    assert feature_history_days() == 44


def test_mask_needs_enough_days_of_values():
    start = pd.Timestamp("2025-01-01")
    rows = pd.DataFrame(
        {
            "timestamp": start + pd.to_timedelta(np.arange(12), unit="D"),
            "customer_tx_count_7d": 1.0,
            "customer_tx_count_1d": 1.0,
        }
    )
    # The 7-day count has values on days 7 to 11 only: five days, fewer than six.
    masked = mask_unfilled_windows(rows, start, min_days=6)
    assert masked["customer_tx_count_7d"].isna().all()
    assert masked["customer_tx_count_1d"].notna().sum() == 11


def test_mask_start_in_either_time_zone():
    start = pd.Timestamp("2025-01-01")
    rows = pd.DataFrame(
        {
            "timestamp": (start + pd.to_timedelta(np.arange(10), unit="D")).tz_localize("UTC"),
            "customer_tx_count_7d": 1.0,
        }
    )
    naive_start = mask_unfilled_windows(rows, start)
    aware_start = mask_unfilled_windows(rows, start.tz_localize("UTC"))
    assert naive_start["customer_tx_count_7d"].isna().sum() == 7
    assert aware_start["customer_tx_count_7d"].isna().sum() == 7
    with pytest.raises(ValueError, match="data_start is missing"):
        mask_unfilled_windows(rows, pd.NaT)
