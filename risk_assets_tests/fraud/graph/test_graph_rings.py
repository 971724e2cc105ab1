"""Ring extraction on a small built graph with one known ring."""

import pandas as pd
import pytest

from risk_assets.fraud.graph import GraphModelConfig, find_fraud_rings

CUTOFF = pd.Timestamp("2025-03-01")
CONFIG = GraphModelConfig(label_delay_days=7, lookback_days=28)


def transaction(index, day, customer, terminal, device, amount, fraud=0):
    return {
        "transaction_id": index,
        "timestamp": CUTOFF - pd.Timedelta(days=day),
        "customer_id": customer,
        "terminal_id": terminal,
        "device_id": device,
        "amount": amount,
        "is_fraud": fraud,
    }


@pytest.fixture
def transactions() -> pd.DataFrame:
    rows = [
        # The ring: three customers pay from device DR at terminal TR.
        transaction(1, 10, "C1", "TR", "DR", 100.0, fraud=1),
        transaction(2, 9, "C2", "TR", "DR", 120.0, fraud=1),
        transaction(3, 3, "C3", "TR", "DR", 80.0),
        transaction(4, 2, "C1", "TR", "D1", 50.0),
        # Genuine customers, one of them at the ring terminal.
        transaction(5, 5, "C4", "TR", "D4", 30.0),
        transaction(6, 5, "C5", "T5", "D5", 40.0),
        # A risky pair that is too small to count as a ring.
        transaction(7, 4, "C6", "T6", "D6", 70.0),
        # Outside the lookback window, and after the cutoff: neither may count.
        transaction(8, 40, "C1", "TR", "DR", 999.0, fraud=1),
        transaction(9, -1, "C2", "TR", "DR", 555.0, fraud=1),
    ]
    frame = pd.DataFrame(rows)
    frame["is_fraud"] = frame["is_fraud"].astype("Int64")
    return frame


@pytest.fixture
def scores() -> pd.DataFrame:
    nodes = {
        ("customer", "C1"): (0.9, 1),
        ("customer", "C2"): (0.8, 1),
        ("customer", "C3"): (0.7, 0),
        ("customer", "C4"): (0.1, 0),
        ("customer", "C5"): (0.05, 0),
        ("customer", "C6"): (0.6, 0),
        ("terminal", "TR"): (0.95, 2),
        ("terminal", "T5"): (0.02, 0),
        ("terminal", "T6"): (0.7, 0),
        ("device", "DR"): (0.3, 2),
        ("device", "D1"): (0.1, 0),
        ("device", "D4"): (0.1, 0),
    }
    return pd.DataFrame(
        [
            {
                "cutoff": CUTOFF,
                "node_type": node_type,
                "node_id": node_id,
                "risk_score": score,
                "n_transactions": 1,
                "n_known_frauds": frauds,
            }
            for (node_type, node_id), (score, frauds) in nodes.items()
        ]
    )


def test_rings_find_the_planted_ring(transactions, scores):
    rings = find_fraud_rings(scores, transactions, CONFIG)

    assert len(rings) == 1
    ring = rings.iloc[0]
    assert ring["members"] == [
        "customer:C1",
        "customer:C2",
        "customer:C3",
        "device:DR",
        "terminal:TR",
    ]
    assert ring["size"] == 5
    assert (ring["n_customers"], ring["n_terminals"], ring["n_devices"]) == (3, 1, 1)


def test_rings_report_evidence(transactions, scores):
    ring = find_fraud_rings(scores, transactions, CONFIG).iloc[0]

    assert ring["n_transactions"] == 4
    assert ring["total_amount"] == pytest.approx(350.0)
    assert ring["n_known_frauds"] == 2
    assert ring["known_fraud_amount"] == pytest.approx(220.0)
    assert ring["shared_terminals"] == ["terminal:TR"]
    assert ring["shared_devices"] == ["device:DR"]
    assert ring["max_risk_score"] == pytest.approx(0.95)
    assert ring["first_seen"] == CUTOFF - pd.Timedelta(days=10)
    assert ring["last_seen"] == CUTOFF - pd.Timedelta(days=2)


def test_rings_min_size_two_keeps_pairs(transactions, scores):
    rings = find_fraud_rings(scores, transactions, CONFIG, min_size=2, min_customers=1)

    assert sorted(rings["size"]) == [2, 5]
    pair = rings.loc[rings["size"] == 2].iloc[0]
    assert pair["members"] == ["customer:C6", "terminal:T6"]


def test_rings_need_min_customers(transactions, scores):
    rings = find_fraud_rings(scores, transactions, CONFIG, min_size=2, min_customers=2)

    assert rings["size"].tolist() == [5]
    assert rings.iloc[0]["n_customers"] == 3


def test_rings_without_known_fraud_use_scores_only(transactions, scores):
    rings = find_fraud_rings(scores, transactions, CONFIG, include_known_fraud=False)

    # The ring device scores 0.3, so without its known frauds it drops out.
    assert rings.iloc[0]["members"] == [
        "customer:C1",
        "customer:C2",
        "customer:C3",
        "terminal:TR",
    ]


def test_rings_keep_fraud_cases_apart(transactions, scores):
    # C8 was defrauded at T8 and later paid genuinely at the ring terminal TR.
    extra = pd.DataFrame(
        [
            transaction(20, 12, "C8", "T8", "D8", 60.0, fraud=1),
            transaction(21, 11, "C8", "TR", "D8", 25.0),
        ]
    ).astype({"is_fraud": "Int64"})
    extra_scores = pd.DataFrame(
        {
            "cutoff": CUTOFF,
            "node_type": ["customer", "terminal"],
            "node_id": ["C8", "T8"],
            "risk_score": [0.1, 0.1],
            "n_transactions": 1,
            "n_known_frauds": 1,
        }
    )
    rings = find_fraud_rings(
        pd.concat([scores, extra_scores], ignore_index=True),
        pd.concat([transactions, extra], ignore_index=True),
        CONFIG,
        min_size=2,
        min_customers=1,
    )

    members = sorted(rings["members"].tolist())
    assert len(members) == 3
    assert ["customer:C8", "terminal:T8"] in members
    assert ["customer:C1", "customer:C2", "customer:C3", "device:DR", "terminal:TR"] in members


def test_rings_unknown_labels_are_not_evidence(transactions, scores):
    # C3's transaction is 3 days old, inside the 7-day label delay, so its label is unknown.
    transactions.loc[transactions["transaction_id"] == 3, "is_fraud"] = 1
    ring = find_fraud_rings(scores, transactions, CONFIG).iloc[0]
    assert ring["n_known_frauds"] == 2


def test_rings_empty_when_nothing_is_risky(transactions, scores):
    calm = scores.assign(risk_score=0.01, n_known_frauds=0)
    rings = find_fraud_rings(calm, transactions, CONFIG)
    assert rings.empty
    assert "members" in rings.columns


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_score": 1.5}, "min_score must be in"),
        ({"min_size": 1}, "min_size must be"),
        ({"min_customers": 0}, "min_customers must be"),
    ],
)
def test_rings_reject_invalid_thresholds(transactions, scores, arguments, message):
    with pytest.raises(ValueError, match=message):
        find_fraud_rings(scores, transactions, CONFIG, **arguments)
