"""Threshold policies that turn outlier scores into alert flags."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from risk_assets.anomaly.validation import as_finite_series

PolicyKind = Literal["contamination", "alert_rate"]


@dataclass
class ThresholdPolicy:
    """Quantile threshold on outlier scores.

    Attributes:
        rate: Fraction of rows expected above the threshold, in (0, 1).
        kind: ``"contamination"`` fixes the threshold once, as the ``1 - rate`` quantile
            of the training scores, so the alert rate on new data can drift.
            ``"alert_rate"`` recomputes the quantile on every scored batch, so each batch
            flags ``rate`` of its rows (ties at the threshold can add a few more).
    """

    rate: float = 0.01
    kind: PolicyKind = "contamination"
    threshold_: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rate, numbers.Real) or isinstance(self.rate, bool):
            raise ValueError(
                f"Threshold rate must be a number in (0, 1), got {self.rate!r} of type "
                f"{type(self.rate).__name__}; e.g. 0.01 flags 1 %."
            )
        if not 0.0 < self.rate < 1.0:
            raise ValueError(
                f"Threshold rate must be in (0, 1), got {self.rate}; e.g. 0.01 flags 1 %."
            )
        if self.kind not in ("contamination", "alert_rate"):
            raise ValueError(
                f"Unknown threshold policy kind {self.kind!r}; use 'contamination' or 'alert_rate'."
            )

    def fit(self, training_scores: np.ndarray) -> ThresholdPolicy:
        """Set the threshold from the training scores.

        Raises:
            ValueError: If the scores are empty, not 1-D or contain NaN or infinite values.
        """
        scores = np.asarray(training_scores, dtype=float)
        if scores.size == 0:
            raise ValueError("Cannot fit a threshold on an empty set of training scores.")
        scores = as_finite_series(scores, "training_scores")
        self.threshold_ = float(np.quantile(scores, 1.0 - self.rate))
        return self

    def threshold_for(self, scores: np.ndarray) -> float:
        """Return the threshold that applies to this batch of scores."""
        if self.kind == "alert_rate":
            values = as_finite_series(scores, "scores")
            return float(np.quantile(values, 1.0 - self.rate))
        if self.threshold_ is None:
            raise RuntimeError("ThresholdPolicy is not fitted; call fit(training_scores) first.")
        return self.threshold_

    def flag(self, scores: np.ndarray) -> np.ndarray:
        """Return a boolean alert flag per score (score strictly above the threshold).

        Raises:
            ValueError: If a score is NaN or infinite, which no threshold can order.
        """
        values = np.asarray(scores, dtype=float)
        if values.size == 0:
            return np.zeros(0, dtype=bool)
        values = as_finite_series(values, "scores")
        return values > self.threshold_for(values)
