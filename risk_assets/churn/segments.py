"""Retention segments and recommended actions.

Customers are placed on two axes: churn risk (the probability of churning within the
segment horizon against a fixed threshold) and value (by default the margin the
customer brings if retained, against a quantile of the scored customers). Value is
not the remaining lifetime value, because that already shrinks with the risk and
would leave almost no customer both high value and high risk. The four segments are
worked in priority order:

1. ``high_value_high_risk``: a retention call with an offer that targets the main
   reason for the risk;
2. ``low_value_high_risk``: an automated e-mail with the same kind of offer;
3. ``high_value_low_risk``: a loyalty reward, no retention offer;
4. ``low_value_low_risk``: no action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HIGH_VALUE_HIGH_RISK = "high_value_high_risk"
LOW_VALUE_HIGH_RISK = "low_value_high_risk"
HIGH_VALUE_LOW_RISK = "high_value_low_risk"
LOW_VALUE_LOW_RISK = "low_value_low_risk"
SEGMENT_PRIORITY = {
    HIGH_VALUE_HIGH_RISK: 1,
    LOW_VALUE_HIGH_RISK: 2,
    HIGH_VALUE_LOW_RISK: 3,
    LOW_VALUE_LOW_RISK: 4,
}

# Offers by the kind of feature that raises the risk most. The first key found in the
# feature name wins, so the more specific keys come first.
OFFERS_BY_FACTOR = (
    ("contract", "offer a discounted 12-month contract"),
    ("tech_support", "offer a free tech-support add-on for three months"),
    ("security", "offer a free security add-on for three months"),
    ("payment_failure", "help fix the failing payment and offer automatic payment"),
    ("payment", "offer a bill credit for switching to automatic payment"),
    ("complaint", "have a senior agent resolve the open complaint"),
    ("support", "have a senior agent follow up on the recent support contacts"),
    ("charge", "review the price plan and offer a cheaper fitting plan"),
    ("spend", "review the price plan and offer a cheaper fitting plan"),
    ("plan", "review the plan and offer a better-fitting one"),
    ("usage", "send a re-engagement offer with usage tips"),
    ("login", "send a re-engagement offer with usage tips"),
)
DEFAULT_OFFER = "offer a personal retention discount"


@dataclass(frozen=True)
class SegmentSettings:
    """Thresholds of the retention segments.

    Attributes:
        risk_column: Probability column that measures risk, such as
            ``churn_probability_6m``.
        high_risk_probability: Probability at or above which a customer is high risk.
        value_column: Column that measures value, such as ``value_if_retained``.
        high_value_quantile: Quantile of the value column at or above which a
            customer is high value, among the customers being segmented.
    """

    risk_column: str = "churn_probability_6m"
    high_risk_probability: float = 0.25
    value_column: str = "value_if_retained"
    high_value_quantile: float = 0.5

    def validate(self) -> None:
        """Raise ValueError when a threshold is out of range."""
        if not 0 < self.high_risk_probability < 1:
            raise ValueError(
                f"high_risk_probability={self.high_risk_probability} is outside (0, 1)"
            )
        if not 0 <= self.high_value_quantile <= 1:
            raise ValueError(
                f"high_value_quantile={self.high_value_quantile} is outside [0, 1]; "
                "use 0.5 for the median"
            )


def offer_for(factor: str) -> str:
    """Return the retention offer for the feature that raises a customer's risk most."""
    name = factor.lower()
    for key, offer in OFFERS_BY_FACTOR:
        if key in name:
            return offer
    return DEFAULT_OFFER


def recommend_action(segment: str, primary_factor: str) -> str:
    """Return the recommended action for a segment and the customer's main risk factor.

    Raises:
        ValueError: The segment is unknown.
    """
    if segment == HIGH_VALUE_HIGH_RISK:
        return f"call within a week: {offer_for(primary_factor)}"
    if segment == LOW_VALUE_HIGH_RISK:
        return f"e-mail: {offer_for(primary_factor)}"
    if segment == HIGH_VALUE_LOW_RISK:
        return "loyalty reward; no retention offer"
    if segment == LOW_VALUE_LOW_RISK:
        return "no action"
    raise ValueError(f"unknown segment {segment!r}; expected one of {list(SEGMENT_PRIORITY)}")


def assign_segments(
    predictions: pd.DataFrame, settings: SegmentSettings | None = None
) -> pd.DataFrame:
    """Add ``segment``, ``priority`` and ``recommended_action`` to the predictions.

    Args:
        predictions: Output of ``predict_churn``, optionally joined with the
            ``primary_factor`` of ``explain_risk``.
        settings: Segment thresholds; defaults when None.

    Returns:
        A copy of ``predictions`` with the three columns added.

    Raises:
        ValueError: The risk or value column is missing, or a threshold is out of
            range.
    """
    settings = settings or SegmentSettings()
    settings.validate()
    for column in (settings.risk_column, settings.value_column):
        if column not in predictions.columns:
            raise ValueError(
                f"predictions have no column {column!r}; available: "
                f"{sorted(map(str, predictions.columns))}. Set risk_column and value_column "
                "to columns of predict_churn's output"
            )
    result = predictions.copy()
    high_risk = result[settings.risk_column].to_numpy() >= settings.high_risk_probability
    value = result[settings.value_column].to_numpy()
    value_threshold = float(np.quantile(value, settings.high_value_quantile)) if len(value) else 0
    high_value = value >= value_threshold
    result["segment"] = np.select(
        [high_value & high_risk, high_risk, high_value],
        [HIGH_VALUE_HIGH_RISK, LOW_VALUE_HIGH_RISK, HIGH_VALUE_LOW_RISK],
        default=LOW_VALUE_LOW_RISK,
    )
    result["priority"] = result["segment"].map(SEGMENT_PRIORITY).astype("int64")
    if "primary_factor" in result:
        factors = result["primary_factor"]
    else:
        factors = pd.Series("", index=result.index)
    result["recommended_action"] = [
        recommend_action(segment, factor)
        for segment, factor in zip(result["segment"], factors.fillna(""), strict=True)
    ]
    return result
