"""Materialize the anomaly assets on simulated data with real Dagster."""

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from risk_assets.anomaly.defs import defs as anomaly_defs
from risk_assets.definitions import build_resources
from risk_assets.features.assets import transaction_features
from risk_assets.ingestion.assets import raw_table_assets
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.settings import load_settings

pytestmark = pytest.mark.slow

UPSTREAM = {"transactions", "service_metrics"}
ALERT_RATE = 0.02


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("anomaly_assets")
    return load_settings({"RISK_DATA_DIR": str(data_dir)})


@pytest.fixture(scope="module")
def run(settings):
    raw_data = RawDataResource(
        seed=11, n_customers=40, n_terminals=60, n_days=14, service_hours=2, n_incidents=1
    )
    raw_assets = [
        asset for asset in raw_table_assets if UPSTREAM & {key.path[-1] for key in asset.keys}
    ]
    run_config = dg.RunConfig(
        ops={
            "transaction_outlier_scores": {
                "config": {"autoencoder_epochs": 2, "alert_rate": ALERT_RATE}
            },
            # The LSTM path is covered by the service-metric test in test_timeseries.py.
            "service_metric_anomalies": {"config": {"use_lstm": False}},
        }
    )
    result = dg.materialize(
        [*raw_assets, transaction_features, *anomaly_defs.assets],
        resources=build_resources(settings, raw_data),
        run_config=run_config,
        raise_on_error=True,
    )
    return result


def _metadata(result, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in events[-1].metadata.items()}


def test_assets_in_anomaly_group():
    for asset in anomaly_defs.assets:
        for key in asset.keys:
            assert asset.group_names_by_key[key] == "anomaly"


def test_transaction_scores_one_row_each(run):
    scores = run.output_for_node("transaction_outlier_scores")
    features = run.output_for_node("transaction_features")
    assert len(scores) == len(features)
    assert scores["transaction_id"].is_unique
    expected = {"score_iforest", "score_lof", "score_autoencoder", "ensemble_score", "is_alert"}
    assert expected <= set(scores.columns)


def test_transaction_metadata_has_rates_and_labels(run):
    metadata = _metadata(run, "transaction_outlier_scores")
    scores = run.output_for_node("transaction_outlier_scores")
    assert metadata["dagster/row_count"] == len(scores)
    assert metadata["alerts"] == int(scores["is_alert"].sum())
    assert metadata["alert_rate"] == pytest.approx(scores["is_alert"].mean())
    # The contamination threshold comes from training rows, which here are all rows.
    assert metadata["alert_rate"] <= 2 * ALERT_RATE
    assert 0.0 <= metadata["roc_auc_ensemble"] <= 1.0
    assert 0.0 <= metadata["average_precision_ensemble"] <= 1.0


def test_metric_anomalies_cover_every_point(run):
    table = run.output_for_node("service_metric_anomalies")
    assert {"stl_score", "novelty_score", "lstm_score", "is_anomaly"} <= set(table.columns)
    metadata = _metadata(run, "service_metric_anomalies")
    assert metadata["dagster/row_count"] == len(table)
    assert metadata["series"] == table.groupby(["service", "metric"]).ngroups
    assert metadata["anomalous_points"] == int(table["is_anomaly"].sum())
    assert metadata["unscored_points"] == 0


def test_detector_fits_logged_to_mlflow(run, settings):
    transaction = _metadata(run, "transaction_outlier_scores")
    service = _metadata(run, "service_metric_anomalies")
    client = MlflowClient(settings.mlflow_tracking_uri)
    fitted = client.get_run(transaction["mlflow_run_id"])
    assert fitted.data.metrics["alerts"] == transaction["alerts"]
    assert fitted.data.params["alert_rate"] == str(ALERT_RATE)
    assert len(fitted.data.tags["data_version"]) == 16
    assert fitted.data.tags["dagster_asset"] == "transaction_outlier_scores"
    metrics_run = client.get_run(service["mlflow_run_id"])
    assert metrics_run.data.metrics["anomalous_points"] == service["anomalous_points"]
    # The LSTM is off in this run, so no weights are attached.
    assert metrics_run.data.metrics["lstm_models"] == 0
    assert service["lstm_models_logged"] == 0
