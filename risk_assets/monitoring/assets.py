"""Daily partitioned assets: incoming transactions, their features, scores and drift report.

``build_daily_assets`` builds them for one ``MonitoringSetup``, so tests can run the
same definitions on a small feed calendar.
"""

from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from risk_assets.features.fraud_features import (
    ID_COLUMNS,
    build_transaction_features,
    mask_unfilled_windows,
)
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.metadata import markdown_table
from risk_assets.monitoring.config import FEATURE_HISTORY_DAYS, MonitoringSetup
from risk_assets.monitoring.report import (
    FraudMonitoringReport,
    build_monitoring_report,
    check_level,
)
from risk_assets.registry.versions import load_champion, load_reference_artifacts
from risk_assets.resources.storage import StorageResource

GROUP = "monitoring"
DRIFT_CHECK = "fraud_feature_drift"
AP_DROP_CHECK = "fraud_ap_drop"


@dataclass(frozen=True)
class DailyAssets:
    """The daily assets and partitions built for one setup.

    Attributes:
        feed_partitions: One partition per simulated day.
        scoring_partitions: One partition per scored day, from the scoring start.
        assets: Transactions, features, predictions and drift report.
    """

    feed_partitions: dg.DailyPartitionsDefinition
    scoring_partitions: dg.DailyPartitionsDefinition
    assets: list[dg.AssetsDefinition]


def day_of(context: dg.AssetExecutionContext) -> pd.Timestamp:
    """Return the partition's day."""
    return pd.Timestamp(context.partition_key).normalize()


