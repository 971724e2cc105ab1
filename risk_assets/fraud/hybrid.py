"""Hybrid fraud scoring: unsupervised outlier detectors blended with the supervised model.

The supervised model only finds fraud that looks like its labeled examples. A new
fraud pattern has no labels yet, so this module adds pyod outlier detectors fitted on
the same feature columns and blends their scores with the supervised score.

Scores on different scales are blended through percentiles: each score is ranked
against the scores of the training window. Two blends are available:

- ``fisher`` (default) turns each percentile ``p`` into the tail score ``-log(1 - p)``,
  the negative log of an empirical upper-tail p-value as in Fisher's method, and takes
  ``w * tail(supervised) + (1 - w) * mean(tail(detector))``. The log stretches the
  top percentiles, so an extreme score on one side weighs more than in ``mean``.
- ``mean`` averages the percentiles with the same weights.

benchmarks/fraud_hybrid.py reports both at several weights. In its run at w = 0.5 they
found the held-out scenario about equally well, and ``fisher`` had the higher recall
of all frauds in every case.

``run_holdout_experiment`` measures what the blend buys for one unseen scenario. The
scenario's frauds are recorded as genuine before the features are built, as an
undiscovered fraud pattern would be. That hides them from the training labels and
from the label-based features (terminal and device fraud rates). The test window is
then scored with the true labels.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from risk_assets.anomaly.tabular import (
    HistogramDetector,
    IsolationForestDetector,
    OutlierDetector,
    PcaDetector,
)
from risk_assets.features.fraud_features import FEATURE_COLUMNS, build_transaction_features
from risk_assets.fraud.evaluation import TimeSplit, in_window
from risk_assets.fraud.training import XGBoostParams, train_fraud_model

logger = logging.getLogger(__name__)

SUPERVISED = "supervised"
UNSUPERVISED = "unsupervised"
BLENDED = "blended"
BLEND_METHODS = ("fisher", "mean")


def _iforest(seed: int) -> OutlierDetector:
    return IsolationForestDetector(n_estimators=200, random_state=seed)


def _pca(seed: int) -> OutlierDetector:
    return PcaDetector(random_state=seed)


def _hbos(seed: int) -> OutlierDetector:
    return HistogramDetector(n_bins=20)


# Inductive detectors only: pyod 3.6.7's ECOD, for example, re-fits its per-feature
# CDFs on the training and scored rows together at every decision_function call.
# HBOS is not a default because it compiles a numba function on its first fit in each
# process, which took about 30 s on a busy 2-core machine.
DETECTORS: dict[str, Callable[[int], OutlierDetector]] = {
    "iforest": _iforest,
    "pca": _pca,
    "hbos": _hbos,
}


@dataclass(frozen=True)
class HybridConfig:
    """Settings of the hybrid score and of its evaluation.

    Attributes:
        detectors: Names from ``DETECTORS`` whose scores enter the blend.
        supervised_weight: Weight ``w`` of the supervised side in the blend.
        blend_method: ``fisher`` or ``mean``, see the module docstring.
        alert_rate: Share of transactions alerted on, for recall at a fixed alert rate.
        max_fit_rows: Maximum training rows the detectors are fitted on. Larger training
            windows are subsampled without replacement.
        seed: Seed of the detectors and of the subsample.
    """

    detectors: tuple[str, ...] = ("iforest", "pca")
    supervised_weight: float = 0.5
    blend_method: str = "fisher"
    alert_rate: float = 0.01
    max_fit_rows: int = 200_000
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [name for name in self.detectors if name not in DETECTORS]
        if unknown or not self.detectors:
            raise ValueError(
                f"Invalid detectors {list(self.detectors)}. Use one or more of {list(DETECTORS)}."
            )
        if not 0.0 <= self.supervised_weight <= 1.0:
            raise ValueError(
                f"supervised_weight={self.supervised_weight} is outside [0, 1]. "
                "Use 1 for the supervised score alone and 0 for the detectors alone."
            )
        if self.blend_method not in BLEND_METHODS:
            raise ValueError(
                f"Unknown blend_method {self.blend_method!r}. Use one of {BLEND_METHODS}."
            )
        if not 0.0 < self.alert_rate < 1.0:
            raise ValueError(f"alert_rate={self.alert_rate} must be in (0, 1), e.g. 0.01.")
        if self.max_fit_rows < 100:
            raise ValueError(f"max_fit_rows={self.max_fit_rows} is too small. Use at least 100.")


def _feature_matrix(features: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    missing = [column for column in columns if column not in features.columns]
    if missing:
        raise ValueError(f"Feature columns {missing} are missing. Build the features first.")
    matrix = features[list(columns)].to_numpy(dtype="float64")
    if not np.isfinite(matrix).all():
        bad = [column for column in columns if not np.isfinite(features[column]).all()]
        raise ValueError(f"Feature columns {bad} contain NaN or infinite values. Fill them first.")
    return matrix


def percentile_scores(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rank scores against ``reference``: (reference scores <= value) / (n + 1).

    The result lies in [0, n / (n + 1)], so ``1 - p`` is never 0 and the tail score
    stays finite.
    """
    ordered = np.sort(np.asarray(reference, dtype="float64"))
    if len(ordered) == 0:
        raise ValueError("The reference scores are empty. Fit on at least one row.")
    return np.searchsorted(ordered, values, side="right") / (len(ordered) + 1)


