"""Dagster definitions of the monitoring loop: assets, checks, jobs, schedules, sensor.

The loop: ``fraud_daily_feature_job`` ingests a day and computes its features,
``fraud_daily_scoring_job`` scores it with the champion and writes the drift report,
``fraud_drift_retraining_sensor`` reads the reports and launches
``fraud_retraining_job``. That job registers a challenger, and the champion-challenger
evaluation promotes it only when it is significantly better.

Resources come from the top-level definitions: ``io_manager``, ``storage`` and
``mlflow``.
"""

from __future__ import annotations

import dagster as dg
from dagster_mlflow import end_mlflow_on_run_finished

from risk_assets.monitoring.assets import build_daily_assets
from risk_assets.monitoring.config import MonitoringSetup
from risk_assets.monitoring.sensors import build_retraining_sensor
from risk_assets.registry.assets import build_registry_assets


def build_monitoring_definitions(setup: MonitoringSetup | None = None) -> dg.Definitions:
    """Build the monitoring definitions for ``setup`` (the demo feed by default)."""
    setup = setup or MonitoringSetup()
    daily = build_daily_assets(setup)
    transactions, features, predictions, report = daily.assets
    challenger, evaluation = build_registry_assets(setup, daily.feed_partitions, features.key)

    feature_job = dg.define_asset_job(
        "fraud_daily_feature_job",
        selection=dg.AssetSelection.assets(transactions, features),
        partitions_def=daily.feed_partitions,
        description="Ingest one day of transactions and compute its point-in-time features.",
    )
    scoring_job = dg.define_asset_job(
        "fraud_daily_scoring_job",
        selection=dg.AssetSelection.assets(predictions, report),
        partitions_def=daily.scoring_partitions,
        hooks={end_mlflow_on_run_finished},
        description="Score one day with the champion and write its drift report.",
    )
    retraining_job = dg.define_asset_job(
        "fraud_retraining_job",
        selection=dg.AssetSelection.assets(challenger, evaluation),
        partitions_def=daily.feed_partitions,
        hooks={end_mlflow_on_run_finished},
        description=(
            "Train a challenger on the labels known on the partition's day and compare "
            "it with the champion."
        ),
    )
    # The scoring schedule runs an hour after the feature schedule so that the day's
    # features exist when it starts.
    feature_schedule = dg.build_schedule_from_partitioned_job(
        feature_job, name="fraud_daily_feature_schedule", hour_of_day=0, minute_of_hour=15
    )
    scoring_schedule = dg.build_schedule_from_partitioned_job(
        scoring_job, name="fraud_daily_scoring_schedule", hour_of_day=1, minute_of_hour=15
    )
    sensor = build_retraining_sensor(retraining_job, report.key, setup.model_name, setup.thresholds)
    return dg.Definitions(
        assets=[*daily.assets, challenger, evaluation],
        jobs=[feature_job, scoring_job, retraining_job],
        schedules=[feature_schedule, scoring_schedule],
        sensors=[sensor],
    )


defs = build_monitoring_definitions()
