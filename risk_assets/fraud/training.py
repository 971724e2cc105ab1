"""Supervised fraud model: XGBoost on the point-in-time feature table.

Training uses only the training window. Its last ``validation_days`` days are held
out to pick the number of boosting rounds by early stopping and to fit a Platt
calibration (a logistic regression on the model's log-odds). The final model is then
refit on the whole window with that many rounds. The test window is never used to
choose anything. Calibration is monotone, so it changes probabilities but not the
ranking that AUC, AP and Card Precision measure.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

from risk_assets.fraud.evaluation import TimeSplit, in_window
from risk_assets.lineage import data_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class XGBoostParams:
    """Hyperparameters of the fraud model.

    ``tree_method`` and ``base_score`` are explicit because XGBoost 3 changed their
    defaults (``hist``, and a base score estimated from the data), which moves results
    on small, imbalanced training sets.
    """

    max_depth: int = 6
    learning_rate: float = 0.1
    max_rounds: int = 400
    early_stopping_rounds: int = 30
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    min_child_weight: float = 1.0
    scale_pos_weight: float = 1.0
    tree_method: str = "exact"
    base_score: float = 0.5
    validation_days: int = 2
    seed: int = 0
    # One thread: tests and Dagster steps run side by side on 2 cores, and two
    # threads per fit made fits many times slower there.
    nthread: int = 1
    extra: dict = field(default_factory=dict)

    def booster_params(self) -> dict:
        """Parameters in the form ``xgboost.train`` takes."""
        return {
            "objective": "binary:logistic",
            "eval_metric": "aucpr",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "scale_pos_weight": self.scale_pos_weight,
            "tree_method": self.tree_method,
            "base_score": self.base_score,
            "seed": self.seed,
            "nthread": self.nthread,
            **self.extra,
        }


@dataclass
class TrainedFraudModel:
    """A fitted booster with what it needs to score and to be reproduced."""

    booster: xgb.Booster
    feature_names: list[str]
    params: XGBoostParams
    best_rounds: int
    validation_aucpr: float
    train_rows: int
    train_frauds: int
    data_version: str
    calibration: tuple[float, float] = (1.0, 0.0)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated fraud probability of each row."""
        return predict_calibrated(self.booster, features, self.feature_names, self.calibration)

    def summary(self) -> dict:
        """Parameters and training facts for tracking."""
        return {
            **{k: v for k, v in asdict(self.params).items() if k != "extra"},
            "best_rounds": self.best_rounds,
            "train_rows": self.train_rows,
            "train_frauds": self.train_frauds,
            "n_features": len(self.feature_names),
            "calibration_slope": self.calibration[0],
            "calibration_intercept": self.calibration[1],
        }


def predict_calibrated(
    booster: xgb.Booster,
    features: pd.DataFrame,
    feature_names: list[str],
    calibration: tuple[float, float] = (1.0, 0.0),
) -> np.ndarray:
    """Fraud probability: the booster's log-odds through the Platt calibration."""
    matrix = xgb.DMatrix(features[feature_names].astype(float), feature_names=feature_names)
    return calibrate_margin(booster.predict(matrix, output_margin=True), calibration)


def calibrate_margin(margin: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """Map XGBoost log-odds to probabilities with the Platt ``(slope, intercept)``."""
    slope, intercept = calibration
    return 1.0 / (1.0 + np.exp(-(slope * margin + intercept)))


def fit_platt(margin: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Fit ``sigmoid(slope * margin + intercept)`` to labels by maximum likelihood."""
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(margin.reshape(-1, 1), labels)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def train_fraud_model(
    features: pd.DataFrame,
    split: TimeSplit,
    feature_names: list[str],
    params: XGBoostParams | None = None,
    label_column: str = "is_fraud",
) -> TrainedFraudModel:
    """Fit the XGBoost fraud model on the training window of ``split``.

    Raises:
        ValueError: The training window contains no fraud or no genuine transaction.
    """
    params = params or XGBoostParams()
    train = features[in_window(features, split.train_start, split.train_end)]
    train = train[train[label_column].notna()]
    labels = train[label_column].astype(int)
    if labels.nunique() < 2:
        raise ValueError(
            f"training window {split.describe()['train']} has {len(train)} labeled rows and "
            f"{int(labels.sum())} frauds; it needs both classes. Move or widen the window."
        )
    cut = split.train_end - pd.Timedelta(days=params.validation_days)
    fit_part = train[train["timestamp"] < cut]
    valid_part = train[train["timestamp"] >= cut]
    booster_params = params.booster_params()

    def matrix(frame: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(
            frame[feature_names].astype(float),
            label=frame[label_column].astype(int),
            feature_names=feature_names,
        )

    best_rounds = params.max_rounds
    validation_aucpr = float("nan")
    calibration = (1.0, 0.0)
    if valid_part[label_column].astype(int).nunique() == 2 and len(fit_part) > 0:
        history: dict = {}
        probe = xgb.train(
            booster_params,
            matrix(fit_part),
            num_boost_round=params.max_rounds,
            evals=[(matrix(valid_part), "validation")],
            early_stopping_rounds=params.early_stopping_rounds,
            evals_result=history,
            verbose_eval=False,
        )
        best_rounds = int(probe.best_iteration) + 1
        validation_aucpr = float(history["validation"]["aucpr"][probe.best_iteration])
        margin = probe.predict(
            matrix(valid_part), output_margin=True, iteration_range=(0, best_rounds)
        )
        calibration = fit_platt(margin, valid_part[label_column].astype(int).to_numpy())
    elif params.validation_days == 0:
        logger.info("no validation slice requested; training %d rounds", best_rounds)
    else:
        logger.warning(
            "validation slice from %s has a single class; training %d rounds without "
            "early stopping",
            cut.date(),
            best_rounds,
        )
    booster = xgb.train(booster_params, matrix(train), num_boost_round=best_rounds)
    return TrainedFraudModel(
        booster=booster,
        feature_names=list(feature_names),
        params=params,
        best_rounds=best_rounds,
        validation_aucpr=validation_aucpr,
        train_rows=len(train),
        train_frauds=int(labels.sum()),
        data_version=data_version(train[["transaction_id", label_column]]),
        calibration=calibration,
    )
