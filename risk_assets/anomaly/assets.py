"""Anomaly assets: outlier scores of transactions and anomalies of service metrics.

The logic lives in ``transactions.py`` and ``service_metrics.py``; these definitions add
configuration, logging and metadata.
"""

import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from risk_assets.anomaly.service_metrics import MetricDetectionSettings, detect_metric_anomalies
from risk_assets.anomaly.transactions import score_transactions
from risk_assets.features.fraud_features import FEATURE_COLUMNS
from risk_assets.lineage import data_version
from risk_assets.metadata import markdown_table
from risk_assets.resources.tracking import log_detector_run
from risk_assets.torch_threads import torch_threads

GROUP = "anomaly"


class TransactionOutlierConfig(dg.Config):
    """Threshold policy and model sizes of ``transaction_outlier_scores``."""

    alert_rate: float = Field(default=0.01, description="Share of transactions to flag, 0 to 1.")
    policy: str = Field(
        default="contamination",
        description="'contamination': threshold fixed on the training scores; "
        "'alert_rate': threshold recomputed on the scored rows.",
    )
    normalization: str = Field(
        default="z", description="Ensemble normalization: 'z', 'robust_z' or 'rank'."
    )
    max_training_rows: int = Field(
        default=20_000, description="Rows sampled to fit the detectors (bounds LOF time)."
    )
    autoencoder_epochs: int = Field(default=10, description="AutoEncoder training epochs.")
    random_state: int = Field(default=0, description="Seed of sampling and model weights.")


class ServiceMetricAnomalyConfig(dg.Config):
    """Detector settings of ``service_metric_anomalies``."""

    stl_threshold: float = Field(default=5.0, description="Flag STL residuals above this, sigmas.")
    lstm_threshold: float = Field(
        default=5.0,
        description="Flag LSTM reconstruction errors above this multiple of the median "
        "training error.",
    )
    use_lstm: bool = Field(default=True, description="Train an LSTM autoencoder per series.")
    lstm_epochs: int = Field(default=10, description="LSTM training epochs per series.")


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet", "pyod", "mlflow"},
    required_resource_keys={"mlflow"},
    description="One row per transaction: Isolation Forest, LOF and AutoEncoder outlier "
    "scores, their ensemble score and the alert flag. Metadata gives the alert rate, the "
    "threshold and, when labels exist, ROC AUC and average precision against is_fraud. "
    "Each fit is logged as an MLflow run.",
)
def transaction_outlier_scores(
    context: dg.AssetExecutionContext,
    config: TransactionOutlierConfig,
    transaction_features: pd.DataFrame,
) -> pd.DataFrame:
    columns = [column for column in FEATURE_COLUMNS if column in transaction_features.columns]
    absent = sorted(set(FEATURE_COLUMNS) - set(columns))
    if absent:
        context.log.warning(f"transaction_features lacks feature columns {absent}")
    with torch_threads(1):
        result = score_transactions(
            transaction_features,
            columns,
            alert_rate=config.alert_rate,
            policy_kind=config.policy,
            normalization=config.normalization,
            max_training_rows=config.max_training_rows,
            autoencoder_epochs=config.autoencoder_epochs,
            random_state=config.random_state,
        )
    summary = result.summary
    context.log.info(
        f"Scored {summary['rows']} transactions, {summary['alerts']} alerts "
        f"(rate {summary['alert_rate']:.4f}, threshold {summary['threshold']:.4f})"
    )
    metadata: dict = {
        "dagster/row_count": summary["rows"],
        "training_rows": summary["training_rows"],
        "alerts": summary["alerts"],
        "alert_rate": summary["alert_rate"],
        "threshold": summary["threshold"],
        "policy": summary["policy"],
        "normalization": summary["normalization"],
    }
    label_rows = [
        {
            "score": key.removeprefix("roc_auc_"),
            "roc_auc": value,
            "average_precision": summary[f"average_precision_{key.removeprefix('roc_auc_')}"],
        }
        for key, value in summary.items()
        if key.startswith("roc_auc_")
    ]
    if label_rows:
        metadata["labelled_rows"] = summary["labelled_rows"]
        metadata["roc_auc_ensemble"] = summary["roc_auc_ensemble_score"]
        metadata["average_precision_ensemble"] = summary["average_precision_ensemble_score"]
        metadata["label_metrics"] = markdown_table(pd.DataFrame(label_rows))
    else:
        context.log.info("No usable is_fraud labels, so no ROC AUC or average precision")
    run_id = log_detector_run(
        context,
        run_name="transaction_outlier_detectors",
        params={**config.model_dump(), "feature_columns": len(columns)},
        metrics={
            name: float(value)
            for name, value in summary.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        },
        data_version=data_version(transaction_features[["transaction_id", *columns]]),
        # NOTE: only settings and results are kept, no detector files. Isolation Forest
        # and LOF are scikit-learn estimators with no safe file format (pickle only), so
        # the three detectors are refitted from these settings and the data version.
        tags={"model_files": "none: refit from params and data_version"},
    )
    metadata["mlflow_run_id"] = run_id
    context.add_output_metadata(metadata)
    return result.scores


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet", "torch", "mlflow"},
    required_resource_keys={"mlflow"},
    description="Every service metric point with its STL residual score, value novelty "
    "score and LSTM autoencoder score, and the anomaly flags. Each fit is logged as an "
    "MLflow run with the LSTM weights (state_dict) of every series.",
)
def service_metric_anomalies(
    context: dg.AssetExecutionContext,
    config: ServiceMetricAnomalyConfig,
    service_metrics: pd.DataFrame,
) -> pd.DataFrame:
    settings = MetricDetectionSettings(
        stl_threshold=config.stl_threshold,
        lstm_threshold=config.lstm_threshold,
        use_lstm=config.use_lstm,
        lstm_epochs=config.lstm_epochs,
    )
    with tempfile.TemporaryDirectory() as folder, torch_threads(1):
        table = detect_metric_anomalies(service_metrics, settings, model_folder=Path(folder))
        saved_models = len(list(Path(folder).glob("*/weights.pt")))
        run_id = log_detector_run(
            context,
            run_name="service_metric_detectors",
            params=config.model_dump(),
            metrics={
                "points": float(len(table)),
                "anomalous_points": float(table["is_anomaly"].sum()),
                "stl_flags": float(table["stl_flag"].sum()),
                "lstm_flags": float(table["lstm_flag"].sum()),
                "lstm_models": float(saved_models),
            },
            data_version=data_version(service_metrics),
            artifact_folders={"lstm_autoencoders": Path(folder)} if saved_models else None,
        )
    per_series = (
        table.groupby(["service", "metric"])
        .agg(points=("value", "size"), anomalies=("is_anomaly", "sum"))
        .reset_index()
    )
    flagged = per_series[per_series["anomalies"] > 0]
    skipped = len(service_metrics) - len(table)
    if skipped:
        context.log.warning(f"{skipped} points in series shorter than 3 points were not scored")
    context.log.info(
        f"Scored {len(table)} points in {len(per_series)} series, "
        f"{int(table['is_anomaly'].sum())} anomalous points"
    )
    context.add_output_metadata(
        {
            "dagster/row_count": len(table),
            "series": len(per_series),
            "anomalous_points": int(table["is_anomaly"].sum()),
            "stl_flags": int(table["stl_flag"].sum()),
            "lstm_flags": int(table["lstm_flag"].sum()),
            "unscored_points": skipped,
            "lstm_models_logged": saved_models,
            "mlflow_run_id": run_id,
            "series_with_anomalies": markdown_table(flagged.head(50)),
        }
    )
    return table
