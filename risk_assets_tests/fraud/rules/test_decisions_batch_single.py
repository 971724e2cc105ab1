"""Batch ``decide`` and single-record ``decide_one`` must return identical decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_assets.fraud.rules import (
    DecisionThresholds,
    decide,
    decide_one,
    default_rules_path,
    load_rules,
)


def make_scored_transactions(count: int, seed: int) -> pd.DataFrame:
    """Build scored transactions whose values straddle every default rule threshold."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01")
    frame = pd.DataFrame(
        {
            "transaction_id": np.arange(count, dtype="int64"),
            "timestamp": start + pd.to_timedelta(rng.integers(0, 14 * 86_400, count), unit="s"),
            "customer_id": rng.choice(["C-1", "C-2", "C-3"], count),
            "terminal_id": rng.choice(["T-1", "T-2", "TEST-TERMINAL-1"], count),
            "device_id": rng.choice(np.array(["D-1", "D-2", None], dtype=object), count),
            "amount": rng.choice([1.0, 5.0, 99.99, 100.0, 219.99, 220.0, 800.0, 5000.0], count),
            "fraud_score": rng.choice([0.0, 0.29, 0.3, 0.35, 0.5, 0.7, 0.9, 0.97], count),
            "customer_tx_count_1d": rng.integers(0, 15, count).astype("float64"),
            "terminal_tx_count_7d": rng.integers(0, 6, count).astype("float64"),
            "terminal_fraud_rate_7d": rng.choice([0.0, 0.05, 0.1, 0.3, 0.5, 0.8], count),
            "amount_ratio_30d": rng.choice([0.5, 1.0, 3.99, 4.0, 9.0], count),
            "customer_tx_count_30d": rng.integers(0, 10, count).astype("float64"),
            "device_fraud_count_30d": rng.choice([0.0, 0.0, 0.0, 1.0, 2.0], count),
            "device_fraud_rate_30d": rng.choice([0.0, 0.1, 0.2, 0.5], count),
            "is_new_terminal_for_customer": rng.choice([0.0, 1.0], count),
            "is_fraud": pd.array(rng.choice([0, 1, None], count), dtype="Int64"),
        }
    )
    # Missing feature values, as the first transactions of a customer or terminal have.
    frame.loc[rng.random(count) < 0.1, "customer_tx_count_1d"] = np.nan
    frame.loc[rng.random(count) < 0.1, "terminal_fraud_rate_7d"] = np.nan
    return frame


@pytest.mark.parametrize(
    "thresholds",
    [
        DecisionThresholds(review=0.5, decline=0.9),
        DecisionThresholds(review=0.35, decline=0.7, step_up=0.3),
    ],
    ids=["no-step-up", "step-up"],
)
def test_batch_matches_single(thresholds):
    rules = load_rules(default_rules_path())
    frame = make_scored_transactions(count=300, seed=7)

    batch = decide(frame, rules, thresholds)

    assert set(batch["decision"]) >= {"approve", "review", "decline", "step_up"}
    for position, record in enumerate(frame.to_dict("records")):
        single = decide_one(record, rules, thresholds)
        expected = batch.iloc[position].to_dict()
        assert single["transaction_id"] == expected["transaction_id"]
        assert single["decision"] == expected["decision"], record
        assert single["decision_layer"] == expected["decision_layer"], record
        assert single["reason_codes"] == expected["reason_codes"], record
        assert single["matched_rules"] == expected["matched_rules"], record
        assert single["fraud_score"] == expected["fraud_score"]


def test_single_accepts_plain_python_values():
    rules = load_rules(default_rules_path())
    thresholds = DecisionThresholds(review=0.5, decline=0.9)
    record = {
        "transaction_id": 5,
        "timestamp": "2024-03-02T03:15:00",
        "customer_id": "C-1",
        "terminal_id": "T-1",
        "device_id": None,
        "amount": 150,
        "fraud_score": 0.4,
        "customer_tx_count_1d": None,
        "terminal_tx_count_7d": 2,
        "terminal_fraud_rate_7d": 0.0,
        "amount_ratio_30d": 1.2,
        "customer_tx_count_30d": 20,
        "device_fraud_count_30d": 0,
        "device_fraud_rate_30d": 0.0,
        "is_new_terminal_for_customer": 0,
    }

    decision = decide_one(record, rules, thresholds)

    assert decision["decision"] == "step_up"
    assert decision["reason_codes"] == ["NIGHT_SPEND", "DEVICE_UNKNOWN"]
    assert isinstance(decision["transaction_id"], int)
    assert isinstance(decision["fraud_score"], float)
