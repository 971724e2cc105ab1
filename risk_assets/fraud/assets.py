"""Fraud slice as Dagster assets: model, batch predictions and evaluation."""

import json
import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb

from risk_assets.features.fraud_features import (
    FEATURE_COLUMNS,
    WINDOWS,
    full_history_features,
    mask_unfilled_windows,
)
from risk_assets.fraud.evaluation import (
    TimeSplit,
    evaluate_scores,
    filter_known_compromised,
    in_window,
    precision_recall_png,
)
from risk_assets.fraud.explanations import top_contributions
from risk_assets.fraud.graph.scoring import RISK_FEATURE_COLUMNS, add_graph_risk_features
from risk_assets.fraud.training import XGBoostParams, calibrate_margin, train_fraud_model
from risk_assets.metadata import markdown_table, png_markdown
from risk_assets.monitoring.config import REFERENCE_MIN_DAYS
from risk_assets.registry.versions import save_reference_artifacts
from risk_assets.resources.tracking import log_training_run

MODEL_NAME = "fraud_xgboost"
GRAPH_FEATURES = list(RISK_FEATURE_COLUMNS.values())
REFERENCE_ROWS = 5000
PIP_REQUIREMENTS = ["xgboost-cpu==3.2.0", "pandas==2.3.3", "numpy==2.4.6"]


class FraudTrainingConfig(dg.Config):
    """Time split and hyperparameters of the fraud model.

    Attributes:
        train_start: First training day (ISO date). Empty places the test window on the
            last ``test_days`` days of data.
        train_days: Length of the training window.
        delay_days: Gap in which labels are not known yet.
        test_days: Length of the test window.
        max_depth: Tree depth.
        learning_rate: Boosting learning rate.
        max_rounds: Upper bound of boosting rounds (early stopping picks fewer).
        tree_method: XGBoost tree method (``exact`` or ``hist``).
        validation_days: Last training days held out for early stopping.
        use_graph_features: Add the GNN's customer, terminal and device risk scores
            to the features. Off by default because on the handbook data they lowered
            validation AP (see benchmarks/README.md). NOTE: the daily monitoring loop
            scores with the base features only, so a champion trained with graph
            features cannot score daily partitions.
    """

    train_start: str = ""
    train_days: int = 7
    delay_days: int = WINDOWS.label_delay_days
    test_days: int = 7
    max_depth: int = 6
    learning_rate: float = 0.1
    max_rounds: int = 300
    tree_method: str = "exact"
    validation_days: int = 2
    use_graph_features: bool = False

    def split(self, transactions: pd.DataFrame) -> TimeSplit:
        """Return the time split, placed at the end of the data when ``train_start`` is empty."""
        if self.train_start:
            return TimeSplit(
                pd.Timestamp(self.train_start), self.train_days, self.delay_days, self.test_days
            )
        return TimeSplit.ending_at(
            transactions["timestamp"].max(), self.train_days, self.delay_days, self.test_days
        )


@dg.asset(
    group_name="fraud",
    kinds={"xgboost", "mlflow"},
    required_resource_keys={"mlflow"},
    description="XGBoost fraud model trained on a time window with a label-delay gap, "
    "logged and registered in MLflow.",
)
def fraud_model(
    context: dg.AssetExecutionContext,
    config: FraudTrainingConfig,
    transaction_features: pd.DataFrame,
    graph_risk_scores: pd.DataFrame,
) -> dict:
    split = config.split(transaction_features)
    params = XGBoostParams(
        max_depth=config.max_depth,
        learning_rate=config.learning_rate,
        max_rounds=config.max_rounds,
        tree_method=config.tree_method,
        validation_days=config.validation_days,
    )
    context.log.info(f"training {MODEL_NAME} on {split.describe()}")
    names = list(FEATURE_COLUMNS)
    if config.use_graph_features:
        transaction_features = add_graph_risk_features(transaction_features, graph_risk_scores)
        names += GRAPH_FEATURES
    model = train_fraud_model(transaction_features, split, names, params)
    metrics = {"validation_aucpr": model.validation_aucpr, "best_rounds": model.best_rounds}

    # The monitoring loop compares daily data with these references when this version
    # is champion: a sample of training rows, and the model's scores on the test window.
    # Features whose window was not yet full on a row are blanked there, so that drift
    # compares only complete values. Features over all history are blanked throughout,
    # because this table reads all history and the daily feed a fixed number of days.
    train_rows = transaction_features[
        in_window(transaction_features, split.train_start, split.train_end)
    ]
    reference = mask_unfilled_windows(
        train_rows.sample(min(len(train_rows), REFERENCE_ROWS), random_state=0),
        transaction_features["timestamp"].min(),
        min_days=REFERENCE_MIN_DAYS,
    )
    reference[full_history_features()] = float("nan")
    test_rows = transaction_features[
        in_window(transaction_features, split.test_start, split.test_end)
    ]
    holdout_scores = test_rows[["transaction_id", "timestamp", "customer_id", "is_fraud"]].assign(
        score=model.predict(test_rows)
    )
    with tempfile.TemporaryDirectory() as folder:
        importance = Path(folder) / "feature_importance.json"
        importance.write_text(json.dumps(model.booster.get_score(importance_type="gain")))
        artifacts = save_reference_artifacts(
            reference[names], holdout_scores, Path(folder) / "references"
        )
        registered = log_training_run(
            context,
            model_name=MODEL_NAME,
            params={**model.summary(), **split.describe()},
            metrics=metrics,
            log_model=lambda: mlflow.xgboost.log_model(
                model.booster,
                name="model",
                model_format="ubj",
                pip_requirements=PIP_REQUIREMENTS,
            ),
            data_version=model.data_version,
            artifacts={"diagnostics": str(importance), **artifacts},
        )
    context.add_output_metadata(
        {
            "model_version": registered.version,
            "model_uri": registered.model_uri,
            "mlflow_run_id": registered.run_id,
            "data_version": model.data_version,
            "train_rows": model.train_rows,
            "train_frauds": model.train_frauds,
            "best_rounds": model.best_rounds,
            "validation_aucpr": float(model.validation_aucpr),
            "tree_method": config.tree_method,
            "graph_features": config.use_graph_features,
            **{f"window_{key}": value for key, value in split.describe().items()},
        }
    )
    return {
        **registered.as_dict(),
        "feature_names": model.feature_names,
        "train_start": str(split.train_start.date()),
        "train_days": split.train_days,
        "delay_days": split.delay_days,
        "test_days": split.test_days,
        "data_version": model.data_version,
        "calibration": list(model.calibration),
    }


