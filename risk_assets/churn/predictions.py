"""Per-customer churn predictions: horizon probabilities, remaining lifetime and value.

Every prediction is conditional on the customer's current tenure t0, because an active
customer has already survived that long:

- churn probability within h months: 1 - S(t0 + h) / S(t0);
- expected remaining lifetime: the restricted mean survival time over the next R
  months, the integral of S(t0 + u) / S(t0) for u in [0, R];
- remaining lifetime value: the monthly margin times the probability of still being a
  customer at the end of each of the next R months, discounted monthly;
- value at risk: the margin lost to churn, the same sum for a customer who surely
  stays minus the remaining lifetime value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.churn.customer_360 import DURATION_COLUMN, ID_COLUMN
from risk_assets.churn.design import FeatureEncoder
from risk_assets.churn.survival_models import SurvivalModel

logger = logging.getLogger(__name__)

# Survival below this is treated as this value when dividing by S(t0).
_MIN_SURVIVAL = 1e-12
# Steps per month of the grid that integrates the survival curve.
_STEPS_PER_MONTH = 4


@dataclass(frozen=True)
class ValueSettings:
    """Horizons and money assumptions of the predictions.

    Attributes:
        horizons_months: Horizons of the churn probabilities, in months.
        restriction_months: Horizon R of the restricted mean survival time and of the
            lifetime value, in months.
        margin_rate: Share of the monthly charge kept as margin, in [0, 1].
        annual_discount_rate: Yearly rate that discounts future margin.
        default_monthly_charge: Monthly charge used for customers without one.
    """

    horizons_months: tuple[int, ...] = (1, 3, 6)
    restriction_months: int = 24
    margin_rate: float = 0.3
    annual_discount_rate: float = 0.1
    default_monthly_charge: float = 0.0

    def validate(self) -> None:
        """Raise ValueError when a setting is out of range."""
        if not self.horizons_months or any(h <= 0 for h in self.horizons_months):
            raise ValueError(
                f"horizons_months={self.horizons_months} must be positive months, such as (1, 3, 6)"
            )
        if self.restriction_months <= 0:
            raise ValueError(
                f"restriction_months={self.restriction_months} must be a positive number of months"
            )
        if not 0 <= self.margin_rate <= 1:
            raise ValueError(
                f"margin_rate={self.margin_rate} is outside [0, 1]; use a share such as 0.3"
            )
        if not 0 <= self.annual_discount_rate < 1:
            raise ValueError(
                f"annual_discount_rate={self.annual_discount_rate} is outside [0, 1); "
                "use 0.1 for 10 % a year"
            )
        if self.default_monthly_charge < 0:
            raise ValueError(
                f"default_monthly_charge={self.default_monthly_charge} is negative; use 0 or more"
            )


def probability_column(horizon: int) -> str:
    """Return the column name of the churn probability within ``horizon`` months."""
    return f"churn_probability_{horizon}m"


def conditional_survival(
    model: SurvivalModel, design: pd.DataFrame, tenure: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Return S(t0 + u) / S(t0) for each customer (rows) and offset u (columns)."""
    tenure = np.asarray(tenure, dtype="float64")[:, None]
    survival = model.survival(design, tenure + np.asarray(offsets, dtype="float64")[None, :])
    current = np.maximum(model.survival(design, tenure), _MIN_SURVIVAL)
    return np.clip(survival / current, 0.0, 1.0)