def rows_of_day(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Return the rows of ``frame`` whose ``timestamp`` falls on ``day``."""
    return frame[frame["timestamp"].dt.normalize() == day].reset_index(drop=True)


def build_daily_assets(setup: MonitoringSetup) -> DailyAssets:
    """Build the daily assets of the monitoring loop."""
    date_format = "%Y-%m-%d"
    feed_partitions = dg.DailyPartitionsDefinition(
        start_date=setup.first_day.strftime(date_format),
        end_date=setup.end.strftime(date_format),
    )
    scoring_partitions = dg.DailyPartitionsDefinition(
        start_date=setup.scoring_start.strftime(date_format),
        end_date=setup.end.strftime(date_format),
    )
    thresholds = setup.thresholds

    @dg.asset(
        partitions_def=feed_partitions,
        group_name=GROUP,
        kinds={"pandas"},
        description="Card transactions of one day, validated, from the raw data source.",
    )
    def daily_transactions(
        context: dg.AssetExecutionContext, raw_data: RawDataResource
    ) -> pd.DataFrame:
        day = day_of(context)
        loaded = raw_data.load("transactions")
        rows = rows_of_day(loaded.accepted, day)
        if rows.empty:
            context.log.warning(
                f"{raw_data.describe('transactions')} has no transactions on {day.date()}"
            )
        context.add_output_metadata(
            {
                "rows": len(rows),
                "source": raw_data.describe("transactions"),
                "quarantined_rows_in_source": len(loaded.quarantine),
                "amount_mean": float(rows["amount"].mean()) if len(rows) else 0.0,
            }
        )
        return rows

    @dg.asset(
        partitions_def=feed_partitions,
        group_name=GROUP,
        kinds={"pandas"},
        ins={
            "history": dg.AssetIn(
                key=daily_transactions.key,
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-FEATURE_HISTORY_DAYS,
                    end_offset=0,
                    allow_nonexistent_upstream_partitions=True,
                ),
            )
        },
        description=(
            "Point-in-time features of one day's transactions, computed over the day and "
            "the history its longest window reads, then cut to the day."
        ),
    )
    def daily_transaction_features(
        context: dg.AssetExecutionContext, history: pd.DataFrame
    ) -> pd.DataFrame:
        # NOTE: features over all earlier history (device_customer_count and the
        # new-terminal and new-device flags) see only FEATURE_HISTORY_DAYS here, so
        # they can differ from build_transaction_features on the full table.
        day = day_of(context)
        features = rows_of_day(build_transaction_features(history), day)
        context.add_output_metadata(
            {
                "rows": len(features),
                "history_rows": len(history),
                "history_first_day": str(history["timestamp"].min().date()) if len(history) else "",
            }
        )
        return features

    @dg.asset(
        partitions_def=scoring_partitions,
        group_name=GROUP,
        kinds={"xgboost", "pandas"},
        required_resource_keys={"mlflow"},
        ins={
            "features": dg.AssetIn(
                key=daily_transaction_features.key,
                partition_mapping=dg.TimeWindowPartitionMapping(),
            )
        },
        description=(
            f"Fraud scores of one day by the model version that the champion alias of "
            f"{setup.model_name} points to."
        ),
    )
    def daily_fraud_predictions(
        context: dg.AssetExecutionContext, features: pd.DataFrame
    ) -> pd.DataFrame:
        champion = load_champion(MlflowClient(), setup.model_name)
        scores = champion.predict(features) if len(features) else np.array([])
        predictions = features[ID_COLUMNS].copy()
        predictions["score"] = scores.astype(float)
        predictions["alert"] = predictions["score"] >= setup.policy.operating_threshold
        predictions["model_name"] = champion.name
        predictions["model_version"] = champion.version
        context.log.info(f"scored {len(predictions)} rows with {champion.name} v{champion.version}")
        context.add_output_metadata(
            {
                "rows": len(predictions),
                "model_version": champion.version,
                "model_uri": f"models:/{champion.name}/{champion.version}",
                "alert_rate": float(predictions["alert"].mean()) if len(predictions) else 0.0,
                "mean_score": float(predictions["score"].mean()) if len(predictions) else 0.0,
            }
        )
        return predictions

    @dg.asset(
        partitions_def=scoring_partitions,
        group_name=GROUP,
        kinds={"evidently"},
        required_resource_keys={"mlflow", "storage"},
        ins={
            "features": dg.AssetIn(
                key=daily_transaction_features.key,
                partition_mapping=dg.TimeWindowPartitionMapping(),
            ),
            "scored_history": dg.AssetIn(
                key=daily_fraud_predictions.key,
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-(setup.label_delay_days + setup.performance_days - 1),
                    end_offset=0,
                    allow_nonexistent_upstream_partitions=True,
                ),
            ),
        },
        check_specs=[
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset="fraud_drift_report",
                description=(
                    f"Share of drifted features: warns at {thresholds.drifted_share_warn}, "
                    f"fails at {thresholds.drifted_share_fail}."
                ),
            ),
            dg.AssetCheckSpec(
                AP_DROP_CHECK,
                asset="fraud_drift_report",
                description=(
                    f"Drop of AP on newly labeled days below the champion's held-out AP: "
                    f"warns at {thresholds.ap_drop_warn}, fails at {thresholds.ap_drop_fail}."
                ),
            ),
        ],
        description=(
            "Evidently data, prediction and target drift of one day against the champion's "
            "references, and AUC/AP on the newly labeled days."
        ),
    )
    def fraud_drift_report(
        context: dg.AssetExecutionContext,
        features: pd.DataFrame,
        scored_history: pd.DataFrame,
    ):
        day = day_of(context)
        champion = load_champion(MlflowClient(), setup.model_name)
        reference_features, holdout_scores = load_reference_artifacts(champion)
        report = build_monitoring_report(
            day,
            champion.version,
            reference_features,
            holdout_scores,
            # Early in the feed, long windows are cut off at its start; such values are
            # left out rather than compared with complete ones.
            # NOTE: the feed is taken to start on its first partition day. A source whose
            # data begins later leaves early windows shorter than this assumes.
            mask_unfilled_windows(features, setup.day(0)),
            scored_history,
            setup.label_delay_days,
            setup.performance_days,
            setup.min_labeled_frauds,
        )
        storage: StorageResource = context.resources.storage
        uris = {}
        for name, page in report.html_reports().items():
            key = f"assets/fraud_drift_report/{report.day}/{name}.html"
            uris[name] = storage.write_bytes(key, page)
        summary = report.summary()
        summary["html_reports"] = uris
        yield dg.Output(summary, metadata=report_metadata(report, uris))
        yield drift_check_result(report, setup)
        yield ap_drop_check_result(report, setup)
        performance = report.performance
        if performance["status"] == "skipped":
            context.log.info(f"performance skipped for {report.day}: {performance['reason']}")

    return DailyAssets(
        feed_partitions=feed_partitions,
        scoring_partitions=scoring_partitions,
        assets=[
            daily_transactions,
            daily_transaction_features,
            daily_fraud_predictions,
            fraud_drift_report,
        ],
    )


def report_metadata(report: FraudMonitoringReport, uris: dict[str, str]) -> dict:
    """Return the materialization metadata of a drift report.

    The sensor reads ``drifted_share``, ``ap_drop`` and ``performance_status`` from it.
    """
    data = report.data_drift
    prediction = report.prediction_drift.columns[0]
    performance = report.performance
    metadata = {
        "model_version": report.model_version,
        "drifted_share": data.drifted_share,
        "drifted_features": len(data.drifted_columns),
        "tested_features": len(data.columns),
        "untested_features": len(data.skipped),
        "drifted_feature_names": ", ".join(data.drifted_columns),
        "feature_drift": markdown_table(data.table()),
        "prediction_drift_method": prediction.method,
        "prediction_drift_threshold": prediction.threshold,
        "prediction_drift_score": prediction.score,
        "prediction_drifted": prediction.drifted,
        "performance_status": performance["status"],
        "performance_window": performance["window"],
        "baseline_ap": performance["baseline_ap"],
    }
    if performance["status"] == "computed":
        metadata.update(
            {
                "labeled_rows": performance["rows"],
                "labeled_frauds": performance["frauds"],
                "auc_roc": performance["auc_roc"],
                "average_precision": performance["average_precision"],
                "ap_drop": performance["ap_drop"],
                "target_drifted": report.target_drift.columns[0].drifted,
                "target_drift_method": report.target_drift.columns[0].method,
                **{key: value for key, value in report.fraud_rate.items()},
            }
        )
    else:
        metadata["performance_skip_reason"] = performance["reason"]
    for name, uri in uris.items():
        metadata[f"{name}_html"] = dg.MetadataValue.path(uri)
    return metadata


def drift_check_result(
    report: FraudMonitoringReport, setup: MonitoringSetup
) -> dg.AssetCheckResult:
    """Return the data drift check: warn or fail on the share of drifted features."""
    data = report.data_drift
    share = data.drifted_share
    thresholds = setup.thresholds
    level = check_level(share, thresholds.drifted_share_warn, thresholds.drifted_share_fail)
    if data.columns:
        description = f"{share:.0%} of {len(data.columns)} tested features drifted ({level})"
    else:
        description = "not evaluated: no feature has comparable reference and current values"
    if data.skipped:
        description += f"; {len(data.skipped)} not tested (see untested_feature_reasons)"
    return dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        passed=level == "pass",
        severity=dg.AssetCheckSeverity.ERROR if level == "fail" else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "drifted_share": share,
            "tested_features": len(data.columns),
            "untested_feature_reasons": dg.MetadataValue.json(data.skipped),
            "warn_at": thresholds.drifted_share_warn,
            "fail_at": thresholds.drifted_share_fail,
        },
    )


def ap_drop_check_result(
    report: FraudMonitoringReport, setup: MonitoringSetup
) -> dg.AssetCheckResult:
    """Return the performance check: warn or fail on the AP drop; pass when skipped."""
    performance = report.performance
    thresholds = setup.thresholds
    metadata = {"warn_at": thresholds.ap_drop_warn, "fail_at": thresholds.ap_drop_fail}
    if performance["status"] != "computed" or not np.isfinite(performance["ap_drop"]):
        reason = performance.get("reason", "the champion has no held-out AP to compare with")
        return dg.AssetCheckResult(
            check_name=AP_DROP_CHECK,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"not evaluated: {reason}",
            metadata=metadata,
        )
    drop = performance["ap_drop"]
    level = check_level(drop, thresholds.ap_drop_warn, thresholds.ap_drop_fail)
    return dg.AssetCheckResult(
        check_name=AP_DROP_CHECK,
        passed=level == "pass",
        severity=dg.AssetCheckSeverity.ERROR if level == "fail" else dg.AssetCheckSeverity.WARN,
        description=(
            f"AP {performance['average_precision']:.3f} on {performance['window']} vs held-out "
            f"{performance['baseline_ap']:.3f}: drop {drop:+.3f} ({level})"
        ),
        metadata={**metadata, "ap_drop": drop},
    )
