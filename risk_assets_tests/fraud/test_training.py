"""Fraud model training: determinism, calibration and bad windows."""

import numpy as np
import pandas as pd
import pytest

from risk_assets.features.fraud_features import FEATURE_COLUMNS, build_transaction_features
from risk_assets.fraud.evaluation import TimeSplit, evaluate_scores, filter_known_compromised
from risk_assets.fraud.training import XGBoostParams, train_fraud_model
from risk_assets.ingestion.simulator import SimulationConfig, simulate

CONFIG = SimulationConfig(
    seed=5, n_customers=300, n_terminals=600, n_days=50, service_hours=2, n_incidents=0
)
PARAMS = XGBoostParams(max_depth=4, max_rounds=80, tree_method="hist")


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_transaction_features(simulate(CONFIG).transactions)


@pytest.fixture(scope="module")
def split(features) -> TimeSplit:
    return TimeSplit.ending_at(features["timestamp"].max(), train_days=14)


def metrics_of(features, split):
    model = train_fraud_model(features, split, FEATURE_COLUMNS, PARAMS)
    test = filter_known_compromised(features, split)
    result = evaluate_scores(test.assign(score=model.predict(test)), k=20)
    result.pop("per_day")
    return model, result


def test_same_seed_same_metrics(features, split):
    first_model, first = metrics_of(features, split)
    simulate.cache_clear()
    again = build_transaction_features(simulate(CONFIG).transactions)
    second_model, second = metrics_of(again, split)
    assert first == second
    assert first_model.data_version == second_model.data_version


def test_model_beats_chance(features, split):
    _, result = metrics_of(features, split)
    assert result["auc_roc"] > 0.8
    assert result["average_precision"] > 5 * result["test_frauds"] / result["test_transactions"]


def test_calibrated_mean_near_fraud_rate(features, split):
    model, _ = metrics_of(features, split)
    test = features[features["timestamp"] >= split.test_start]
    predicted = float(np.mean(model.predict(test)))
    observed = float(test["is_fraud"].mean())
    assert model.calibration != (1.0, 0.0)
    assert abs(predicted - observed) < 0.5 * observed


def test_window_without_fraud_rejected(features):
    early = TimeSplit(features["timestamp"].min().normalize() - pd.Timedelta(days=30))
    with pytest.raises(ValueError, match="needs both classes"):
        train_fraud_model(features, early, FEATURE_COLUMNS, PARAMS)
