"""The whole code location: every asset materializes in process on simulated data."""

import dagster as dg
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from risk_assets.definitions import build_definitions
from risk_assets.resources.storage import LocalStorageResource


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    from risk_assets.ingestion.sources import RawDataResource
    from risk_assets.settings import load_settings

    folder = tmp_path_factory.mktemp("whole")
    settings = load_settings({"RISK_PROFILE": "local", "RISK_DATA_DIR": str(folder / "data")})
    raw_data = RawDataResource(
        seed=3, n_customers=200, n_terminals=400, n_days=45, service_hours=8, n_incidents=3
    )
    defs = build_definitions(settings, raw_data)
    job = defs.resolve_job_def("risk_lifecycle_job")
    # The GNN's risk scores feed the fraud model here, so that path runs too.
    run_config = {"ops": {"fraud_model": {"config": {"use_graph_features": True}}}}
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=run_config)
    return defs, settings, result


def test_main_job_succeeds(whole_run):
    _, _, result = whole_run
    assert result.success


def test_every_unpartitioned_asset_materialized(whole_run):
    defs, _, result = whole_run
    graph = defs.resolve_asset_graph()
    expected = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).partitions_def is None
    }
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert expected - materialized == set()


def test_asset_checks_pass(whole_run):
    _, _, result = whole_run
    evaluations = result.get_asset_check_evaluations()
    assert evaluations, "no asset check ran"
    failed = [e.asset_check_key.to_user_string() for e in evaluations if not e.passed]
    assert failed == []


def test_outputs_stored_as_parquet(whole_run):
    _, settings, _ = whole_run
    storage = LocalStorageResource(base_dir=str(settings.data_dir))
    features = storage.read_frame("assets/transaction_features.parquet")
    transactions = storage.read_frame("assets/transactions.parquet")
    assert len(features) == len(transactions)
    assert features["transaction_id"].is_unique


def test_fraud_model_registered_with_lineage(whole_run):
    _, settings, result = whole_run
    client = MlflowClient(settings.mlflow_tracking_uri)
    version = client.get_model_version_by_alias("fraud_xgboost", "champion")
    assert version.tags["dagster_run_id"] == result.run_id
    assert len(version.tags["data_version"]) == 16
    run = client.get_run(version.run_id)
    assert "best_rounds" in run.data.metrics
    assert run.data.params["tree_method"] == "exact"


def test_model_artifacts_in_data_folder(whole_run):
    _, settings, _ = whole_run
    client = MlflowClient(settings.mlflow_tracking_uri)
    version = client.get_model_version_by_alias("fraud_xgboost", "champion")
    artifact_uri = client.get_run(version.run_id).info.artifact_uri
    assert artifact_uri.startswith((settings.data_dir / "mlartifacts").as_uri())


def test_fraud_evaluation_in_metadata(whole_run):
    _, _, result = whole_run
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    metadata = events["fraud_model_evaluation"]
    assert 0.5 < metadata["auc_roc"].value <= 1.0
    assert 0.0 < metadata["average_precision"].value <= 1.0
    assert "data:image/png;base64," in metadata["pr_curve"].value


def test_predictions_explain_scores(whole_run):
    _, settings, _ = whole_run
    storage = LocalStorageResource(base_dir=str(settings.data_dir))
    predictions = storage.read_frame("assets/fraud_predictions.parquet")
    assert predictions["fraud_score"].between(0, 1).all()
    top = predictions.sort_values("fraud_score").iloc[-1]["top_features"]
    assert top, "the highest score has no positive contribution listed"
    assert isinstance(pd.Series(predictions["model_version"]).iloc[0], str)


def test_graph_scores_feed_fraud_model(whole_run):
    _, settings, _ = whole_run
    storage = LocalStorageResource(base_dir=str(settings.data_dir))
    predictions = storage.read_frame("assets/fraud_predictions.parquet")
    for column in ("customer_graph_risk", "terminal_graph_risk", "device_graph_risk"):
        assert column in predictions
    assert predictions["terminal_graph_risk"].notna().mean() > 0.5
