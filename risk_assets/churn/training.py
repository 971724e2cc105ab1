"""Training of the churn survival models: split, fit candidates, select, refit.

Customers are split once into train, validation and test sets, stratified on the
event. Every candidate (penalized Cox and each parametric family) is fitted on the
training set and scored by concordance on the validation set. The best family is
refitted on train plus validation; the test set is left for evaluation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from lifelines.utils import concordance_index
from sklearn.model_selection import train_test_split

from risk_assets.churn.customer_360 import (
    DURATION_COLUMN,
    EVENT_COLUMN,
    ID_COLUMN,
    feature_columns,
    validate_survival_target,
)
from risk_assets.churn.design import FeatureEncoder
from risk_assets.churn.survival_models import (
    COX,
    PARAMETRIC_FAMILIES,
    SurvivalModel,
    check_proportional_hazards,
    fit_aft,
    fit_cox,
)

logger = logging.getLogger(__name__)

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"


@dataclass(frozen=True)
class TrainingSettings:
    """Choices that shape training.

    Attributes:
        penalizer: Penalty strength for every model.
        l1_ratio: L1 share of the Cox penalty (0 is ridge).
        parametric_families: Parametric candidates besides Cox.
        test_fraction: Share of customers held out for evaluation.
        validation_fraction: Share of the remaining customers used for selection.
        seed: Random seed of the split.
        ph_alpha: Significance level of the proportional-hazards test.
    """

    penalizer: float = 0.01
    l1_ratio: float = 0.0
    parametric_families: tuple[str, ...] = PARAMETRIC_FAMILIES
    test_fraction: float = 0.25
    validation_fraction: float = 0.2
    seed: int = 7
    ph_alpha: float = 0.01

    def validate(self) -> None:
        """Raise ValueError when a setting is out of range."""
        if self.penalizer < 0:
            raise ValueError(f"penalizer={self.penalizer} is negative; use 0 or more")
        if not 0 <= self.l1_ratio <= 1:
            raise ValueError(f"l1_ratio={self.l1_ratio} is outside [0, 1]; use 0 for ridge")
        for name in ("test_fraction", "validation_fraction"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name}={value} is outside (0, 1); use a share such as 0.2")
        unknown = [name for name in self.parametric_families if name not in PARAMETRIC_FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown parametric families {unknown}; choose from {PARAMETRIC_FAMILIES}"
            )


@dataclass
class TrainingResult:
    """Selected model with everything needed to score and evaluate it.

    Attributes:
        model: The selected family, refitted on train plus validation.
        encoder: Feature encoding fitted on train plus validation.
        validation_concordance: Validation concordance of every candidate.
        proportional_hazards: Result of ``check_proportional_hazards`` on the final
            Cox fit on train plus validation.
        splits: Customer id to ``train``, ``validation`` or ``test``.
        candidates: Every refitted candidate by family, for comparison in evaluation.
        settings: The settings used.
    """

    model: SurvivalModel
    encoder: FeatureEncoder
    validation_concordance: dict[str, float]
    proportional_hazards: dict[str, Any]
    splits: dict[str, str]
    candidates: dict[str, SurvivalModel] = field(default_factory=dict)
    settings: TrainingSettings = field(default_factory=TrainingSettings)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-serializable dict (the stored model)."""
        return {
            "family": self.model.family,
            "model": self.model.to_dict(),
            "encoder": self.encoder.to_dict(),
            "candidates": {name: model.to_dict() for name, model in self.candidates.items()},
            "validation_concordance": dict(self.validation_concordance),
            "proportional_hazards": self.proportional_hazards,
            "splits": dict(self.splits),
            "settings": {
                **self.settings.__dict__,
                "parametric_families": list(self.settings.parametric_families),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingResult:
        """Rebuild a result stored with ``to_dict``."""
        settings = dict(data["settings"])
        settings["parametric_families"] = tuple(settings["parametric_families"])
        return cls(
            model=SurvivalModel.from_dict(data["model"]),
            encoder=FeatureEncoder.from_dict(data["encoder"]),
            validation_concordance=dict(data["validation_concordance"]),
            proportional_hazards=dict(data["proportional_hazards"]),
            splits=dict(data["splits"]),
            candidates={
                name: SurvivalModel.from_dict(model) for name, model in data["candidates"].items()
            },
            settings=TrainingSettings(**settings),
        )


def split_customers(
    customer_360: pd.DataFrame, test_fraction: float, validation_fraction: float, seed: int
) -> pd.Series:
    """Assign each customer to train, validation or test, stratified on churn.

    Returns:
        Series indexed like ``customer_360`` with the split name of each row.
    """
    events = customer_360[EVENT_COLUMN]
    rest, test = train_test_split(
        customer_360.index, test_size=test_fraction, random_state=seed, stratify=events
    )
    train, validation = train_test_split(
        rest, test_size=validation_fraction, random_state=seed, stratify=events.loc[rest]
    )
    splits = pd.Series(TRAIN, index=customer_360.index)
    splits.loc[validation] = VALIDATION
    splits.loc[test] = TEST
    return splits


def concordance(model: SurvivalModel, design: pd.DataFrame, frame: pd.DataFrame) -> float:
    """Return Harrell's concordance index of ``model`` on the customers in ``frame``."""
    return float(
        concordance_index(frame[DURATION_COLUMN], -model.risk_score(design), frame[EVENT_COLUMN])
    )


def _fit_family(family: str, design, frame, settings: TrainingSettings):
    durations, events = frame[DURATION_COLUMN], frame[EVENT_COLUMN]
    if family == COX:
        return fit_cox(design, durations, events, settings.penalizer, settings.l1_ratio)
    return fit_aft(family, design, durations, events, settings.penalizer), None


def train_churn_models(
    customer_360: pd.DataFrame, settings: TrainingSettings | None = None
) -> TrainingResult:
    """Fit the candidate survival models and keep the best by validation concordance.

    Args:
        customer_360: Table from ``build_customer_360``.
        settings: Training settings; defaults when None.

    Returns:
        The selected model refitted on train plus validation, with the split and the
        proportional-hazards report.

    Raises:
        ValueError: The table is invalid, has too few churn events to split, or a
            setting is out of range.
    """
    settings = settings or TrainingSettings()
    settings.validate()
    validate_survival_target(customer_360)
    frame = customer_360.reset_index(drop=True)
    events = int(frame[EVENT_COLUMN].sum())
    if events < 20 or len(frame) - events < 20:
        raise ValueError(
            f"the table has {events} churned and {len(frame) - events} active customers; "
            "training needs at least 20 of each"
        )
    splits = split_customers(
        frame, settings.test_fraction, settings.validation_fraction, settings.seed
    )
    train, validation = frame[splits == TRAIN], frame[splits == VALIDATION]
    features = feature_columns(frame)

    encoder = FeatureEncoder.fit(train, features)
    train_design, validation_design = encoder.transform(train), encoder.transform(validation)
    scores: dict[str, float] = {}
    for family in (COX, *settings.parametric_families):
        candidate, _ = _fit_family(family, train_design, train, settings)
        scores[family] = concordance(candidate, validation_design, validation)
        logger.info("validation concordance of %s: %.4f", family, scores[family])
    selected = max(scores, key=scores.get)

    # Refit every candidate on train plus validation, so evaluation can compare them.
    development = frame[splits != TEST]
    encoder = FeatureEncoder.fit(development, features)
    design = encoder.transform(development)
    candidates: dict[str, SurvivalModel] = {}
    ph_report: dict[str, Any] = {}
    for family in scores:
        model, cox_fitter = _fit_family(family, design, development, settings)
        candidates[family] = model
        if cox_fitter is not None:
            ph_report = check_proportional_hazards(
                cox_fitter,
                design,
                development[DURATION_COLUMN],
                development[EVENT_COLUMN],
                settings.ph_alpha,
            )
    logger.info("selected %s (validation concordance %.4f)", selected, scores[selected])
    return TrainingResult(
        model=candidates[selected],
        encoder=encoder,
        validation_concordance=scores,
        proportional_hazards=ph_report,
        splits=dict(zip(frame[ID_COLUMN], splits, strict=True)),
        candidates=candidates,
        settings=settings,
    )