def predict_churn(
    model: SurvivalModel,
    encoder: FeatureEncoder,
    customers: pd.DataFrame,
    settings: ValueSettings | None = None,
) -> pd.DataFrame:
    """Predict horizon probabilities, remaining lifetime and value for each customer.

    Args:
        model: Fitted survival model.
        encoder: Encoder stored with the model.
        customers: Customer 360 rows to score (their ``tenure_months`` is t0).
        settings: Horizons and money assumptions; defaults when None.

    Returns:
        One row per customer: ``customer_id``, ``tenure_months``, ``monthly_charge``,
        ``risk_score``, one ``churn_probability_{h}m`` per horizon,
        ``expected_remaining_months``, ``remaining_lifetime_value``,
        ``value_if_retained`` (the same margin if the customer stays the whole
        horizon) and ``value_at_risk`` (the difference, the margin churn is expected
        to cost).

    Raises:
        ValueError: A setting is out of range or a tenure is negative or missing.
    """
    settings = settings or ValueSettings()
    settings.validate()
    tenure = pd.to_numeric(customers[DURATION_COLUMN], errors="coerce").to_numpy(dtype="float64")
    if np.isnan(tenure).any() or (tenure < 0).any():
        raise ValueError(
            f"{DURATION_COLUMN} must be a number >= 0 for every customer to score; "
            f"found {int(np.isnan(tenure).sum())} missing and {int((tenure < 0).sum())} negative"
        )
    design = encoder.transform(customers)
    result = pd.DataFrame(
        {
            ID_COLUMN: customers[ID_COLUMN].astype(str).to_numpy(),
            DURATION_COLUMN: tenure,
            "monthly_charge": _monthly_charge(customers, settings.default_monthly_charge),
            "risk_score": model.risk_score(design),
        }
    )
    horizons = np.asarray(sorted(settings.horizons_months), dtype="float64")
    survival = conditional_survival(model, design, tenure, horizons)
    for index, horizon in enumerate(sorted(settings.horizons_months)):
        result[probability_column(horizon)] = 1.0 - survival[:, index]

    restriction = float(settings.restriction_months)
    grid = np.linspace(0.0, restriction, int(restriction * _STEPS_PER_MONTH) + 1)
    curve = conditional_survival(model, design, tenure, grid)
    result["expected_remaining_months"] = np.trapezoid(curve, grid, axis=1)

    months = np.arange(1, int(settings.restriction_months) + 1, dtype="float64")
    at_month_end = curve[:, months.astype(int) * _STEPS_PER_MONTH]
    monthly_rate = (1.0 + settings.annual_discount_rate) ** (1.0 / 12.0) - 1.0
    discount = (1.0 + monthly_rate) ** -months
    margin = result["monthly_charge"].to_numpy() * settings.margin_rate
    result["remaining_lifetime_value"] = margin * (at_month_end @ discount)
    result["value_if_retained"] = margin * discount.sum()
    result["value_at_risk"] = result["value_if_retained"] - result["remaining_lifetime_value"]
    return result


def _monthly_charge(customers: pd.DataFrame, default: float) -> np.ndarray:
    if "monthly_charge" not in customers.columns:
        logger.warning(
            "customers have no monthly_charge column; lifetime value uses %s per month", default
        )
        return np.full(len(customers), default, dtype="float64")
    charge = pd.to_numeric(customers["monthly_charge"], errors="coerce").astype("float64")
    if charge.isna().any():
        logger.warning(
            "%d customers have no monthly_charge; lifetime value uses %s per month for them",
            int(charge.isna().sum()),
            default,
        )
    return charge.fillna(default).to_numpy()


def explain_risk(
    model: SurvivalModel, encoder: FeatureEncoder, customers: pd.DataFrame, top: int = 3
) -> pd.DataFrame:
    """Name the features that raise each customer's churn risk the most.

    A feature's contribution is the change in the model's risk score when the
    customer's value replaces the training average (for a categorical feature, the
    sum over its level columns). Only features that raise the risk are listed.

    Args:
        model: Fitted survival model.
        encoder: Encoder stored with the model.
        customers: Customer 360 rows.
        top: How many factors to name per customer.

    Returns:
        ``customer_id``, ``reason_1`` .. ``reason_{top}`` as ``feature=value``
        texts, and ``primary_factor``, the feature name behind ``reason_1``. A
        reason is an empty string when fewer features raise the risk.
    """
    design = encoder.transform(customers)
    terms = model.contributions(design, encoder.column_means)
    by_feature = terms.T.groupby(pd.Series(encoder.sources)).sum().T
    names = by_feature.columns.to_numpy()
    values = by_feature.to_numpy()
    order = np.argsort(-values, axis=1)[:, :top]

    rows = customers.reset_index(drop=True)
    reasons = [[""] * top for _ in range(len(rows))]
    primary = [""] * len(rows)
    for row_index in range(len(rows)):
        for rank, column_index in enumerate(order[row_index]):
            if values[row_index, column_index] <= 0:
                break
            feature = names[column_index]
            reasons[row_index][rank] = encoder.describe_value(feature, rows.loc[row_index])
            if rank == 0:
                primary[row_index] = feature
    result = pd.DataFrame(reasons, columns=[f"reason_{rank + 1}" for rank in range(top)])
    result.insert(0, ID_COLUMN, rows[ID_COLUMN].astype(str).to_numpy())
    result["primary_factor"] = primary
    return result