def load_booster(model_uri: str) -> xgb.Booster:
    """Load a registered XGBoost model from MLflow (stored in XGBoost's UBJ format)."""
    loaded = mlflow.xgboost.load_model(model_uri)
    return loaded if isinstance(loaded, xgb.Booster) else loaded.get_booster()


def split_of(model_info: dict) -> TimeSplit:
    """Return the time split that a ``fraud_model`` output was trained with."""
    return TimeSplit(
        pd.Timestamp(model_info["train_start"]),
        int(model_info["train_days"]),
        int(model_info["delay_days"]),
        int(model_info["test_days"]),
    )


@dg.asset(
    group_name="fraud",
    kinds={"pandas", "parquet"},
    required_resource_keys={"mlflow"},
    description="Fraud score of every transaction after the training window, with the "
    "features and the top contributing features of each score.",
)
def fraud_predictions(
    context: dg.AssetExecutionContext,
    fraud_model: dict,
    transaction_features: pd.DataFrame,
    graph_risk_scores: pd.DataFrame,
) -> pd.DataFrame:
    split = split_of(fraud_model)
    rows = transaction_features[transaction_features["timestamp"] >= split.train_end]
    rows = rows.reset_index(drop=True)
    booster = load_booster(fraud_model["model_uri"])
    names = fraud_model["feature_names"]
    if any(name in GRAPH_FEATURES for name in names):
        rows = add_graph_risk_features(rows, graph_risk_scores)
    matrix = xgb.DMatrix(rows[names].astype(float), feature_names=names)
    margin = booster.predict(matrix, output_margin=True)
    scores = calibrate_margin(margin, tuple(fraud_model["calibration"]))
    contributions = booster.predict(matrix, pred_contribs=True)[:, :-1]
    predictions = rows.assign(
        fraud_score=scores,
        top_features=top_contributions(contributions, names, k=3),
        model_name=fraud_model["name"],
        model_version=fraud_model["version"],
    )
    context.add_output_metadata(
        {
            "dagster/row_count": len(predictions),
            "model_version": fraud_model["version"],
            "scored_from": str(split.train_end.date()),
            "mean_score": float(np.mean(scores)) if len(scores) else 0.0,
        }
    )
    return predictions


@dg.asset(
    group_name="fraud",
    kinds={"pandas"},
    description="AUC ROC, average precision and Card Precision@100 on the test window, "
    "with customers already known as compromised removed, and the PR curve.",
)
def fraud_model_evaluation(
    context: dg.AssetExecutionContext,
    fraud_model: dict,
    fraud_predictions: pd.DataFrame,
    transaction_features: pd.DataFrame,
) -> dict:
    split = split_of(fraud_model)
    history = transaction_features[
        in_window(transaction_features, split.train_start, split.test_end)
    ]
    test = filter_known_compromised(history, split)
    scored = test.merge(
        fraud_predictions[["transaction_id", "fraud_score"]], on="transaction_id", how="left"
    ).rename(columns={"fraud_score": "score"})
    if scored["score"].isna().any():
        raise ValueError(
            f"{int(scored['score'].isna().sum())} test transactions have no prediction; "
            "re-materialize fraud_predictions with this fraud_model"
        )
    result = evaluate_scores(scored, k=100)
    per_day = result.pop("per_day")
    image = precision_recall_png(
        scored["is_fraud"].astype(int).to_numpy(),
        scored["score"].to_numpy(),
        f"{fraud_model['name']} v{fraud_model['version']}, test window",
    )
    context.add_output_metadata(
        {
            **result,
            "model_version": fraud_model["version"],
            **{f"window_{key}": value for key, value in split.describe().items()},
            "card_precision_per_day": markdown_table(per_day),
            "pr_curve": png_markdown(image, "precision-recall curve"),
        }
    )
    context.log.info(
        f"AUC {result['auc_roc']:.3f}, AP {result['average_precision']:.3f}, "
        f"CP@100 {result['card_precision_at_100']:.3f}"
    )
    return {**result, "card_precision_per_day": per_day.to_dict(orient="records")}
