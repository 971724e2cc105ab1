"""Churn assets: customer 360, survival model, predictions, CRM export and evaluation.

The logic lives in the other modules of this package; these definitions add inputs,
configuration, MLflow logging, storage and metadata.
"""

import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
import numpy as np
import pandas as pd

from risk_assets.churn.config import ChurnEvaluationConfig, ChurnModelConfig, ChurnScoringConfig
from risk_assets.churn.customer_360 import EVENT_COLUMN, ID_COLUMN, build_customer_360
from risk_assets.churn.evaluation import evaluate_churn_model
from risk_assets.churn.export import (
    CRM_EXPORT_SCHEMA,
    CRM_EXPORT_SCHEMA_VERSION,
    build_crm_export,
    crm_export_files,
)
from risk_assets.churn.plots import png_markdown
from risk_assets.churn.predictions import explain_risk, predict_churn, probability_column
from risk_assets.churn.segments import SEGMENT_PRIORITY, assign_segments
from risk_assets.churn.training import TrainingResult, train_churn_models
from risk_assets.lineage import data_version
from risk_assets.resources.storage import StorageResource
from risk_assets.resources.tracking import log_training_run

GROUP = "churn"
MODEL_NAME = "churn_survival"
CRM_EXPORT_KEY = "churn/crm_export"
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
# Packages the logged pyfunc model needs besides risk_assets itself.
PYFUNC_REQUIREMENTS = ["lifelines==0.30.3", "pandas==2.3.3", "numpy==2.4.6", "scikit-learn==1.9.1"]


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """Render a small frame as a Markdown table, rounding floats to ``digits``."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = [
            f"{value:.{digits}g}" if isinstance(value, float) else str(value) for value in values
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    description="One row per customer: tenure and churn (the survival target), contract, "
    "plan, price, spend and its trend, activity and its change, support contacts, "
    "complaints and payment failures.",
)
def customer_360(
    context: dg.AssetExecutionContext,
    customers: pd.DataFrame,
    customer_activity: pd.DataFrame,
    transactions: pd.DataFrame,
) -> pd.DataFrame:
    table = build_customer_360(customers, customer_activity, transactions)
    coverage = table.attrs.get("history_coverage", {})
    for source, share in coverage.items():
        if share < 0.95:
            context.log.warning(
                f"{source} covers the history of {share:.1%} of customers; its features are "
                "not in customer_360"
            )
    context.add_output_metadata(
        {
            "dagster/row_count": len(table),
            "churned": int(table[EVENT_COLUMN].sum()),
            "features": dg.MetadataValue.json([c for c in table.columns[3:]]),
            "history_coverage": dg.MetadataValue.json(coverage),
        }
    )
    table.attrs = {}
    return table


def _log_model_to_mlflow(payload: dict[str, Any], folder: Path):
    """Log the JSON parameters as a pyfunc model from code; return the ModelInfo."""
    path = folder / "churn_model.json"
    path.write_text(json.dumps(payload))
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PYFUNC_CODE),
        artifacts={"churn_model": str(path)},
        pip_requirements=PYFUNC_REQUIREMENTS,
    )


def _log_candidates(
    context: dg.AssetExecutionContext, result: TrainingResult, version: str
) -> None:
    """Log every candidate family as its own nested MLflow run, selected or not."""
    tracker = context.resources.mlflow
    for family, model in result.candidates.items():
        tags = {
            "dagster_run_id": context.run_id,
            "data_version": version,
            "model_family": family,
            "selected": str(family == result.model.family).lower(),
        }
        with tracker.start_run(run_name=f"churn_candidate_{family}", nested=True, tags=tags):
            mlflow.log_params({"family": family, **model.fit_info_params()})
            mlflow.log_metric("validation_c_index", result.validation_concordance[family])
            mlflow.log_dict(model.to_dict(), "candidate_model.json")
    context.log.info(f"logged {len(result.candidates)} candidate runs to MLflow")


@dg.asset(
    group_name=GROUP,
    kinds={"lifelines", "mlflow"},
    required_resource_keys={"mlflow"},
    description="Survival model of time to churn: penalized Cox and parametric AFT "
    "candidates, selected by validation concordance, with the proportional-hazards "
    "test of the Cox fit. Stored as JSON parameters.",
)
def churn_model(
    context: dg.AssetExecutionContext, config: ChurnModelConfig, customer_360: pd.DataFrame
) -> dict[str, Any]:
    result = train_churn_models(customer_360, config.to_settings())
    payload = result.to_dict()
    version = data_version(customer_360)
    ph_report = result.proportional_hazards
    if not ph_report["holds"]:
        context.log.warning(
            f"Cox proportional-hazards assumption violated at alpha={ph_report['alpha']} for "
            f"{ph_report['violations']}; selected family is {result.model.family}"
        )
    _log_candidates(context, result, version)

    metrics = {f"validation_c_index_{k}": v for k, v in result.validation_concordance.items()}
    metrics["ph_min_p_value"] = ph_report["min_p_value"]
    metrics["ph_violations"] = float(len(ph_report["violations"]))
    params = {
        **payload["settings"],
        "selected_family": result.model.family,
        "features": len(result.encoder.columns),
    }
    with tempfile.TemporaryDirectory() as folder:
        ph_path = Path(folder) / "proportional_hazards.json"
        ph_path.write_text(json.dumps(ph_report, indent=1))
        registered = log_training_run(
            context,
            model_name=MODEL_NAME,
            params=params,
            metrics=metrics,
            log_model=lambda: _log_model_to_mlflow(payload, Path(folder)),
            data_version=version,
            tags={"model_family": result.model.family},
            artifacts={"diagnostics": str(ph_path)},
        )
    payload["registered_model"] = registered.as_dict()

    context.add_output_metadata(
        {
            "selected_family": result.model.family,
            "validation_c_index": dg.MetadataValue.json(result.validation_concordance),
            "proportional_hazards_holds": bool(ph_report["holds"]),
            "proportional_hazards_violations": dg.MetadataValue.json(ph_report["violations"]),
            "proportional_hazards_min_p": ph_report["min_p_value"],
            "features": len(result.encoder.columns),
            "registered_version": registered.version,
            "model_uri": registered.model_uri,
        }
    )
    return payload


@dg.asset_check(
    asset=churn_model,
    description="The Cox model's proportional-hazards test finds no violating column. A "
    "failure is a warning: read the parametric model or stratify the named columns.",
)
def churn_model_proportional_hazards(churn_model: dict[str, Any]) -> dg.AssetCheckResult:
    report = churn_model["proportional_hazards"]
    return dg.AssetCheckResult(
        passed=bool(report.get("holds", False)),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "alpha": report.get("alpha"),
            "violations": dg.MetadataValue.json(report.get("violations", [])),
            "min_p_value": report.get("min_p_value"),
            "selected_family": churn_model["family"],
        },
    )


def score_customers(
    result: TrainingResult, customers: pd.DataFrame, config: ChurnScoringConfig
) -> pd.DataFrame:
    """Predict, explain and segment ``customers`` with a trained result."""
    predictions = predict_churn(result.model, result.encoder, customers, config.value_settings())
    reasons = explain_risk(result.model, result.encoder, customers)
    return assign_segments(predictions.merge(reasons, on=ID_COLUMN), config.segment_settings())


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    description="Active customers' churn probabilities by horizon, expected remaining "
    "lifetime, remaining lifetime value, top three risk factors and retention segment.",
)
def churn_predictions(
    context: dg.AssetExecutionContext,
    config: ChurnScoringConfig,
    customer_360: pd.DataFrame,
    churn_model: dict[str, Any],
) -> pd.DataFrame:
    result = TrainingResult.from_dict(churn_model)
    active = customer_360[customer_360[EVENT_COLUMN] == 0]
    scored = score_customers(result, active, config)
    summary = (
        scored.groupby("segment")
        .agg(
            customers=(ID_COLUMN, "size"),
            mean_risk=(config.risk_column, "mean"),
            value_at_risk=("value_at_risk", "sum"),
        )
        .reset_index()
    )
    summary["segment_order"] = summary["segment"].map(SEGMENT_PRIORITY)
    summary = summary.sort_values("segment_order").drop(columns="segment_order")
    context.add_output_metadata(
        {
            "dagster/row_count": len(scored),
            "model_family": result.model.family,
            "total_value_at_risk": float(scored["value_at_risk"].sum()),
            **{
                f"mean_{probability_column(h)}": float(scored[probability_column(h)].mean())
                for h in config.horizons_months
            },
            "segments": dg.MetadataValue.md(markdown_table(summary)),
        }
    )
    return scored


@dg.asset_check(
    asset=churn_predictions,
    description="Probabilities are in [0, 1], rise with the horizon, and lifetime and "
    "value are finite and non-negative.",
)
def churn_predictions_valid(churn_predictions: pd.DataFrame) -> dg.AssetCheckResult:
    columns = sorted(
        (c for c in churn_predictions.columns if c.startswith("churn_probability_")),
        key=lambda name: int(name.removeprefix("churn_probability_").removesuffix("m")),
    )
    probabilities = churn_predictions[columns].to_numpy(dtype="float64")
    in_range = bool(np.all((probabilities >= 0) & (probabilities <= 1)))
    monotone = bool(np.all(np.diff(probabilities, axis=1) >= -1e-12))
    amounts = churn_predictions[["expected_remaining_months", "remaining_lifetime_value"]]
    amounts_valid = bool(np.all(np.isfinite(amounts.to_numpy())) and (amounts >= 0).all().all())
    return dg.AssetCheckResult(
        passed=in_range and monotone and amounts_valid,
        metadata={
            "probabilities_in_range": in_range,
            "monotone_in_horizon": monotone,
            "lifetime_and_value_valid": amounts_valid,
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "csv", "parquet"},
    description="CRM export: one row per active customer with predictions, value, "
    "segment, reasons and recommended action, in the fixed CRM_EXPORT_SCHEMA, written "
    "as CSV and Parquet.",
    metadata={
        "schema_version": CRM_EXPORT_SCHEMA_VERSION,
        "schema": dg.MetadataValue.md(
            markdown_table(pd.DataFrame(CRM_EXPORT_SCHEMA, columns=["column", "type"]))
        ),
    },
)
def churn_crm_export(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    churn_predictions: pd.DataFrame,
    churn_model: dict[str, Any],
) -> pd.DataFrame:
    export = build_crm_export(
        churn_predictions, churn_model["family"], pd.Timestamp.now(tz="UTC").tz_localize(None)
    )
    files = crm_export_files(export)
    uris = {
        kind: storage.write_bytes(f"{CRM_EXPORT_KEY}.{kind}", data) for kind, data in files.items()
    }
    context.log.info(f"wrote {len(export)} rows to {uris['csv']} and {uris['parquet']}")
    context.add_output_metadata(
        {
            "dagster/row_count": len(export),
            "csv_uri": dg.MetadataValue.path(uris["csv"]),
            "parquet_uri": dg.MetadataValue.path(uris["parquet"]),
            "customers_to_call": int((export["priority"] == 1).sum()),
        }
    )
    return export


@dg.asset(
    group_name=GROUP,
    kinds={"pandas"},
    description="Test-split evaluation of churn_model: concordance, time-dependent AUC and "
    "Brier score per horizon, calibration by decile, Kaplan-Meier curves by segment, and "
    "a plain XGBoost classifier on the same split.",
)
def churn_model_evaluation(
    context: dg.AssetExecutionContext,
    config: ChurnEvaluationConfig,
    customer_360: pd.DataFrame,
    churn_model: dict[str, Any],
) -> dict[str, Any]:
    result = TrainingResult.from_dict(churn_model)
    report = evaluate_churn_model(
        result,
        customer_360,
        config.value_settings(),
        config.segment_settings(),
        config.calibration_horizon_months,
    )
    metrics = report.metrics
    context.log.info(
        f"test c-index {metrics['c_index']:.4f} ({result.model.family}); baseline XGBoost "
        f"AUC {metrics['baseline_xgb_auc']:.4f}, survival model AUC {metrics['auc_churn_flag']:.4f}"
    )
    context.add_output_metadata(
        {
            **{name: float(value) for name, value in metrics.items()},
            "model_family": result.model.family,
            "calibration": dg.MetadataValue.md(
                f"Horizon {report.calibration_horizon:g} months\n\n"
                + markdown_table(report.calibration)
            ),
            "kaplan_meier_by_segment": dg.MetadataValue.md(
                png_markdown(report.km_png, "Kaplan-Meier curves by retention segment")
            ),
            "proportional_hazards": dg.MetadataValue.json(result.proportional_hazards),
        }
    )
    return report.to_dict()


@dg.asset_check(
    asset=churn_model_evaluation,
    description="The model ranks test customers better than chance (concordance > 0.5).",
)
def churn_model_beats_chance(churn_model_evaluation: dict[str, Any]) -> dg.AssetCheckResult:
    c_index = float(churn_model_evaluation["metrics"]["c_index"])
    return dg.AssetCheckResult(passed=c_index > 0.5, metadata={"c_index": c_index})
