"""Retraining and champion-challenger assets, partitioned by the as-of day.

A retraining run for day ``d`` uses only labels known on ``d``: the labeled days end
at ``d - label_delay_days``. The last ``evaluation_days`` of them are held out for the
comparison; the ``train_days`` before are the training window.
"""

import tempfile
from dataclasses import replace
from pathlib import Path

import dagster as dg
import mlflow.xgboost
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from risk_assets.features.fraud_features import FEATURE_COLUMNS, mask_unfilled_windows
from risk_assets.fraud.evaluation import TimeSplit, in_window
from risk_assets.fraud.training import train_fraud_model
from risk_assets.metadata import markdown_table
from risk_assets.monitoring.config import REFERENCE_MIN_DAYS, MonitoringSetup
from risk_assets.registry.aliases import promote_to_champion
from risk_assets.registry.champion_challenger import (
    PromotionDecision,
    average_precision,
    compare_models,
)
from risk_assets.registry.versions import (
    champion_version,
    load_version,
    save_reference_artifacts,
)
from risk_assets.resources.tracking import log_training_run

GROUP = "registry"
RETRAIN_REASON_TAG = "retrain_reason"


class FraudRetrainingConfig(dg.Config):
    """Hyperparameter overrides of one retraining run; unset fields keep the setup's."""

    max_depth: int | None = None
    max_rounds: int | None = None
    learning_rate: float | None = None


def training_windows(setup: MonitoringSetup, as_of: pd.Timestamp) -> tuple[TimeSplit, pd.Timestamp]:
    """Return the training split and the first held-out day for a run as of ``as_of``."""
    last_labeled = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=setup.label_delay_days)
    holdout_start = last_labeled - pd.Timedelta(days=setup.evaluation_days - 1)
    train_start = holdout_start - pd.Timedelta(days=setup.train_days)
    return TimeSplit(train_start, train_days=setup.train_days), holdout_start


