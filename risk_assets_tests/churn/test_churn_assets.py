"""End-to-end materialization of the churn assets on simulated data, with real MLflow."""

import io
import os

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest

from risk_assets.churn.defs import defs as churn_defs
from risk_assets.churn.export import CRM_EXPORT_COLUMNS, validate_crm_export
from risk_assets.definitions import build_resources
from risk_assets.ingestion.assets import raw_table_assets
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.settings import load_settings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

pytestmark = pytest.mark.slow

UPSTREAM = ("customers", "customer_activity", "transactions")


def _raw_assets() -> list[dg.AssetsDefinition]:
    return [asset for asset in raw_table_assets if set(UPSTREAM) & {k.path[-1] for k in asset.keys}]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("churn_assets")
    settings = load_settings({"RISK_DATA_DIR": str(data_dir)})
    previous_uri = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        # The MLflow resource exports these; restore them so later tests are unaffected.
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.setenv(name, settings.mlflow_tracking_uri)
        # Without an artifact location, MLflow's SQLite store writes artifacts to ./mlruns.
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        mlflow.create_experiment(
            settings.mlflow_experiment, artifact_location=(data_dir / "artifacts").as_uri()
        )
        raw_data = RawDataResource(n_customers=400, n_days=20, service_hours=2, n_incidents=0)
        resources = build_resources(settings, raw_data)
        churn_assets = list(churn_defs.assets)
        result = dg.materialize(
            [*_raw_assets(), *churn_assets, *churn_defs.asset_checks],
            resources=resources,
            run_config={
                "ops": {"churn_model": {"config": {"parametric_families": ["weibull_aft"]}}},
            },
        )
        yield result, resources, settings
        # dg.materialize runs no end-of-run hook, so the MLflow run is still active.
        # Ending it here keeps MLflow's exit handler from ending it against the default
        # store, which would create ./mlflow.db in the working directory.
        while mlflow.active_run() is not None:
            mlflow.end_run()
    mlflow.set_tracking_uri(previous_uri)


def _metadata(result, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in events[-1].metadata.items()}


def test_run_succeeds(run):
    result, _, _ = run
    assert result.success


def test_checks_recorded(run):
    result, _, _ = run
    checks = {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }
    assert checks["churn_predictions_valid"].passed
    assert "churn_model_proportional_hazards" in checks
    assert checks["churn_model_beats_chance"].passed


def test_model_metadata_reports_ph(run):
    result, _, _ = run
    metadata = _metadata(result, "churn_model")
    assert metadata["selected_family"] in ("cox", "weibull_aft")
    assert isinstance(metadata["proportional_hazards_holds"], bool)
    assert "proportional_hazards_violations" in metadata
    assert metadata["registered_version"] == "1"


def test_pyfunc_model_reproduces_predictions(run):
    result, resources, settings = run
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.pyfunc.load_model("models:/churn_survival/1")
    customers = result.output_for_node("customer_360")
    active = customers[customers["churned"] == 0].head(20)
    served = model.predict(active)
    stored = result.output_for_node("churn_predictions").set_index("customer_id")
    expected = stored.loc[served["customer_id"], "churn_probability_6m"].to_numpy()
    np.testing.assert_allclose(served["churn_probability_6m"].to_numpy(), expected, rtol=1e-9)


def test_predictions_cover_active_customers(run):
    result, _, _ = run
    customers = result.output_for_node("customer_360")
    predictions = result.output_for_node("churn_predictions")
    assert len(predictions) == int((customers["churned"] == 0).sum())
    assert predictions["segment"].notna().all()


def test_crm_export_written(run):
    result, resources, _ = run
    storage = resources["storage"]
    from_parquet = storage.read_frame("churn/crm_export.parquet")
    from_csv = pd.read_csv(io.BytesIO(storage.read_bytes("churn/crm_export.csv")))
    validate_crm_export(from_parquet)
    assert tuple(from_csv.columns) == CRM_EXPORT_COLUMNS
    assert len(from_csv) == len(from_parquet)
    assert len(from_parquet) == len(result.output_for_node("churn_predictions"))


def test_evaluation_metadata(run):
    result, _, _ = run
    metadata = _metadata(result, "churn_model_evaluation")
    assert 0.5 < metadata["c_index"] <= 1.0
    assert "baseline_xgb_auc" in metadata
    for horizon in (1, 3, 6):
        assert f"brier_{horizon}m" in metadata
    assert metadata["kaplan_meier_by_segment"].startswith("![")
    assert "data:image/png;base64," in metadata["kaplan_meier_by_segment"]
    assert "| decile |" in metadata["calibration"]


def test_candidates_logged_to_mlflow(run):
    _, _, settings = run
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    runs = mlflow.search_runs(
        experiment_names=[settings.mlflow_experiment],
        filter_string="tags.selected != ''",
    )
    assert sorted(runs["tags.model_family"]) == ["cox", "weibull_aft"]
    assert runs["metrics.validation_c_index"].between(0, 1).all()
    assert (runs["tags.selected"] == "true").sum() == 1
