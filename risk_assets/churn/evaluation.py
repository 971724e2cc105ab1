"""Evaluation of a trained churn model on its held-out test customers.

Figures: Harrell's concordance of every candidate, and the IPCW time-dependent AUC
and Brier score at each horizon. The Brier score of the Kaplan-Meier curve, which
ignores features, is the reference. Then a calibration table by decile, Kaplan-Meier
curves by retention segment, and the plain XGBoost classifier on the same split.

The horizons here count from signup, S(h | x), because the test customers' future
after the data snapshot is not observed. Segments for the curves are assigned from
the same prospective view: each test customer is scored as if at tenure 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from risk_assets.churn.baseline import fit_baseline_classifier
from risk_assets.churn.customer_360 import DURATION_COLUMN, EVENT_COLUMN, ID_COLUMN
from risk_assets.churn.metrics import (
    CensoringWeights,
    brier_score,
    calibration_table,
    cumulative_dynamic_auc,
    kaplan_meier,
    step_value,
)
from risk_assets.churn.plots import kaplan_meier_png
from risk_assets.churn.predictions import ValueSettings, explain_risk, predict_churn
from risk_assets.churn.segments import SegmentSettings, assign_segments
from risk_assets.churn.training import TEST, TRAIN, VALIDATION, TrainingResult, concordance

logger = logging.getLogger(__name__)


@dataclass
class EvaluationReport:
    """Evaluation figures of one trained model.

    Attributes:
        metrics: Flat name-to-number figures (JSON-serializable).
        calibration: Calibration table at ``calibration_horizon`` months.
        calibration_horizon: Horizon of the calibration table, months.
        segment_counts: Test customers per retention segment.
        km_png: Kaplan-Meier curves of the test customers by segment, PNG bytes.
        details: Other JSON-serializable facts (candidate figures, baseline params).
    """

    metrics: dict[str, float]
    calibration: pd.DataFrame
    calibration_horizon: float
    segment_counts: dict[str, int]
    km_png: bytes
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return everything but the image as a JSON-serializable dict."""
        return {
            "metrics": dict(self.metrics),
            "calibration_horizon_months": self.calibration_horizon,
            "calibration": self.calibration.to_dict(orient="records"),
            "segment_counts": dict(self.segment_counts),
            **self.details,
        }


def _split_frames(result: TrainingResult, customer_360: pd.DataFrame) -> dict[str, pd.DataFrame]:
    frame = customer_360.reset_index(drop=True)
    labels = frame[ID_COLUMN].astype(str).map(result.splits)
    if labels.isna().any():
        raise ValueError(
            f"{int(labels.isna().sum())} customers were not in the training table of this "
            "model; evaluate on the customer_360 table the model was trained on"
        )
    return {name: frame[labels == name] for name in (TRAIN, VALIDATION, TEST)}


def evaluate_churn_model(
    result: TrainingResult,
    customer_360: pd.DataFrame,
    value_settings: ValueSettings | None = None,
    segment_settings: SegmentSettings | None = None,
    calibration_horizon: float | None = None,
) -> EvaluationReport:
    """Evaluate the selected model and the baseline on the test customers.

    Args:
        result: Output of ``train_churn_models`` (or its stored form).
        customer_360: The table the model was trained on.
        value_settings: Horizons and money assumptions of the predictions.
        segment_settings: Segment thresholds for the Kaplan-Meier curves.
        calibration_horizon: Horizon of the calibration table in months; the longest
            prediction horizon when None.

    Returns:
        The evaluation report.

    Raises:
        ValueError: The table contains customers that are not in the model's split.
    """
    value_settings = value_settings or ValueSettings()
    value_settings.validate()
    splits = _split_frames(result, customer_360)
    test, train, validation = splits[TEST], splits[TRAIN], splits[VALIDATION]
    development = pd.concat([train, validation])
    encoder, model = result.encoder, result.model
    test_design = encoder.transform(test)
    durations = test[DURATION_COLUMN].to_numpy(dtype="float64")
    events = test[EVENT_COLUMN].to_numpy(dtype="int64")

    metrics: dict[str, float] = {
        "test_customers": float(len(test)),
        "test_churned": float(events.sum()),
        "c_index": concordance(model, test_design, test),
        "auc_churn_flag": float(roc_auc_score(events, model.risk_score(test_design))),
    }
    for family, candidate in result.candidates.items():
        metrics[f"c_index_{family}"] = concordance(candidate, test_design, test)

    weights = CensoringWeights(development[DURATION_COLUMN], development[EVENT_COLUMN])
    km_times, km_values = kaplan_meier(development[DURATION_COLUMN], development[EVENT_COLUMN])
    horizons = sorted(value_settings.horizons_months)
    survival = model.survival(test_design, np.asarray(horizons, dtype="float64"))
    for index, horizon in enumerate(horizons):
        at_horizon = survival[:, index]
        metrics[f"auc_{horizon}m"] = cumulative_dynamic_auc(
            durations, events, 1.0 - at_horizon, horizon, weights
        )
        metrics[f"brier_{horizon}m"] = brier_score(durations, events, at_horizon, horizon, weights)
        km_at = np.full(len(test), step_value(km_times, km_values, [horizon])[0])
        metrics[f"brier_km_{horizon}m"] = brier_score(durations, events, km_at, horizon, weights)

    calibration_horizon = float(calibration_horizon or horizons[-1])
    churn_by_horizon = 1.0 - model.survival(test_design, np.array([calibration_horizon]))[:, 0]
    calibration = calibration_table(durations, events, churn_by_horizon, calibration_horizon)
    metrics["calibration_max_abs_error"] = float(
        (calibration["mean_predicted"] - calibration["observed"]).abs().max()
    )

    prospective = test.assign(**{DURATION_COLUMN: 0.0})
    scored = predict_churn(model, encoder, prospective, value_settings)
    scored = scored.merge(explain_risk(model, encoder, prospective), on=ID_COLUMN)
    segments = assign_segments(scored, segment_settings)["segment"].to_numpy()
    png = kaplan_meier_png(durations, events, segments, "Test customers by retention segment")
    segment_counts = {str(k): int(v) for k, v in pd.Series(segments).value_counts().items()}

    baseline = fit_baseline_classifier(
        encoder.transform(train),
        train[EVENT_COLUMN],
        encoder.transform(validation),
        validation[EVENT_COLUMN],
        test_design,
        events,
        durations,
        seed=result.settings.seed,
    )
    metrics["baseline_xgb_auc"] = baseline.auc
    metrics["baseline_xgb_c_index"] = baseline.concordance
    logger.info(
        "test c-index %.4f (%s), baseline XGBoost AUC %.4f",
        metrics["c_index"],
        model.family,
        baseline.auc,
    )
    details = {
        "model_family": model.family,
        "baseline": {"best_iteration": baseline.best_iteration, "params": baseline.params},
        "proportional_hazards": result.proportional_hazards,
        "validation_concordance": result.validation_concordance,
    }
    return EvaluationReport(
        metrics=metrics,
        calibration=calibration,
        calibration_horizon=calibration_horizon,
        segment_counts=segment_counts,
        km_png=png,
        details=details,
    )
