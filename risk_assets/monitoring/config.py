"""Settings of the monitoring loop: the transaction feed, its windows and thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from risk_assets.features.fraud_features import WINDOWS, feature_history_days
from risk_assets.fraud.training import XGBoostParams
from risk_assets.registry.champion_challenger import PromotionPolicy

FRAUD_MODEL_NAME = "fraud_xgboost"

# Days of history each daily feature partition is built from: the longest window's
# reach, the baseline's lag and the labels' delay included.
FEATURE_HISTORY_DAYS = feature_history_days(WINDOWS)
# Minimum number of distinct days of values a drift reference keeps for a feature.
REFERENCE_MIN_DAYS = 7


@dataclass(frozen=True)
class DriftThresholds:
    """Levels at which the drift report's checks warn or fail, and the sensor retrains.

    Attributes:
        drifted_share_warn: Share of drifted features at which the data drift check
            warns.
        drifted_share_fail: Share of drifted features at which the check fails and the
            sensor requests retraining.
        ap_drop_warn: Drop in average precision, against the champion's held-out AP,
            at which the performance check warns.
        ap_drop_fail: AP drop at which the check fails and the sensor requests
            retraining.
    """

    drifted_share_warn: float = 0.3
    drifted_share_fail: float = 0.5
    ap_drop_warn: float = 0.05
    ap_drop_fail: float = 0.10

    def __post_init__(self) -> None:
        for name in ("drifted_share", "ap_drop"):
            warn = getattr(self, f"{name}_warn")
            fail = getattr(self, f"{name}_fail")
            if not 0 <= warn <= fail <= 1:
                raise ValueError(
                    f"{name}_warn={warn} and {name}_fail={fail} must satisfy "
                    f"0 <= warn <= fail <= 1; lower the warning level or raise the failure level"
                )


@dataclass(frozen=True)
class MonitoringSetup:
    """Everything the monitoring definitions are built from.

    Attributes:
        start_date: First day of the transaction feed (ISO date); the daily
            partitions start here.
        n_days: Days of the feed, one partition each. The transactions themselves
            come from the ``raw_data`` resource, so its calendar should match.
        scoring_start_day: Index of the first day that is scored and monitored. The
            first champion must be trained before it, as of this day at the latest.
        train_days: Days of labeled data a retrained model learns from.
        evaluation_days: Most recent labeled days, held out from training, on which
            champion and challenger are compared.
        performance_days: Newly labeled days over which the drift report computes
            AUC and AP.
        min_labeled_frauds: Fewest frauds in the labeled window for which the report
            computes AUC and AP. With fewer it skips them and records the reason.
        reference_rows: Maximum training rows kept as the drift reference.
        model_name: Registered MLflow model that the loop scores with and retrains.
        model_params: Hyperparameters of retrained models.
        thresholds: Check and retraining thresholds.
        policy: Promotion rules.
    """

    start_date: str = "2025-01-01"
    n_days: int = 75
    scoring_start_day: int = 30
    train_days: int = 14
    evaluation_days: int = 3
    performance_days: int = 7
    min_labeled_frauds: int = 20
    reference_rows: int = 5000
    model_name: str = FRAUD_MODEL_NAME
    model_params: XGBoostParams = field(
        default_factory=lambda: XGBoostParams(
            max_depth=4, max_rounds=60, tree_method="hist", validation_days=3
        )
    )
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    policy: PromotionPolicy = field(default_factory=PromotionPolicy)

    def __post_init__(self) -> None:
        if not 0 < self.scoring_start_day < self.n_days:
            raise ValueError(
                f"scoring_start_day={self.scoring_start_day} must fall inside the "
                f"{self.n_days} days of the feed"
            )
        for name in ("train_days", "evaluation_days", "performance_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1 day")

    @property
    def label_delay_days(self) -> int:
        """Days after a transaction before its label is known."""
        return WINDOWS.label_delay_days

    @property
    def first_day(self) -> pd.Timestamp:
        """First day of the feed."""
        return pd.Timestamp(self.start_date).normalize()

    def day(self, index: int) -> pd.Timestamp:
        """Return the date of feed day ``index``."""
        return self.first_day + pd.Timedelta(days=index)

    @property
    def scoring_start(self) -> pd.Timestamp:
        """First scored day."""
        return self.day(self.scoring_start_day)

    @property
    def end(self) -> pd.Timestamp:
        """First day after the feed."""
        return self.day(self.n_days)
