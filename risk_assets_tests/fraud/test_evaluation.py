"""The handbook evaluation protocol on hand-built cases."""

import pandas as pd
import pytest

from risk_assets.fraud.evaluation import (
    TimeSplit,
    card_precision_at_k,
    evaluate_scores,
    filter_known_compromised,
)


def frame(rows):
    return pd.DataFrame(rows, columns=["timestamp", "customer_id", "is_fraud", "score"]).assign(
        timestamp=lambda f: pd.to_datetime(f["timestamp"])
    )


def test_card_precision_drops_detected_cards():
    scored = frame(
        [
            ("2024-01-01 10:00", "a", 1, 0.9),
            ("2024-01-01 11:00", "b", 0, 0.8),
            ("2024-01-01 12:00", "a", 0, 0.1),
            ("2024-01-02 10:00", "a", 1, 0.95),
            ("2024-01-02 11:00", "c", 1, 0.7),
            ("2024-01-02 12:00", "b", 0, 0.6),
        ]
    )
    mean, per_day = card_precision_at_k(scored, k=2)
    # Day 1: top 2 cards a (fraud) and b -> 1/2. Day 2: a is already detected, so
    # the top 2 are c (fraud) and b -> 1/2.
    assert list(per_day["card_precision"]) == [0.5, 0.5]
    assert mean == 0.5


def test_card_precision_uses_max_score_per_card():
    scored = frame(
        [
            ("2024-01-01 10:00", "a", 0, 0.2),
            ("2024-01-01 11:00", "a", 1, 0.99),
            ("2024-01-01 12:00", "b", 0, 0.5),
        ]
    )
    mean, _ = card_precision_at_k(scored, k=1)
    assert mean == 1.0


def test_known_compromised_customers_removed():
    split = TimeSplit(pd.Timestamp("2024-01-01"), train_days=2, delay_days=2, test_days=2)
    rows = [
        ("2024-01-01 09:00", "known", 1, 0),  # fraud in training: removed from test
        ("2024-01-05 09:00", "known", 0, 0),
        ("2024-01-03 09:00", "late", 1, 0),  # delay day; reported by test day 2
        ("2024-01-05 10:00", "late", 0, 0),  # test day 1: kept (not yet known)
        ("2024-01-06 10:00", "late", 0, 0),  # test day 2: removed (known by then)
        ("2024-01-06 11:00", "clean", 0, 0),
    ]
    test = filter_known_compromised(frame(rows), split)
    assert list(zip(test["customer_id"], test["timestamp"].dt.day, strict=True)) == [
        ("late", 5),
        ("clean", 6),
    ]


def test_single_class_window_rejected():
    scored = frame([("2024-01-01 10:00", "a", 0, 0.3), ("2024-01-01 11:00", "b", 0, 0.2)])
    with pytest.raises(ValueError, match="single class"):
        evaluate_scores(scored)


def test_split_places_test_window_at_end():
    split = TimeSplit.ending_at(pd.Timestamp("2024-03-31 18:00"))
    assert split.describe() == {
        "train": "2024-03-11..2024-03-17",
        "delay_days": "7",
        "test": "2024-03-25..2024-03-31",
    }
