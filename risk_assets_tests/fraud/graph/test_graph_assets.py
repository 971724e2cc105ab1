"""Dagster materialization of fraud_graph_model, graph_risk_scores and fraud_rings."""

from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from risk_assets.fraud.graph.assets import (
    MODEL_NAME,
    fraud_graph_model,
    fraud_rings,
    graph_risk_scores,
)
from risk_assets.fraud.graph.defs import defs
from risk_assets.ingestion.simulator import SimulationConfig, simulate
from risk_assets.resources.storage import LocalStorageResource, ParquetIOManager
from risk_assets.resources.tracking import build_mlflow_resource

WORLD = SimulationConfig(
    seed=3, n_customers=120, n_terminals=240, n_days=40, service_hours=2, n_incidents=0
)


@dg.asset(name="transactions", group_name="ingestion")
def simulated_transactions() -> pd.DataFrame:
    return simulate(WORLD).transactions


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("graph_assets")
    storage = LocalStorageResource(base_dir=str(folder / "storage"))
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = dg.materialize(
        [simulated_transactions, fraud_graph_model, graph_risk_scores, fraud_rings],
        resources={
            "storage": storage,
            "io_manager": ParquetIOManager(storage=storage),
            "mlflow": build_mlflow_resource(tracking_uri, "fraud_graph_test"),
        },
        run_config={
            "ops": {
                "fraud_graph_model": {"config": {"epochs": 40, "hidden_dim": 16}},
                "graph_risk_scores": {"config": {"history_step_days": 14}},
            }
        },
    )
    return result, storage, tracking_uri


def test_graph_assets_materialize(materialized):
    result, _, _ = materialized
    assert result.success
    keys = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {"fraud_graph_model", "graph_risk_scores", "fraud_rings"} <= keys


def test_graph_model_registered_with_state_dict(materialized):
    result, storage, tracking_uri = materialized
    model_info = result.output_for_node("fraud_graph_model")
    assert storage.exists(model_info["state_dict_key"])
    version = MlflowClient(tracking_uri).get_model_version_by_alias(MODEL_NAME, "champion")
    assert version.tags["dagster_run_id"] == result.run_id
    assert len(version.tags["data_version"]) == 16
    metadata = result.asset_materializations_for_node("fraud_graph_model")[0].metadata
    assert metadata["round_trip_max_score_change"].value == 0.0


def test_registered_pyfunc_scores_nodes(materialized):
    result, _, tracking_uri = materialized
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    transactions = result.output_for_node("transactions")
    scores = model.predict(transactions)
    stored = result.output_for_node("graph_risk_scores")
    latest = stored.loc[stored["cutoff"] == stored["cutoff"].max()].reset_index(drop=True)
    assert scores["node_id"].tolist() == latest["node_id"].tolist()
    assert (scores["risk_score"] - latest["risk_score"]).abs().max() < 1e-6


def test_graph_scores_are_point_in_time(materialized):
    result, _, _ = materialized
    scores = result.output_for_node("graph_risk_scores")
    transactions = result.output_for_node("transactions")
    cutoffs = sorted(scores["cutoff"].unique())
    assert len(cutoffs) >= 2
    assert cutoffs[-1] == transactions["timestamp"].max().floor("D") + pd.Timedelta(days=1)
    assert set(scores["node_type"]) == {"customer", "terminal", "device"}
    assert scores["risk_score"].between(0, 1).all()
    # The earliest cutoff's graph only contains entities seen before it.
    first = scores.loc[scores["cutoff"] == cutoffs[0]]
    seen_before = transactions.loc[transactions["timestamp"] < cutoffs[0], "customer_id"]
    customers = first.loc[first["node_type"] == "customer", "node_id"]
    assert set(customers) <= set(seen_before.astype(str))


def test_fraud_rings_output_columns(materialized):
    result, _, _ = materialized
    rings = result.output_for_node("fraud_rings")
    assert {"ring_id", "members", "size", "total_amount", "shared_devices"} <= set(rings.columns)
    assert (rings["size"] >= 3).all()


def test_defs_expose_the_three_assets():
    keys = {asset.key.to_user_string() for asset in defs.assets}
    assert keys == {"fraud_graph_model", "graph_risk_scores", "fraud_rings"}
