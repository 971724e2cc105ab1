"""The daily fraud monitoring report: data, prediction and target drift, and performance.

Each part compares the day with references logged with the champion model. Features
are compared with its training rows and scores with its scores on the held-out rows.
Once labels have arrived, the fraud rate and AP of the newly labeled days are compared
with the held-out rows too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.features.fraud_features import FEATURE_COLUMNS
from risk_assets.monitoring.drift import MIN_REFERENCE_VALUES, DriftResult, compute_drift
from risk_assets.monitoring.performance import (
    LabeledWindow,
    fraud_rate_change,
    labeled_performance,
)
from risk_assets.registry.champion_challenger import average_precision

# A daily batch is all weekend or all weekday, so this calendar feature drifts every
# day by construction and would only add noise to the drifted share.
UNMONITORED_FEATURES = ("is_weekend",)
MONITORED_FEATURES = [name for name in FEATURE_COLUMNS if name not in UNMONITORED_FEATURES]


@dataclass
class FraudMonitoringReport:
    """Monitoring results of one day for the champion that scored it.

    Attributes:
        day: Monitored day (ISO date).
        model_version: Champion version whose references were used.
        data_drift: Feature drift of the day against the training reference.
        prediction_drift: Score drift of the day against the held-out scores.
        target_drift: Label drift of the newly labeled window against the held-out
            labels; None when no labels have arrived.
        performance: AUC, AP and AP drop on the newly labeled window, or the reason
            it was skipped.
        fraud_rate: Reference and current fraud rates, when labels have arrived.
    """

    day: str
    model_version: str
    data_drift: DriftResult
    prediction_drift: DriftResult
    target_drift: DriftResult | None
    performance: dict
    fraud_rate: dict

    def summary(self) -> dict:
        """Return the report as a JSON-serializable dict (without the HTML)."""
        return {
            "day": self.day,
            "model_version": self.model_version,
            "data_drift": self.data_drift.summary(),
            "prediction_drift": self.prediction_drift.summary(),
            "target_drift": self.target_drift.summary() if self.target_drift else None,
            "performance": self.performance,
            "fraud_rate": self.fraud_rate,
        }

    def html_reports(self) -> dict[str, bytes]:
        """Render each Evidently report as HTML, by report name."""
        pages = {
            "data_drift": self.data_drift.html(),
            "prediction_drift": self.prediction_drift.html(),
        }
        if self.target_drift is not None:
            pages["target_drift"] = self.target_drift.html()
        return pages


def holdout_average_precision(holdout: pd.DataFrame) -> float:
    """Return the AP of the model on its own held-out rows (NaN with a single class)."""
    labels = holdout["is_fraud"].astype(float).to_numpy()
    if labels.min() == labels.max():
        return float("nan")
    return average_precision(labels, holdout["score"].to_numpy(float))


def build_monitoring_report(
    day: pd.Timestamp,
    model_version: str,
    reference_features: pd.DataFrame,
    holdout_scores: pd.DataFrame,
    day_features: pd.DataFrame,
    scored_history: pd.DataFrame,
    label_delay_days: int,
    performance_days: int,
    min_labeled_frauds: int = 1,
) -> FraudMonitoringReport:
    """Compare one day with the champion's references.

    Args:
        day: The monitored day.
        model_version: Current champion version.
        reference_features: The champion's training rows (feature columns).
        holdout_scores: The champion's held-out rows with ``is_fraud`` and ``score``.
        day_features: Feature rows of the monitored day.
        scored_history: Predictions of the monitored day and of the days before it,
            with ``timestamp``, ``is_fraud``, ``score`` and ``model_version``.
        label_delay_days: Days until a label arrives.
        performance_days: Length of the newly labeled window.
        min_labeled_frauds: Fewest labeled frauds for which performance is computed.

    Raises:
        ValueError: The references and the day share no monitored column, or the day
            has no scored rows.
    """
    day = pd.Timestamp(day).normalize()
    current_scores = scored_history[scored_history["timestamp"].dt.normalize() == day]
    if current_scores.empty:
        raise ValueError(f"no predictions for {day.date()}; score the day before monitoring it")
    data_drift = compute_drift(
        reference_features, day_features, MONITORED_FEATURES, MIN_REFERENCE_VALUES
    )
    prediction_drift = compute_drift(holdout_scores, current_scores, ["score"])

    window = LabeledWindow.for_day(day, label_delay_days, performance_days)
    # Only the current champion's predictions are compared with its baseline; rows a
    # replaced champion scored would make a freshly promoted model look degraded.
    own_rows = scored_history[scored_history["model_version"].astype(str) == str(model_version)]
    performance = labeled_performance(
        own_rows, window, holdout_average_precision(holdout_scores), min_labeled_frauds
    )
    labeled = window.select(own_rows)
    target_drift = None
    fraud_rate: dict = {}
    if performance["status"] == "computed":
        target_drift = compute_drift(holdout_scores, labeled, ["is_fraud"])
        fraud_rate = fraud_rate_change(holdout_scores, labeled)
    return FraudMonitoringReport(
        day=day.date().isoformat(),
        model_version=str(model_version),
        data_drift=data_drift,
        prediction_drift=prediction_drift,
        target_drift=target_drift,
        performance=performance,
        fraud_rate=fraud_rate,
    )


def check_level(value: float, warn: float, fail: float) -> str:
    """Return "fail", "warn" or "pass" for a value against two thresholds."""
    if not np.isfinite(value):
        return "pass"
    if value >= fail:
        return "fail"
    if value >= warn:
        return "warn"
    return "pass"