def build_registry_assets(
    setup: MonitoringSetup, feed_partitions: dg.DailyPartitionsDefinition, features_key: dg.AssetKey
) -> list[dg.AssetsDefinition]:
    """Build the retraining and evaluation assets over the daily feature partitions."""
    delay = setup.label_delay_days
    training_mapping = dg.TimeWindowPartitionMapping(
        start_offset=-(delay + setup.evaluation_days + setup.train_days - 1),
        end_offset=-delay,
        allow_nonexistent_upstream_partitions=True,
    )
    holdout_mapping = dg.TimeWindowPartitionMapping(
        start_offset=-(delay + setup.evaluation_days - 1),
        end_offset=-delay,
        allow_nonexistent_upstream_partitions=True,
    )

    @dg.asset(
        partitions_def=feed_partitions,
        group_name=GROUP,
        kinds={"xgboost", "mlflow"},
        required_resource_keys={"mlflow"},
        ins={"features": dg.AssetIn(key=features_key, partition_mapping=training_mapping)},
        description=(
            f"A retrained {setup.model_name} version registered as challenger, trained on "
            "the labels known on the partition's day."
        ),
    )
    def fraud_challenger_model(
        context: dg.AssetExecutionContext, config: FraudRetrainingConfig, features: pd.DataFrame
    ) -> dict:
        as_of = pd.Timestamp(context.partition_key)
        split, holdout_start = training_windows(setup, as_of)
        overrides = {key: value for key, value in config.model_dump().items() if value is not None}
        params = replace(setup.model_params, **overrides)
        model = train_fraud_model(features, split, FEATURE_COLUMNS, params)

        holdout_end = holdout_start + pd.Timedelta(days=setup.evaluation_days)
        holdout = features[in_window(features, holdout_start, holdout_end)]
        holdout_scores = holdout[["transaction_id", "timestamp", "customer_id", "is_fraud"]].copy()
        holdout_scores["score"] = model.predict(holdout)
        metrics = {"validation_aucpr": model.validation_aucpr, **holdout_metrics(holdout_scores)}

        train_rows = features[in_window(features, split.train_start, split.train_end)]
        sample_size = min(len(train_rows), setup.reference_rows)
        # Blank features whose window was not full yet, counted from the feed's start.
        sample = train_rows.sample(sample_size, random_state=0)
        reference = mask_unfilled_windows(sample, setup.day(0), min_days=REFERENCE_MIN_DAYS)
        reference = reference[FEATURE_COLUMNS]
        reason = context.run.tags.get(RETRAIN_REASON_TAG, "manual run")
        with tempfile.TemporaryDirectory() as scratch:
            artifacts = save_reference_artifacts(reference, holdout_scores, Path(scratch))
            registered = log_training_run(
                context,
                model_name=setup.model_name,
                params=model.summary(),
                metrics=metrics,
                log_model=lambda: mlflow.xgboost.log_model(
                    model.booster,
                    name="model",
                    model_format="json",
                    pip_requirements=["xgboost-cpu==3.2.0"],
                ),
                data_version=model.data_version,
                tags={"as_of_day": as_of.date().isoformat(), RETRAIN_REASON_TAG: reason},
                artifacts=artifacts,
            )

        windows = {
            **split.describe(),
            "holdout": f"{holdout_start.date()}..{(holdout_end - pd.Timedelta(days=1)).date()}",
        }
        context.add_output_metadata(
            {
                "version": registered.version,
                "aliases": ", ".join(registered.aliases),
                "train_window": windows["train"],
                "holdout_window": windows["holdout"],
                "train_rows": model.train_rows,
                "train_frauds": model.train_frauds,
                "best_rounds": model.best_rounds,
                "retrain_reason": reason,
                **{key: float(value) for key, value in metrics.items()},
            }
        )
        return {**registered.as_dict(), "windows": windows, "metrics": metrics}

    @dg.asset(
        partitions_def=feed_partitions,
        group_name=GROUP,
        kinds={"mlflow"},
        required_resource_keys={"mlflow"},
        ins={"holdout": dg.AssetIn(key=features_key, partition_mapping=holdout_mapping)},
        description=(
            "Champion and challenger scored on the same held-out labeled days; the "
            "challenger becomes champion only when the AP gain is significant and no "
            "guardrail regresses."
        ),
    )
    def fraud_champion_challenger_evaluation(
        context: dg.AssetExecutionContext, fraud_challenger_model: dict, holdout: pd.DataFrame
    ) -> dict:
        client = MlflowClient()
        name = setup.model_name
        challenger = str(fraud_challenger_model["version"])
        champion = champion_version(client, name)
        if champion == challenger:
            # Either log_training_run made the first version champion at registration,
            # or this evaluation runs again after the challenger was promoted.
            promotion_reason = client.get_model_version(name, challenger).tags.get(
                "promotion_reason", ""
            )
            outcome = (
                "promoted_first_version"
                if promotion_reason.startswith("first version")
                else "already_champion"
            )
            decision = {
                "decision": outcome,
                "champion_version": champion,
                "challenger_version": challenger,
                "reasons": [promotion_reason or "the challenger is already the champion"],
            }
            if outcome == "promoted_first_version":
                client.set_model_version_tag(name, challenger, "evaluation_decision", outcome)
            context.add_output_metadata({"decision": outcome, "version": challenger})
            return decision

        labels = holdout["is_fraud"].astype(float).to_numpy()
        champion_scores = load_version(client, name, champion).predict(holdout)
        challenger_scores = load_version(client, name, challenger).predict(holdout)
        result = compare_models(
            labels,
            champion_scores,
            challenger_scores,
            clusters=holdout["customer_id"].astype(str).to_numpy(),
            policy=setup.policy,
        )
        outcome = "promoted" if result.promote else "rejected"
        reason_text = "; ".join(result.reasons)
        if result.promote:
            promote_to_champion(client, name, challenger, f"champion-challenger: {reason_text}")
        tags = {
            "evaluation_decision": outcome,
            "evaluation_reasons": reason_text,
            "evaluation_champion_version": champion,
            "evaluation_window": f"{holdout['timestamp'].min().date()}.."
            f"{holdout['timestamp'].max().date()}",
            "evaluation_champion_ap": f"{result.champion_ap:.6f}",
            "evaluation_challenger_ap": f"{result.challenger_ap:.6f}",
            "evaluation_ap_difference": f"{result.ap_difference:.6f}",
            "evaluation_ci_low": f"{result.ci_low:.6f}",
            "evaluation_ci_high": f"{result.ci_high:.6f}",
        }
        for key, value in tags.items():
            client.set_model_version_tag(name, challenger, key, value)
        context.log.info(f"{name} v{challenger} vs champion v{champion}: {outcome} ({reason_text})")
        context.add_output_metadata(decision_metadata(result, outcome, champion, challenger))
        return {
            "decision": outcome,
            "champion_version": champion,
            "challenger_version": challenger,
            **result.as_dict(),
        }

    return [fraud_challenger_model, fraud_champion_challenger_evaluation]


def holdout_metrics(holdout_scores: pd.DataFrame) -> dict[str, float]:
    """Return AUC and AP of held-out scores (NaN with a single class)."""
    labels = holdout_scores["is_fraud"].astype(int).to_numpy()
    if len(labels) == 0 or labels.min() == labels.max():
        return {"holdout_auc_roc": float("nan"), "holdout_average_precision": float("nan")}
    scores = holdout_scores["score"].to_numpy(float)
    return {
        "holdout_auc_roc": float(roc_auc_score(labels, scores)),
        "holdout_average_precision": average_precision(labels.astype(float), scores),
    }


def decision_metadata(
    result: PromotionDecision, outcome: str, champion: str, challenger: str
) -> dict:
    """Return the evaluation's materialization metadata."""
    guardrails = pd.DataFrame(
        {
            "champion": result.champion_guardrails,
            "challenger": result.challenger_guardrails,
        }
    )
    passed = pd.Series(result.guardrails_passed).reindex(guardrails.index)
    guardrails["passed"] = passed.map({True: "yes", False: "no"}).fillna("not guarded")
    return {
        "decision": outcome,
        "reasons": "; ".join(result.reasons),
        "champion_version": champion,
        "challenger_version": challenger,
        "rows": result.rows,
        "frauds": result.frauds,
        "champion_ap": result.champion_ap,
        "challenger_ap": result.challenger_ap,
        "ap_difference": result.ap_difference,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "confidence": result.confidence,
        "guardrails": markdown_table(guardrails.reset_index(names="metric")),
        "finite_scores": bool(
            np.isfinite(result.champion_ap) and np.isfinite(result.challenger_ap)
        ),
    }
