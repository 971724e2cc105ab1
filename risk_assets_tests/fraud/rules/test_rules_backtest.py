"""Rule backtest figures on a hand-made labeled frame."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from risk_assets.fraud.rules import backtest_rules, parse_rules

RULES = parse_rules(
    "rules:\n"
    "  - {name: big, layer: soft, action: review, reason_code: BIG, priority: 2,\n"
    "     when: {field: amount, op: '>=', value: 100}}\n"
    "  - {name: bad_terminal, layer: hard, action: decline, reason_code: BAD, priority: 1,\n"
    "     when: {field: terminal_id, op: '==', value: T-X}}\n"
    "  - {name: disabled_rule, layer: soft, action: review, reason_code: DISABLED, priority: 1,\n"
    "     enabled: false, when: {field: amount, op: '>=', value: 0}}\n"
)

# Rows 0-3 hit "big". The model flags scores >= 0.5 (rows 0, 3, 4, 6).
# Frauds are rows 0, 1, 4 and 7. Row 3 has no label.
HISTORY = pd.DataFrame(
    {
        "transaction_id": range(10),
        "terminal_id": ["T-1"] * 10,
        "amount": [150.0, 120.0, 200.0, 110.0, 50.0, 20.0, 30.0, 10.0, 5.0, 60.0],
        "fraud_score": [0.8, 0.2, 0.1, 0.6, 0.9, 0.1, 0.7, 0.05, 0.0, 0.3],
        "is_fraud": pd.array([1, 1, 0, None, 1, 0, 0, 1, 0, 0], dtype="Int64"),
    }
)


def test_backtest_rule_figures():
    table = backtest_rules(HISTORY, RULES, review_threshold=0.5).set_index("rule")

    big = table.loc["big"]
    assert big["hits"] == 4
    assert big["hit_rate"] == pytest.approx(0.4)
    assert big["true_positives"] == 2
    assert big["precision"] == pytest.approx(2 / 3)
    assert big["recall"] == pytest.approx(0.5)
    assert big["hits_flagged_by_model"] == 2
    assert big["model_overlap"] == pytest.approx(0.5)
    assert big["frauds_missed_by_model"] == 1
    assert big["layer"] == "soft"
    assert big["action"] == "review"
    assert big["reason_code"] == "BIG"


def test_backtest_rule_without_hits():
    table = backtest_rules(HISTORY, RULES, review_threshold=0.5).set_index("rule")

    unused = table.loc["bad_terminal"]
    assert unused["hits"] == 0
    assert unused["true_positives"] == 0
    assert math.isnan(unused["precision"])
    assert unused["recall"] == 0.0
    assert math.isnan(unused["model_overlap"])
    assert unused["frauds_missed_by_model"] == 0


def test_backtest_model_row():
    table = backtest_rules(HISTORY, RULES, review_threshold=0.5).set_index("rule")

    model = table.loc["model_review_threshold"]
    assert model["hits"] == 4
    assert model["true_positives"] == 2
    assert model["precision"] == pytest.approx(2 / 3)
    assert model["recall"] == pytest.approx(0.5)
    assert model["model_overlap"] == 1.0
    assert model["frauds_missed_by_model"] == 0
    assert pd.isna(model["priority"])


def test_backtest_order_skips_disabled():
    table = backtest_rules(HISTORY, RULES, review_threshold=0.5)

    assert table["rule"].tolist() == ["bad_terminal", "big", "model_review_threshold"]


def test_backtest_threshold_moves_overlap():
    table = backtest_rules(HISTORY, RULES, review_threshold=0.15).set_index("rule")

    big = table.loc["big"]
    assert big["hits_flagged_by_model"] == 3
    assert big["frauds_missed_by_model"] == 0


def test_backtest_requires_labels():
    unlabeled = HISTORY.drop(columns=["is_fraud"])

    with pytest.raises(ValueError, match="Column 'is_fraud' is missing"):
        backtest_rules(unlabeled, RULES, review_threshold=0.5)


def test_backtest_rejects_bad_label():
    bad = HISTORY.assign(is_fraud=[1, 0, 2, 0, 0, 0, 0, 0, 0, 0])

    with pytest.raises(ValueError, match="contains 2"):
        backtest_rules(bad, RULES, review_threshold=0.5)