def tail_scores(percentiles: np.ndarray) -> np.ndarray:
    """Return ``-log(1 - p)``: 0 at the bottom, large for the rarest high scores."""
    return -np.log1p(-np.asarray(percentiles, dtype="float64"))


class OutlierScorer:
    """pyod detectors fitted on training features, scores ranked against the training scores."""

    def __init__(self, config: HybridConfig, columns: Sequence[str] = FEATURE_COLUMNS) -> None:
        self.config = config
        self.columns = list(columns)
        self.fitted_columns: list[str] = []
        self._detectors: dict[str, OutlierDetector] = {}
        self._references: dict[str, np.ndarray] = {}

    def fit(self, features: pd.DataFrame) -> OutlierScorer:
        """Fit every detector on ``features`` (labels are not used).

        Columns that are constant in the fitted rows are left out, because pyod's PCA
        divides by each component's variance and returns infinite scores for them.

        Returns:
            This scorer, fitted.

        Raises:
            ValueError: If every column is constant, or a detector returns scores that
                are not finite.
        """
        matrix = _feature_matrix(features, self.columns)
        if len(matrix) > self.config.max_fit_rows:
            rng = np.random.default_rng(self.config.seed)
            rows = rng.choice(len(matrix), self.config.max_fit_rows, replace=False)
            matrix = matrix[np.sort(rows)]

        varying = matrix.std(axis=0) > 0
        if not varying.any():
            raise ValueError(f"Every feature column of {self.columns} is constant. Cannot fit.")
        constant = [column for column, keep in zip(self.columns, varying, strict=True) if not keep]
        if constant:
            logger.info("Leaving out constant feature columns %s", constant)
        self.fitted_columns = [
            column for column, keep in zip(self.columns, varying, strict=True) if keep
        ]
        matrix = matrix[:, varying]

        for name in self.config.detectors:
            detector = DETECTORS[name](self.config.seed)
            reference = detector.fit(matrix).training_scores_
            if not np.isfinite(reference).all():
                raise ValueError(
                    f"Detector {name!r} returned non-finite scores on the training rows. "
                    "Check the feature columns for extreme values or use other detectors."
                )
            self._detectors[name] = detector
            self._references[name] = reference
            logger.info("Fitted detector %s on %d rows", name, len(matrix))
        return self

    def raw_scores(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Return each detector's pyod outlier score of every row (higher is stranger).

        Raises:
            RuntimeError: If ``fit`` has not run.
        """
        if not self._detectors:
            raise RuntimeError("OutlierScorer is not fitted. Call fit() on training features.")
        matrix = _feature_matrix(features, self.fitted_columns)
        return {name: detector.score(matrix) for name, detector in self._detectors.items()}

    def percentiles(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Map ``raw_scores`` output to percentiles of each detector's training scores."""
        return {name: percentile_scores(self._references[name], raw[name]) for name in raw}

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Return the detectors' combined score of every row, by ``config.blend_method``."""
        percentiles = list(self.percentiles(self.raw_scores(features)).values())
        no_supervised = np.zeros(len(features))
        return blend_scores(no_supervised, percentiles, 0.0, self.config.blend_method)


def blend_scores(
    supervised_percentile: np.ndarray,
    detector_percentiles: Sequence[np.ndarray],
    supervised_weight: float,
    method: str = "fisher",
) -> np.ndarray:
    """Blend the supervised percentile with the detectors' percentiles.

    Args:
        supervised_percentile: Percentile of the supervised score of each row.
        detector_percentiles: One array per detector, same rows.
        supervised_weight: Weight ``w`` of the supervised side. The detectors share
            ``1 - w`` equally.
        method: ``fisher`` (weighted tail scores) or ``mean`` (weighted percentiles).

    Returns:
        The blended score of each row; only its order is meaningful.
    """
    if method not in BLEND_METHODS:
        raise ValueError(f"Unknown blend method {method!r}. Use one of {BLEND_METHODS}.")
    transform = tail_scores if method == "fisher" else np.asarray
    supervised_part = transform(supervised_percentile)
    detector_part = np.mean([transform(values) for values in detector_percentiles], axis=0)
    return supervised_weight * supervised_part + (1 - supervised_weight) * detector_part


def recall_at_alert_rate(scores: np.ndarray, positives: np.ndarray, alert_rate: float) -> float:
    """Share of positives among the top ``ceil(alert_rate * n)`` scores.

    Ties at the cut are broken by row order, so the alert count is exact. Returns NaN
    when there are no positives.
    """
    positives = np.asarray(positives, dtype=bool)
    total = int(positives.sum())
    if total == 0:
        return float("nan")
    alerts = math.ceil(alert_rate * len(scores))
    top = np.argsort(-np.asarray(scores, dtype="float64"), kind="stable")[:alerts]
    return float(positives[top].sum() / total)


def mask_scenario(transactions: pd.DataFrame, scenario: int) -> pd.DataFrame:
    """Return a copy with the frauds of ``scenario`` recorded as genuine (``is_fraud`` 0).

    Raises:
        ValueError: If the scenario has no transactions.
    """
    hidden = (transactions["fraud_scenario"] == scenario).fillna(False).to_numpy(dtype=bool)
    if not hidden.any():
        present = sorted(int(value) for value in transactions["fraud_scenario"].dropna().unique())
        raise ValueError(f"Fraud scenario {scenario} has no transactions. Present: {present}.")
    masked = transactions.copy()
    masked.loc[hidden, "is_fraud"] = 0
    return masked


@dataclass
class HoldoutScores:
    """Test-window scores and true labels of one held-out-scenario run.

    Attributes:
        scenario: The fraud scenario hidden from training.
        raw: Raw test scores: ``supervised`` (model probability) and one per detector
            (pyod outlier score, higher is stranger).
        percentiles: The same scores ranked against the training window.
        is_fraud: True labels of the test rows.
        in_scenario: True where a test row is a fraud of the held-out scenario.
        train_rows: Training-window rows.
        train_frauds: Frauds the model saw in training (the held-out scenario excluded).
    """

    scenario: int
    raw: dict[str, np.ndarray]
    percentiles: dict[str, np.ndarray]
    is_fraud: np.ndarray
    in_scenario: np.ndarray
    train_rows: int
    train_frauds: int

    def blend(self, detectors: Sequence[str], supervised_weight: float, method: str) -> np.ndarray:
        """Blend the supervised percentile with the named detectors' percentiles."""
        return blend_scores(
            self.percentiles[SUPERVISED],
            [self.percentiles[name] for name in detectors],
            supervised_weight,
            method,
        )


def run_holdout_experiment(
    transactions: pd.DataFrame,
    scenario: int,
    split: TimeSplit,
    config: HybridConfig,
    params: XGBoostParams | None = None,
) -> HoldoutScores:
    """Train on data where ``scenario`` is unlabeled, then score the test window.

    Args:
        transactions: Canonical transactions with true ``is_fraud`` and
            ``fraud_scenario``.
        scenario: Scenario to hide from the labels and the label-based features.
        split: Training and test windows.
        config: Detectors and their fitting options.
        params: XGBoost hyperparameters of the supervised model.

    Returns:
        The scores and truths needed to compute recall at any alert rate and blend.

    Raises:
        ValueError: If the scenario is absent or a window has no data.
    """
    masked = mask_scenario(transactions, scenario)
    features = build_transaction_features(masked)
    truth = transactions.reset_index(drop=True)

    train_mask = in_window(features, split.train_start, split.train_end).to_numpy()
    test_mask = in_window(features, split.test_start, split.test_end).to_numpy()
    if not test_mask.any():
        raise ValueError(f"The test window {split.describe()['test']} has no transactions.")
    train = features[train_mask]
    test = features[test_mask]

    model = train_fraud_model(features, split, FEATURE_COLUMNS, params)
    outliers = OutlierScorer(config).fit(train)

    raw = {SUPERVISED: model.predict(test), **outliers.raw_scores(test)}
    percentiles = {SUPERVISED: percentile_scores(model.predict(train), raw[SUPERVISED])}
    percentiles.update(outliers.percentiles({name: raw[name] for name in config.detectors}))

    labels = truth.loc[test_mask, "is_fraud"].fillna(0).to_numpy(dtype=int)
    scenarios = truth.loc[test_mask, "fraud_scenario"]
    in_scenario = (scenarios == scenario).fillna(False).to_numpy(dtype=bool)
    return HoldoutScores(
        scenario=scenario,
        raw=raw,
        percentiles=percentiles,
        is_fraud=labels == 1,
        in_scenario=in_scenario,
        train_rows=model.train_rows,
        train_frauds=model.train_frauds,
    )


def summarize_holdout(
    scores: HoldoutScores,
    config: HybridConfig,
    weights: Sequence[float] = (0.25, 0.5, 0.75),
) -> dict[str, object]:
    """Compute recall of the held-out scenario and of all frauds at the alert rate.

    Args:
        scores: Output of ``run_holdout_experiment``.
        config: Detectors, headline blend and alert rate.
        weights: Supervised weights at which both blend methods are also reported.

    Returns:
        A JSON-ready dict of counts and ``metrics``, keyed by score variant:
        ``supervised``, each detector, ``unsupervised`` (the detectors blended alone),
        ``blended`` (the headline blend of ``config``) and ``<method>_w<weight>``.
        Each variant has the recall of the held-out scenario, the recall of all
        frauds, the precision of the alerts and the average precision over all frauds.
    """
    detectors = config.detectors
    variants = {name: scores.raw[name] for name in (SUPERVISED, *detectors)}
    variants[UNSUPERVISED] = scores.blend(detectors, 0.0, config.blend_method)
    variants[BLENDED] = scores.blend(detectors, config.supervised_weight, config.blend_method)
    for method in BLEND_METHODS:
        for weight in weights:
            variants[f"{method}_w{weight:.2f}"] = scores.blend(detectors, weight, method)

    alerts = math.ceil(config.alert_rate * len(scores.is_fraud))
    metrics: dict[str, dict[str, float]] = {}
    for name, values in variants.items():
        top = np.argsort(-values, kind="stable")[:alerts]
        metrics[name] = {
            "scenario_recall": recall_at_alert_rate(values, scores.in_scenario, config.alert_rate),
            "fraud_recall": recall_at_alert_rate(values, scores.is_fraud, config.alert_rate),
            "alert_precision": float(scores.is_fraud[top].mean()),
            "average_precision": float(average_precision_score(scores.is_fraud, values)),
        }
    return {
        "scenario": scores.scenario,
        "alert_rate": config.alert_rate,
        "alerts": alerts,
        "train_rows": scores.train_rows,
        "train_frauds_seen": scores.train_frauds,
        "test_rows": int(len(scores.is_fraud)),
        "test_frauds": int(scores.is_fraud.sum()),
        "test_scenario_frauds": int(scores.in_scenario.sum()),
        "metrics": metrics,
    }
