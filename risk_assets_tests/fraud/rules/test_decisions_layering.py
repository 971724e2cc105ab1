"""Decision layering: hard rules, score thresholds, soft rules and reason codes."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from risk_assets.fraud.rules import (
    DecisionThresholds,
    UnknownFieldError,
    decide,
    decide_one,
    parse_rules,
    summarize_decisions,
)

RULES = parse_rules(
    textwrap.dedent(
        """\
        rules:
          - name: extreme_amount
            layer: hard
            action: decline
            reason_code: AMT_EXTREME
            priority: 10
            when: {field: amount, op: ">=", value: 5000}
          - name: blocked_terminal
            layer: hard
            action: decline
            reason_code: TERMINAL_BLOCKED
            priority: 30
            when: {field: terminal_id, op: in, value: ["T-BAD"]}
          - name: allowlisted_customer
            layer: hard
            action: approve
            reason_code: CUSTOMER_ALLOWLISTED
            priority: 20
            when: {field: customer_id, op: "==", value: "C-VIP"}
          - name: large_amount
            layer: soft
            action: review
            reason_code: AMT_LARGE
            priority: 30
            when: {field: amount, op: ">=", value: 220}
          - name: burst
            layer: soft
            action: step_up
            reason_code: VELOCITY
            priority: 40
            when: {field: customer_tx_count_1d, op: ">=", value: 10}
          - name: night
            layer: soft
            action: step_up
            reason_code: NIGHT
            priority: 50
            when:
              all:
                - {field: hour, op: "<", value: 6}
                - {field: is_weekend, op: "==", value: true}
          - name: disabled_catch_all
            layer: soft
            action: decline
            reason_code: NEVER
            priority: 1
            enabled: false
            when: {field: amount, op: ">=", value: 0}
        """
    )
)
THRESHOLDS = DecisionThresholds(review=0.5, decline=0.9, step_up=0.3)


def make_transaction(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "transaction_id": 1,
        "timestamp": pd.Timestamp("2024-01-03 12:00"),  # a Wednesday
        "customer_id": "C-1",
        "terminal_id": "T-1",
        "device_id": "D-1",
        "amount": 50.0,
        "customer_tx_count_1d": 1,
        "fraud_score": 0.05,
    }
    record.update(overrides)
    return record


def decide_rows(*records: dict[str, object]) -> pd.DataFrame:
    return decide(pd.DataFrame(list(records)), RULES, THRESHOLDS)


def test_hard_decline_beats_low_score():
    row = decide_rows(make_transaction(amount=6000.0, fraud_score=0.01)).iloc[0]

    assert row["decision"] == "decline"
    assert row["decision_layer"] == "hard_rule"
    assert row["reason_codes"] == ["AMT_EXTREME"]
    assert row["matched_rules"] == ["extreme_amount", "large_amount"]


def test_hard_approve_beats_high_score_and_soft_rules():
    record = make_transaction(customer_id="C-VIP", fraud_score=0.99, amount=300.0)

    row = decide_rows(record).iloc[0]

    assert row["decision"] == "approve"
    assert row["decision_layer"] == "hard_rule"
    assert row["reason_codes"] == ["CUSTOMER_ALLOWLISTED"]
    assert row["matched_rules"] == ["allowlisted_customer", "large_amount"]


def test_hard_rule_priority_picks_winner():
    vip_on_bad_terminal = make_transaction(customer_id="C-VIP", terminal_id="T-BAD")
    all_three = make_transaction(customer_id="C-VIP", terminal_id="T-BAD", amount=9000.0)

    decisions = decide_rows(vip_on_bad_terminal, all_three)

    # Allowlist (priority 20) beats the blocked terminal (30).
    assert decisions.iloc[0]["decision"] == "approve"
    assert decisions.iloc[0]["reason_codes"] == ["CUSTOMER_ALLOWLISTED"]
    # Extreme amount (10) beats the allowlist, and the agreeing blocked terminal adds its code.
    assert decisions.iloc[1]["decision"] == "decline"
    assert decisions.iloc[1]["reason_codes"] == ["AMT_EXTREME", "TERMINAL_BLOCKED"]
    assert decisions.iloc[1]["matched_rules"] == [
        "extreme_amount",
        "allowlisted_customer",
        "blocked_terminal",
        "large_amount",
    ]


@pytest.mark.parametrize(
    ("score", "decision", "codes"),
    [
        (0.0, "approve", []),
        (0.29999, "approve", []),
        (0.3, "step_up", ["SCORE_STEP_UP"]),
        (0.49, "step_up", ["SCORE_STEP_UP"]),
        (0.5, "review", ["SCORE_REVIEW"]),
        (0.89, "review", ["SCORE_REVIEW"]),
        (0.9, "decline", ["SCORE_DECLINE"]),
        (1.0, "decline", ["SCORE_DECLINE"]),
    ],
)
def test_score_thresholds_set_action(score, decision, codes):
    row = decide_rows(make_transaction(fraud_score=score)).iloc[0]

    assert row["decision"] == decision
    assert row["decision_layer"] == "score"
    assert row["reason_codes"] == codes
    assert row["matched_rules"] == []


def test_step_up_band_disabled_by_default():
    frame = pd.DataFrame([make_transaction(fraud_score=0.4)])

    row = decide(frame, RULES, DecisionThresholds(review=0.5, decline=0.9)).iloc[0]

    assert row["decision"] == "approve"
    assert row["reason_codes"] == []


def test_soft_rule_escalates_approve_to_review():
    row = decide_rows(make_transaction(amount=250.0, fraud_score=0.1)).iloc[0]

    assert row["decision"] == "review"
    assert row["decision_layer"] == "soft_rule"
    assert row["reason_codes"] == ["AMT_LARGE"]


def test_soft_rule_never_lowers_score_decline():
    row = decide_rows(make_transaction(customer_tx_count_1d=12, fraud_score=0.95)).iloc[0]

    assert row["decision"] == "decline"
    assert row["decision_layer"] == "score"
    assert row["reason_codes"] == ["SCORE_DECLINE", "VELOCITY"]


def test_reason_codes_accumulate():
    saturday_night = pd.Timestamp("2024-01-06 02:30")
    record = make_transaction(
        timestamp=saturday_night, amount=300.0, customer_tx_count_1d=15, fraud_score=0.35
    )

    row = decide_rows(record).iloc[0]

    assert row["decision"] == "review"
    assert row["decision_layer"] == "soft_rule"
    assert row["reason_codes"] == ["SCORE_STEP_UP", "AMT_LARGE", "VELOCITY", "NIGHT"]
    assert row["matched_rules"] == ["large_amount", "burst", "night"]


def test_derived_calendar_fields():
    weekday_night = make_transaction(timestamp=pd.Timestamp("2024-01-03 02:00"))
    weekend_noon = make_transaction(timestamp=pd.Timestamp("2024-01-07 12:00"))
    weekend_night = make_transaction(timestamp=pd.Timestamp("2024-01-07 05:59"))

    decisions = decide_rows(weekday_night, weekend_noon, weekend_night)

    assert decisions["decision"].tolist() == ["approve", "approve", "step_up"]


def test_column_overrides_derived_field():
    record = make_transaction(timestamp=pd.Timestamp("2024-01-06 02:30"), is_weekend=0)

    row = decide_rows(record).iloc[0]

    assert row["decision"] == "approve"


def test_disabled_rule_not_evaluated():
    row = decide_rows(make_transaction()).iloc[0]

    assert "NEVER" not in row["reason_codes"]
    assert "disabled_catch_all" not in row["matched_rules"]


def test_missing_value_never_matches():
    text = textwrap.dedent(
        """\
        rules:
          - {name: not_home, layer: soft, action: review, reason_code: NOT_HOME, priority: 1,
             when: {field: device_id, op: "!=", value: "D-HOME"}}
          - {name: odd_hour, layer: soft, action: step_up, reason_code: ODD, priority: 2,
             when: {field: customer_tx_count_1d, op: not_in, value: [1, 2]}}
          - {name: no_device, layer: soft, action: step_up, reason_code: NO_DEVICE, priority: 3,
             when: {field: device_id, op: is_null}}
        """
    )
    rules = parse_rules(text)
    frame = pd.DataFrame(
        [
            make_transaction(device_id=None, customer_tx_count_1d=np.nan),
            make_transaction(device_id="D-OTHER", customer_tx_count_1d=7),
        ]
    )

    decisions = decide(frame, rules, THRESHOLDS)

    assert decisions.iloc[0]["reason_codes"] == ["NO_DEVICE"]
    assert decisions.iloc[1]["reason_codes"] == ["NOT_HOME", "ODD"]


def test_output_keeps_index_and_ids():
    frame = pd.DataFrame(
        [make_transaction(transaction_id=7), make_transaction(transaction_id=9)], index=[40, 41]
    )

    decisions = decide(frame, RULES, THRESHOLDS)

    assert decisions.index.tolist() == [40, 41]
    assert decisions["transaction_id"].tolist() == [7, 9]
    assert decisions.columns.tolist() == [
        "transaction_id",
        "fraud_score",
        "decision",
        "decision_layer",
        "reason_codes",
        "matched_rules",
    ]


def test_empty_frame_gives_empty_decisions():
    frame = pd.DataFrame([make_transaction()]).iloc[0:0]

    decisions = decide(frame, RULES, THRESHOLDS)

    assert len(decisions) == 0
    assert "decision" in decisions.columns


def test_unknown_field_names_rule_and_line():
    frame = pd.DataFrame([make_transaction()]).drop(columns=["customer_tx_count_1d"])

    with pytest.raises(UnknownFieldError) as raised:
        decide(frame, RULES, THRESHOLDS)

    assert raised.value.rule_name == "burst"
    assert raised.value.field == "customer_tx_count_1d"
    assert raised.value.line == 31
    assert "line 31" in str(raised.value)


def test_decide_one_unknown_field_lists_columns():
    record = make_transaction()
    del record["customer_tx_count_1d"]

    with pytest.raises(UnknownFieldError) as raised:
        decide_one(record, RULES, THRESHOLDS)

    assert raised.value.field == "customer_tx_count_1d"
    assert "device_id" in str(raised.value)


def test_decide_one_ignores_unused_fields():
    record = make_transaction(amount=250.0, unused_text="x", unused_number=3)

    decision = decide_one(record, RULES, THRESHOLDS)

    assert decision["decision"] == "review"
    assert decision["reason_codes"] == ["AMT_LARGE"]
    assert "unused_text" not in decision


def test_missing_score_rejected():
    frame = pd.DataFrame([make_transaction(fraud_score=None, transaction_id=42)])

    with pytest.raises(ValueError, match=r"1 rows have a missing .*\[42\]"):
        decide(frame, RULES, THRESHOLDS)


def test_missing_score_column_rejected():
    frame = pd.DataFrame([make_transaction()]).drop(columns=["fraud_score"])

    with pytest.raises(ValueError, match="Column 'fraud_score' is missing"):
        decide(frame, RULES, THRESHOLDS)


def test_text_in_numeric_field_rejected():
    record = make_transaction(amount="lots")

    with pytest.raises(ValueError, match="'amount' contains the non-numeric value 'lots'"):
        decide_one(record, RULES, THRESHOLDS)


def test_string_compared_with_numeric_column_rejected():
    rules = parse_rules(
        "rules:\n  - {name: a, layer: soft, action: review, reason_code: A, priority: 1,\n"
        "     when: {field: amount, op: '==', value: 'high'}}\n"
    )

    with pytest.raises(ValueError, match="'amount' is numeric"):
        decide(pd.DataFrame([make_transaction()]), rules, THRESHOLDS)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"review": 0.9, "decline": 0.5}, "above decline"),
        ({"review": 0.5, "decline": 0.9, "step_up": 0.6}, "above review"),
        ({"review": float("nan"), "decline": 0.9}, "must be finite"),
        ({"review": "0.5", "decline": 0.9}, "must be a number"),
    ],
)
def test_invalid_thresholds_rejected(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        DecisionThresholds(**kwargs)


def test_summary_counts_actions_and_codes():
    decisions = decide_rows(
        make_transaction(amount=6000.0),
        make_transaction(amount=250.0),
        make_transaction(amount=260.0, fraud_score=0.95),
        make_transaction(),
    )

    summary = summarize_decisions(decisions)

    assert summary["actions"] == {"approve": 1, "step_up": 0, "review": 1, "decline": 2}
    assert summary["layers"] == {"hard_rule": 1, "soft_rule": 1, "score": 2}
    assert summary["reason_codes"] == {"AMT_LARGE": 2, "AMT_EXTREME": 1, "SCORE_DECLINE": 1}
