"""The ``risk_assets`` code location: every domain's definitions and the active profile.

This is the one place that reads the deployment settings. Asset code receives its
storage, tracking and data source as resources and never branches on the profile.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_mlflow import end_mlflow_on_run_finished

from risk_assets.anomaly import defs as anomaly_defs
from risk_assets.churn import defs as churn_defs
from risk_assets.features.assets import transaction_features
from risk_assets.fraud.assets import fraud_model, fraud_model_evaluation, fraud_predictions
from risk_assets.fraud.graph import defs as fraud_graph_defs
from risk_assets.fraud.rules import defs as fraud_rules_defs
from risk_assets.ingestion.assets import raw_table_assets
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.monitoring.config import MonitoringSetup
from risk_assets.monitoring.defs import build_monitoring_definitions
from risk_assets.rca import defs as rca_defs
from risk_assets.resources.storage import (
    LocalStorageResource,
    ParquetIOManager,
    S3StorageResource,
    StorageResource,
)
from risk_assets.resources.tracking import build_mlflow_resource
from risk_assets.settings import Settings, load_settings
from risk_assets.sources_config import raw_data_from_environment


def build_storage(settings: Settings) -> StorageResource:
    """Storage of the active profile: a local folder or an S3 bucket."""
    if settings.profile == "aws":
        return S3StorageResource(
            s3=S3Resource(endpoint_url=settings.s3_endpoint_url),
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return LocalStorageResource(base_dir=str(settings.data_dir))


def build_resources(settings: Settings, raw_data: RawDataResource | None = None) -> dict:
    """Build every resource the assets request, for one profile."""
    storage = build_storage(settings)
    return {
        "storage": storage,
        "io_manager": ParquetIOManager(storage=storage),
        "mlflow": build_mlflow_resource(
            settings.mlflow_tracking_uri,
            settings.mlflow_experiment,
            artifact_location=settings.mlflow_artifact_location,
        ),
        "raw_data": raw_data or raw_data_from_environment(),
    }


def core_definitions() -> dg.Definitions:
    """Raw tables, feature tables and the fraud slice."""
    return dg.Definitions(
        assets=[
            *raw_table_assets,
            transaction_features,
            fraud_model,
            fraud_predictions,
            fraud_model_evaluation,
        ],
    )


def domain_definitions(raw_data: RawDataResource) -> list[dg.Definitions]:
    """Definitions of every domain package, merged into the code location.

    The daily monitoring partitions follow the simulated feed's calendar.
    """
    # The simulator's checks name the setting to change, so they run first.
    raw_data.simulation_config()
    scoring_start_day = min(MonitoringSetup.scoring_start_day, raw_data.n_days // 2)
    monitoring = MonitoringSetup(
        start_date=raw_data.start_date,
        n_days=raw_data.n_days,
        scoring_start_day=scoring_start_day,
    )
    return [
        core_definitions(),
        fraud_rules_defs.defs,
        fraud_graph_defs.defs,
        churn_defs.defs,
        anomaly_defs.defs,
        rca_defs.defs,
        build_monitoring_definitions(monitoring),
    ]


def _unpartitioned_assets(defs: dg.Definitions) -> list[dg.AssetKey]:
    keys = []
    for asset in defs.assets or []:
        if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is None:
            keys.extend(asset.keys)
    return keys


def build_definitions(
    settings: Settings | None = None, raw_data: RawDataResource | None = None
) -> dg.Definitions:
    """Assemble the code location for a profile (the environment's when not given)."""
    settings = settings or load_settings()
    raw_data = raw_data or raw_data_from_environment()
    merged = dg.Definitions.merge(*domain_definitions(raw_data))
    main_job = dg.define_asset_job(
        "risk_lifecycle_job",
        selection=dg.AssetSelection.assets(*_unpartitioned_assets(merged)),
        description="Materialize the whole risk lifecycle on the configured data.",
        hooks={end_mlflow_on_run_finished},
    )
    return dg.Definitions.merge(
        merged, dg.Definitions(jobs=[main_job], resources=build_resources(settings, raw_data))
    )


defs = build_definitions()
