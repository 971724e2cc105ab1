"""Run configuration of the churn assets (Dagster ``Config`` classes)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from risk_assets.churn.predictions import ValueSettings
from risk_assets.churn.segments import SegmentSettings
from risk_assets.churn.survival_models import PARAMETRIC_FAMILIES
from risk_assets.churn.training import TrainingSettings


class ChurnModelConfig(dg.Config):
    """Training choices of ``churn_model``."""

    penalizer: float = Field(default=0.01, description="Penalty strength of every model.")
    l1_ratio: float = Field(default=0.0, description="L1 share of the Cox penalty, 0 to 1.")
    parametric_families: list[str] = Field(
        default=list(PARAMETRIC_FAMILIES),
        description=f"Parametric candidates besides Cox, from {list(PARAMETRIC_FAMILIES)}.",
    )
    test_fraction: float = Field(default=0.25, description="Share held out for evaluation.")
    validation_fraction: float = Field(
        default=0.2, description="Share of the rest used to select the model."
    )
    seed: int = Field(default=7, description="Seed of the train/validation/test split.")
    ph_alpha: float = Field(
        default=0.01, description="Significance level of the proportional-hazards test."
    )

    def to_settings(self) -> TrainingSettings:
        """Return the plain training settings."""
        return TrainingSettings(
            penalizer=self.penalizer,
            l1_ratio=self.l1_ratio,
            parametric_families=tuple(self.parametric_families),
            test_fraction=self.test_fraction,
            validation_fraction=self.validation_fraction,
            seed=self.seed,
            ph_alpha=self.ph_alpha,
        )


class ChurnScoringConfig(dg.Config):
    """Horizons, money assumptions and segment thresholds of the churn predictions."""

    horizons_months: list[int] = Field(
        default=[1, 3, 6], description="Horizons of the churn probabilities, months."
    )
    restriction_months: int = Field(
        default=24,
        description="Horizon of the expected remaining lifetime (restricted mean) and of "
        "the lifetime value, months.",
    )
    margin_rate: float = Field(
        default=0.3, description="Share of the monthly charge kept as margin, 0 to 1."
    )
    annual_discount_rate: float = Field(
        default=0.1, description="Yearly discount rate of future margin, such as 0.1."
    )
    default_monthly_charge: float = Field(
        default=0.0, description="Monthly charge assumed for customers without one."
    )
    risk_column: str = Field(
        default="churn_probability_6m", description="Probability column that sets risk."
    )
    high_risk_probability: float = Field(
        default=0.25, description="Probability at or above which a customer is high risk."
    )
    value_column: str = Field(
        default="value_if_retained", description="Column that sets a customer's value."
    )
    high_value_quantile: float = Field(
        default=0.5, description="Value quantile at or above which a customer is high value."
    )

    def value_settings(self) -> ValueSettings:
        """Return the plain value settings."""
        return ValueSettings(
            horizons_months=tuple(self.horizons_months),
            restriction_months=self.restriction_months,
            margin_rate=self.margin_rate,
            annual_discount_rate=self.annual_discount_rate,
            default_monthly_charge=self.default_monthly_charge,
        )

    def segment_settings(self) -> SegmentSettings:
        """Return the plain segment settings."""
        return SegmentSettings(
            risk_column=self.risk_column,
            high_risk_probability=self.high_risk_probability,
            value_column=self.value_column,
            high_value_quantile=self.high_value_quantile,
        )


class ChurnEvaluationConfig(ChurnScoringConfig):
    """Scoring settings plus the horizon of the calibration table."""

    calibration_horizon_months: float | None = Field(
        default=None,
        description="Horizon of the calibration table, months; the longest horizon if unset.",
    )
