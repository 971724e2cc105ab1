"""GNN training on a planted pattern, input checks and the state_dict round trip."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from risk_assets.fraud.graph import score_nodes, train_graph_model
from risk_assets.fraud.graph.model import model_from_bytes, state_dict_to_bytes
from risk_assets_tests.fraud.graph.conftest import CUTOFF, START


@pytest.fixture
def trained(planted_model):
    return planted_model


def terminal_targets(transactions: pd.DataFrame, scores: pd.DataFrame):
    """Return terminal scores and whether each terminal has a fraud in the week after CUTOFF."""
    week = transactions.loc[
        (transactions["timestamp"] >= CUTOFF)
        & (transactions["timestamp"] < CUTOFF + pd.Timedelta(days=7))
    ]
    fraud_terminals = set(week.loc[week["is_fraud"] == 1, "terminal_id"])
    terminals = scores.loc[scores["node_type"] == "terminal"]
    return terminals["risk_score"].to_numpy(), terminals["node_id"].isin(fraud_terminals)


def test_training_beats_chance_on_planted_terminals(planted, trained):
    scores, target = terminal_targets(planted, score_nodes(trained, planted))
    base_rate = target.mean()
    assert 0 < base_rate < 0.5
    assert average_precision_score(target, scores) > base_rate + 0.4
    assert roc_auc_score(target, scores) > 0.9


def test_training_records_metrics(trained):
    assert trained.metrics["n_terminal_nodes"] == 40
    assert trained.metrics["n_snapshots"] == 2
    assert trained.metrics["epochs"] == 60
    assert "validation_ap_terminal" in trained.metrics


def test_state_dict_round_trip_keeps_scores(planted, trained):
    reloaded = model_from_bytes(trained.spec, state_dict_to_bytes(trained.model))
    trained_copy = type(trained)(
        model=reloaded, config=trained.config, cutoff=trained.cutoff, spec=trained.spec
    )
    before = score_nodes(trained, planted)
    after = score_nodes(trained_copy, planted)
    assert before["node_id"].tolist() == after["node_id"].tolist()
    np.testing.assert_allclose(before["risk_score"], after["risk_score"], atol=1e-7)


class Payload:
    """An arbitrary object that a pickle-based load would rebuild."""


def test_weights_loader_rejects_pickled_objects(trained):
    buffer = io.BytesIO()
    torch.save({"payload": Payload()}, buffer)
    with pytest.raises(pickle.UnpicklingError):
        model_from_bytes(trained.spec, buffer.getvalue())


def test_training_rejects_too_short_history(planted, small_config):
    with pytest.raises(ValueError, match="No transactions to train on"):
        train_graph_model(planted, START + pd.Timedelta(days=3), small_config)


def test_training_rejects_data_without_fraud(planted, small_config):
    genuine = planted.assign(is_fraud=pd.array([0] * len(planted), dtype="Int64"))
    with pytest.raises(ValueError, match="No known fraud"):
        train_graph_model(genuine, CUTOFF, small_config)


def test_training_rejects_missing_columns(planted, small_config):
    with pytest.raises(ValueError, match="missing columns \\['terminal_id'\\]"):
        train_graph_model(planted.drop(columns=["terminal_id"]), CUTOFF, small_config)
