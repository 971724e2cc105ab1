"""Outlier scores for the transaction feature table (no Dagster here)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from risk_assets.anomaly.tabular import EnsembleDetector, Normalization, default_detectors
from risk_assets.anomaly.thresholds import PolicyKind, ThresholdPolicy
from risk_assets.anomaly.validation import require_int

logger = logging.getLogger(__name__)

ID_COLUMN = "transaction_id"
LABEL_COLUMN = "is_fraud"


@dataclass
class OutlierScoringResult:
    """Per-transaction scores and the figures an operator wants to see.

    Attributes:
        scores: One row per transaction: ``transaction_id``, one ``score_<detector>``
            column per member, ``ensemble_score`` and ``is_alert``.
        threshold: Ensemble score above which a row is an alert.
        summary: Row counts, alert rate and, when labels exist, ROC AUC and average
            precision of each score against ``is_fraud``.
    """

    scores: pd.DataFrame
    threshold: float
    summary: dict = field(default_factory=dict)


def score_transactions(
    features: pd.DataFrame,
    feature_columns: list[str],
    alert_rate: float = 0.01,
    policy_kind: PolicyKind = "contamination",
    normalization: Normalization = "z",
    max_training_rows: int = 20_000,
    autoencoder_epochs: int = 10,
    random_state: int = 0,
) -> OutlierScoringResult:
    """Fit the outlier ensemble on the feature table and score every transaction.

    Features are standardized, the ensemble is fitted on at most ``max_training_rows``
    rows drawn at random, and every row is scored. Labels are never used for fitting.

    Args:
        features: One row per transaction with ``transaction_id`` and the feature columns.
        feature_columns: Numeric columns to use.
        alert_rate: Share of rows to flag, see :class:`ThresholdPolicy`.
        policy_kind: ``"contamination"`` (threshold from training scores) or
            ``"alert_rate"`` (threshold from the scored rows).
        normalization: How member scores are put on one scale before averaging.
        max_training_rows: Cap on fitting rows, which bounds LOF and AutoEncoder time.
        autoencoder_epochs: AutoEncoder training epochs.
        random_state: Seed of sampling and model initialization.

    Returns:
        Scores, threshold and summary.

    Raises:
        ValueError: If ``feature_columns`` is empty or repeats a name, a column is
            missing, the table has fewer than 10 rows, a feature is not numeric, contains
            NaN or infinite values or overflows when standardized, every feature is
            constant, ``max_training_rows`` is below 10, or ``is_fraud`` contains a
            value other than 0, 1 or missing.
    """
    _check_feature_columns(features, feature_columns)
    require_int(max_training_rows, "max_training_rows", minimum=10)
    policy = ThresholdPolicy(rate=alert_rate, kind=policy_kind)
    matrix = _feature_matrix(features, feature_columns)
    _check_labels(features)

    scaled = StandardScaler().fit_transform(matrix)
    overflowed = [
        c for c, ok in zip(feature_columns, np.isfinite(scaled).all(axis=0), strict=True) if not ok
    ]
    if overflowed:
        raise ValueError(
            f"Feature columns {overflowed} overflow to NaN or infinity when standardized "
            f"(largest absolute value {np.abs(matrix).max():.3g}); rescale them first, "
            "e.g. with a log transform."
        )
    rng = np.random.default_rng(random_state)
    if len(scaled) > max_training_rows:
        training_rows = np.sort(rng.choice(len(scaled), size=max_training_rows, replace=False))
    else:
        training_rows = np.arange(len(scaled))
    ensemble = EnsembleDetector(
        default_detectors(random_state=random_state, autoencoder_epochs=autoencoder_epochs),
        normalization=normalization,
    )
    ensemble.fit(scaled[training_rows])
    logger.info("Fitted outlier ensemble on %d of %d rows", len(training_rows), len(scaled))
    if policy_kind == "contamination" and len(training_rows) * alert_rate < 1:
        logger.warning(
            "Only %d training rows for alert rate %g: the 1 - rate quantile of so few "
            "training scores is unreliable, so the alert rate on all rows can be far from "
            "the requested one. Raise max_training_rows to at least %d or use "
            "policy_kind='alert_rate'.",
            len(training_rows),
            alert_rate,
            int(np.ceil(1 / alert_rate)),
        )

    member_scores = ensemble.member_scores(scaled)
    ensemble_score = ensemble.combine(member_scores)
    policy.fit(ensemble.training_scores_)
    threshold = policy.threshold_for(ensemble_score)
    alerts = policy.flag(ensemble_score)

    scores = pd.DataFrame({ID_COLUMN: features[ID_COLUMN].to_numpy()})
    for name, values in member_scores.items():
        scores[f"score_{name}"] = values
    scores["ensemble_score"] = ensemble_score
    scores["is_alert"] = alerts

    summary: dict = {
        "rows": len(features),
        "training_rows": len(training_rows),
        "alerts": int(alerts.sum()),
        "alert_rate": float(alerts.mean()),
        "threshold": threshold,
        "policy": policy_kind,
        "normalization": normalization,
    }
    summary.update(label_metrics(features, scores))
    return OutlierScoringResult(scores=scores, threshold=threshold, summary=summary)


def _check_feature_columns(features: pd.DataFrame, feature_columns: list[str]) -> None:
    if not feature_columns:
        raise ValueError("feature_columns is empty; pass at least one numeric feature column.")
    repeated = sorted({c for c in feature_columns if feature_columns.count(c) > 1})
    if repeated:
        raise ValueError(
            f"feature_columns repeats {repeated}; list each column once, because a repeated "
            "column counts twice in every distance."
        )
    missing = [c for c in [ID_COLUMN, *feature_columns] if c not in features.columns]
    if missing:
        raise ValueError(
            f"transaction features are missing columns {missing}; "
            "pass the transaction_features table."
        )
    if len(features) < 10:
        raise ValueError(
            f"Need at least 10 transactions to fit outlier models, got {len(features)}."
        )


def _feature_matrix(features: pd.DataFrame, feature_columns: list[str]) -> np.ndarray:
    """Return the features as floats after checking that each column is numeric and finite."""
    for column in feature_columns:
        try:
            features[column].to_numpy(dtype=float)
        except (TypeError, ValueError):
            converted = pd.to_numeric(features[column], errors="coerce")
            failed = features[column][converted.isna() & features[column].notna()]
            raise ValueError(
                f"Feature column {column!r} is not numeric: {len(failed)} values cannot be "
                f"converted to float, e.g. {failed.iloc[0]!r} in row {failed.index[0]}. "
                "Encode the column as numbers or drop it from feature_columns."
            ) from None
    matrix = features[feature_columns].to_numpy(dtype=float)
    bad = [
        c for c, ok in zip(feature_columns, np.isfinite(matrix).all(axis=0), strict=True) if not ok
    ]
    if bad:
        raise ValueError(
            f"Feature columns {bad} contain NaN or infinite values; impute them first."
        )
    constant = [
        c for c, spread in zip(feature_columns, np.ptp(matrix, axis=0), strict=True) if spread == 0
    ]
    if len(constant) == len(feature_columns):
        raise ValueError(
            f"Every feature column is constant ({constant}), so all transactions would get "
            "the same outlier score; pass at least one column that varies."
        )
    if constant:
        logger.warning("Feature columns %s are constant and carry no signal", constant)
    return matrix


def _check_labels(features: pd.DataFrame) -> None:
    """Raise if ``is_fraud`` has a value other than 0, 1 (or True, False) or missing."""
    if LABEL_COLUMN not in features.columns:
        return
    raw = features[LABEL_COLUMN]
    labels = pd.to_numeric(raw, errors="coerce")
    invalid = raw[(raw.notna() & labels.isna()) | (labels.notna() & ~labels.isin([0, 1]))]
    if len(invalid):
        raise ValueError(
            f"{LABEL_COLUMN} must be 0, 1 or missing, but {len(invalid)} values are not, "
            f"e.g. {invalid.iloc[0]!r} in row {invalid.index[0]}. Map the labels to 0 and "
            "1, or set unknown ones to missing."
        )


def label_metrics(features: pd.DataFrame, scores: pd.DataFrame) -> dict[str, float]:
    """Return ROC AUC and average precision of each score column against ``is_fraud``.

    Rows without a label are left out. Returns an empty dict when there is no label
    column or the labelled rows contain only one class.
    """
    if LABEL_COLUMN not in features.columns:
        return {}
    labels = pd.to_numeric(features[LABEL_COLUMN], errors="coerce").to_numpy(dtype=float)
    known = ~np.isnan(labels)
    if known.sum() == 0 or len(np.unique(labels[known])) < 2:
        return {}
    metrics: dict[str, float] = {"labelled_rows": int(known.sum())}
    for column in [c for c in scores.columns if c.endswith("score") or c.startswith("score_")]:
        name = column.removeprefix("score_")
        values = scores[column].to_numpy(dtype=float)[known]
        metrics[f"roc_auc_{name}"] = float(roc_auc_score(labels[known], values))
        metrics[f"average_precision_{name}"] = float(average_precision_score(labels[known], values))
    return metrics
