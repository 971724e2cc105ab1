"""Point-in-time node scores and their join onto transactions."""

import numpy as np
import pandas as pd
import pytest

from risk_assets.fraud.graph import (
    add_graph_risk_features,
    score_nodes,
    score_nodes_over_time,
    train_graph_model,
)
from risk_assets_tests.fraud.graph.conftest import CUTOFF


def train_and_score(transactions, config):
    return score_nodes(train_graph_model(transactions, CUTOFF, config), transactions)


@pytest.fixture
def reference_scores(planted, planted_model):
    return score_nodes(planted_model, planted)


def test_scores_ignore_data_after_cutoff(planted, small_config, reference_scores):
    changed = planted.copy()
    label_cutoff = CUTOFF - pd.Timedelta(days=small_config.label_delay_days)
    unknown = changed["timestamp"] >= label_cutoff
    changed.loc[unknown, "is_fraud"] = 1 - changed.loc[unknown, "is_fraud"]
    future = changed["timestamp"] >= CUTOFF
    changed.loc[future, "amount"] = changed.loc[future, "amount"] * 10
    changed.loc[future, "terminal_id"] = "T0"

    scores = train_and_score(changed, small_config)
    assert scores["node_id"].tolist() == reference_scores["node_id"].tolist()
    np.testing.assert_allclose(scores["risk_score"], reference_scores["risk_score"], atol=1e-6)


def test_scores_change_when_known_labels_change(planted, small_config, reference_scores):
    changed = planted.copy()
    label_cutoff = CUTOFF - pd.Timedelta(days=small_config.label_delay_days)
    known = changed["timestamp"] < label_cutoff
    changed.loc[known, "is_fraud"] = 0
    changed.loc[known & (changed["terminal_id"] == "T5"), "is_fraud"] = 1

    scores = train_and_score(changed, small_config)
    difference = np.abs(scores["risk_score"].to_numpy() - reference_scores["risk_score"])
    assert difference.max() > 0.01


def test_scores_cover_every_node_type(reference_scores):
    counts = reference_scores.groupby("node_type").size().to_dict()
    assert counts == {"customer": 60, "device": 60, "terminal": 40}
    assert reference_scores["risk_score"].between(0, 1).all()
    assert (reference_scores["cutoff"] == CUTOFF).all()


def test_scoring_before_training_cutoff_raises(planted, planted_model):
    with pytest.raises(ValueError, match="before the model's training cutoff"):
        score_nodes(planted_model, planted, CUTOFF - pd.Timedelta(days=1))


def test_join_uses_latest_earlier_cutoff():
    first, second = pd.Timestamp("2025-02-01"), pd.Timestamp("2025-02-08")
    scores = pd.DataFrame(
        {
            "cutoff": [first, second, first, second],
            "node_type": ["customer", "customer", "terminal", "terminal"],
            "node_id": ["C1", "C1", "T1", "T1"],
            "risk_score": [0.1, 0.2, 0.3, 0.4],
        }
    )
    transactions = pd.DataFrame(
        {
            "transaction_id": [10, 11, 12, 13],
            "timestamp": pd.to_datetime(
                ["2025-01-31 23:00", "2025-02-01 00:00", "2025-02-07 12:00", "2025-02-09 00:00"]
            ),
            "customer_id": ["C1", "C1", "C1", "C2"],
            "terminal_id": ["T1", "T1", "T1", "T1"],
            "device_id": [None, "D1", None, None],
        },
        index=[5, 3, 9, 1],
    )
    joined = add_graph_risk_features(transactions, scores)

    assert joined.index.tolist() == [5, 3, 9, 1]
    assert np.isnan(joined["customer_graph_risk"].iloc[0])
    assert joined["customer_graph_risk"].iloc[1:3].tolist() == [0.1, 0.1]
    assert np.isnan(joined["customer_graph_risk"].iloc[3])
    assert joined["terminal_graph_risk"].iloc[1:].tolist() == [0.3, 0.3, 0.4]
    assert joined["device_graph_risk"].isna().all()


def test_join_rejects_scores_without_columns():
    transactions = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-01"])})
    with pytest.raises(ValueError, match="missing columns \\['risk_score'\\]"):
        add_graph_risk_features(
            transactions, pd.DataFrame(columns=["cutoff", "node_type", "node_id"])
        )


def test_scores_over_time_join_point_in_time(planted, small_config):
    cutoffs = [CUTOFF, CUTOFF + pd.Timedelta(days=3)]
    scores, models = score_nodes_over_time(planted, cutoffs, small_config)
    assert sorted(models) == cutoffs
    assert models[cutoffs[1]].metrics["epochs"] == small_config.warm_start_epochs

    joined = add_graph_risk_features(planted, scores)
    before = joined["timestamp"] < cutoffs[0]
    assert joined.loc[before, "terminal_graph_risk"].isna().all()

    row = joined.loc[joined["timestamp"] >= cutoffs[1]].iloc[0]
    latest = scores.loc[
        (scores["cutoff"] == cutoffs[1])
        & (scores["node_type"] == "terminal")
        & (scores["node_id"] == row["terminal_id"])
    ]
    assert row["terminal_graph_risk"] == latest["risk_score"].iloc[0]

    middle = joined.loc[
        (joined["timestamp"] >= cutoffs[0]) & (joined["timestamp"] < cutoffs[1])
    ].iloc[0]
    earlier = scores.loc[
        (scores["cutoff"] == cutoffs[0])
        & (scores["node_type"] == "customer")
        & (scores["node_id"] == middle["customer_id"])
    ]
    assert middle["customer_graph_risk"] == earlier["risk_score"].iloc[0]


def test_warm_start_from_later_model_raises(planted, small_config, planted_model):
    with pytest.raises(ValueError, match="cannot start training"):
        train_graph_model(
            planted, CUTOFF - pd.Timedelta(days=1), small_config, warm_start=planted_model
        )
