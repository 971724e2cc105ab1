"""Survival models of time to churn: penalized Cox and parametric AFT, fitted with lifelines.

lifelines fits the models. Each fit is then turned into a ``SurvivalModel``, which
holds only the fitted parameters and computes survival curves from them, so a model is
stored and reloaded as plain JSON and never as a pickle.

Families:

- ``cox``: S(t | x) = exp(-H0(t) exp((x - m) b)), with the Breslow baseline cumulative
  hazard H0 and the training column means m. H0 is a step function that ends at the
  longest observed duration. Past that point it grows at the average hazard of the
  last sixth of the follow-up, because a flat H0 would predict zero churn for the
  longest-tenured customers.
- ``weibull_aft``: S(t | x) = exp(-(t / s)^k) with log s = a + x b and shape k.
- ``loglogistic_aft``: S(t | x) = 1 / (1 + (t / s)^k) with log s = a + x b.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, LogLogisticAFTFitter, WeibullAFTFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import proportional_hazard_test

logger = logging.getLogger(__name__)

COX = "cox"
WEIBULL_AFT = "weibull_aft"
LOGLOGISTIC_AFT = "loglogistic_aft"
FAMILIES = (COX, WEIBULL_AFT, LOGLOGISTIC_AFT)
PARAMETRIC_FAMILIES = (WEIBULL_AFT, LOGLOGISTIC_AFT)

_AFT_FITTERS = {
    WEIBULL_AFT: (WeibullAFTFitter, "lambda_", "rho_"),
    LOGLOGISTIC_AFT: (LogLogisticAFTFitter, "alpha_", "beta_"),
}
_DURATION = "_duration"
_EVENT = "_event"
# Durations are floored here for the AFT likelihood, which needs t > 0.
_MIN_DURATION = 1e-3


@dataclass
class SurvivalModel:
    """Fitted parameters of one survival model, enough to predict survival curves.

    Attributes:
        family: One of ``FAMILIES``.
        columns: Model columns, in the order of ``coefficients``.
        coefficients: Log-hazard ratios (``cox``) or log-scale coefficients (AFT).
        centers: Column means subtracted before the Cox linear predictor.
        intercept: Log-scale intercept (AFT only).
        shape: Shape parameter k (AFT only).
        baseline_times: Times of the Cox baseline cumulative hazard.
        baseline_cumulative_hazard: H0 at ``baseline_times`` (``cox`` only).
        tail_hazard: Constant hazard that extends H0 past the last baseline time.
        fit_info: Penalizer, sample sizes, convergence and log-likelihood.
    """

    family: str
    columns: list[str]
    coefficients: list[float]
    centers: list[float] = field(default_factory=list)
    intercept: float = 0.0
    shape: float = 1.0
    baseline_times: list[float] = field(default_factory=list)
    baseline_cumulative_hazard: list[float] = field(default_factory=list)
    tail_hazard: float = 0.0
    fit_info: dict[str, Any] = field(default_factory=dict)

    def _matrix(self, design: pd.DataFrame) -> np.ndarray:
        missing = [column for column in self.columns if column not in design.columns]
        if missing:
            raise ValueError(
                f"design matrix is missing model columns {missing}; encode the customers "
                "with the encoder stored beside this model"
            )
        return design[self.columns].to_numpy(dtype="float64")

    def risk_score(self, design: pd.DataFrame) -> np.ndarray:
        """Return a score that grows with the hazard: higher means earlier churn.

        For ``cox`` it is the log partial hazard, for AFT the negative log scale, so
        both order customers the same way their survival curves do.
        """
        matrix = self._matrix(design)
        beta = np.asarray(self.coefficients)
        if self.family == COX:
            return (matrix - np.asarray(self.centers)) @ beta
        return -(self.intercept + matrix @ beta)

    def contributions(self, design: pd.DataFrame, baseline: dict[str, float]) -> pd.DataFrame:
        """Split each customer's risk score into per-column terms against ``baseline``.

        A positive term means the column raises that customer's risk above a customer
        with the baseline values.
        """
        matrix = self._matrix(design)
        reference = np.asarray([baseline[column] for column in self.columns])
        sign = 1.0 if self.family == COX else -1.0
        terms = sign * (matrix - reference) * np.asarray(self.coefficients)
        return pd.DataFrame(terms, index=design.index, columns=self.columns)

    def _cumulative_baseline(self, times: np.ndarray) -> np.ndarray:
        grid = np.asarray(self.baseline_times)
        values = np.asarray(self.baseline_cumulative_hazard)
        position = np.searchsorted(grid, times, side="right") - 1
        hazard = np.where(position >= 0, values[np.clip(position, 0, None)], 0.0)
        beyond = np.clip(times - grid[-1], 0.0, None)
        return hazard + self.tail_hazard * beyond

    def survival(self, design: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """Return S(t | x) for each customer and time.

        Args:
            design: Encoded customers, one row each.
            times: Either one time grid shared by all customers (1-D), or one row of
                times per customer (2-D, shape ``(customers, k)``).

        Returns:
            Array of shape ``(customers, k)`` with values in [0, 1], non-increasing
            along each row when the times increase.
        """
        times = np.asarray(times, dtype="float64")
        if times.ndim == 1:
            times = np.broadcast_to(times, (len(design), times.size))
        if np.any(times < 0):
            raise ValueError("survival times must be >= 0 months")
        if self.family == COX:
            hazard_ratio = np.exp(self.risk_score(design))[:, None]
            return np.exp(-self._cumulative_baseline(times) * hazard_ratio)
        log_scale = -self.risk_score(design)[:, None]
        with np.errstate(divide="ignore"):
            log_ratio = self.shape * (np.log(times) - log_scale)
        if self.family == WEIBULL_AFT:
            return np.exp(-np.exp(log_ratio))
        return 1.0 / (1.0 + np.exp(log_ratio))

    def fit_info_params(self) -> dict[str, Any]:
        """Return the scalar fit facts (penalizer, rows, events, log-likelihood)."""
        return {
            key: value
            for key, value in self.fit_info.items()
            if isinstance(value, int | float | str | bool)
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-serializable dict."""
        return {
            "family": self.family,
            "columns": list(self.columns),
            "coefficients": [float(value) for value in self.coefficients],
            "centers": [float(value) for value in self.centers],
            "intercept": float(self.intercept),
            "shape": float(self.shape),
            "baseline_times": [float(value) for value in self.baseline_times],
            "baseline_cumulative_hazard": [float(v) for v in self.baseline_cumulative_hazard],
            "tail_hazard": float(self.tail_hazard),
            "fit_info": dict(self.fit_info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SurvivalModel:
        """Rebuild a model stored with ``to_dict``.

        Raises:
            ValueError: The family is unknown.
        """
        if data.get("family") not in FAMILIES:
            raise ValueError(
                f"unknown survival model family {data.get('family')!r}; expected one of {FAMILIES}"
            )
        return cls(**data)


def _training_frame(design: pd.DataFrame, durations, events) -> pd.DataFrame:
    frame = design.copy()
    frame[_DURATION] = np.asarray(durations, dtype="float64")
    frame[_EVENT] = np.asarray(events, dtype="int64")
    return frame


def _fit_quietly(fitter, frame: pd.DataFrame) -> tuple[Any, list[str]]:
    """Fit and collect lifelines' convergence warnings instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fitter.fit(frame, _DURATION, _EVENT)
        except ConvergenceError as error:
            raise ValueError(
                f"{type(fitter).__name__} did not converge ({error}); raise the penalizer "
                "or drop collinear features"
            ) from error
    notes = [str(item.message) for item in caught if issubclass(item.category, ConvergenceWarning)]
    for note in notes:
        logger.warning("%s: %s", type(fitter).__name__, note)
    return fitter, notes


def fit_cox(
    design: pd.DataFrame, durations, events, penalizer: float = 0.01, l1_ratio: float = 0.0
) -> tuple[SurvivalModel, CoxPHFitter]:
    """Fit a penalized Cox proportional hazards model.

    Args:
        design: Encoded training customers.
        durations: Tenure in months (>= 0).
        events: 1 for churned, 0 for censored.
        penalizer: Strength of the elastic-net penalty on the coefficients.
        l1_ratio: Share of the penalty that is L1 (0 is ridge).

    Returns:
        The stored-parameter model and the lifelines fitter (for assumption tests).

    Raises:
        ValueError: The fit did not converge.
    """
    frame = _training_frame(design, durations, events)
    fitter, notes = _fit_quietly(CoxPHFitter(penalizer=penalizer, l1_ratio=l1_ratio), frame)
    baseline = fitter.baseline_cumulative_hazard_.iloc[:, 0]
    times = baseline.index.to_numpy(dtype="float64")
    values = baseline.to_numpy(dtype="float64")
    window_start = times[-1] * 5.0 / 6.0
    start_value = values[max(np.searchsorted(times, window_start, side="right") - 1, 0)]
    tail = (values[-1] - start_value) / max(times[-1] - window_start, 1e-9)
    model = SurvivalModel(
        family=COX,
        columns=list(design.columns),
        coefficients=fitter.params_.reindex(design.columns).to_list(),
        centers=fitter._norm_mean.reindex(design.columns).to_list(),
        baseline_times=times.tolist(),
        baseline_cumulative_hazard=values.tolist(),
        tail_hazard=float(max(tail, 0.0)),
        fit_info=_fit_info(fitter, frame, penalizer, l1_ratio, notes),
    )
    return model, fitter


def fit_aft(
    family: str, design: pd.DataFrame, durations, events, penalizer: float = 0.01
) -> SurvivalModel:
    """Fit a parametric accelerated failure time model.

    Args:
        family: ``weibull_aft`` or ``loglogistic_aft``.
        design: Encoded training customers.
        durations: Tenure in months; zeros are floored to 0.001 because the
            parametric likelihood needs positive times.
        events: 1 for churned, 0 for censored.
        penalizer: Strength of the L2 penalty on the coefficients.

    Raises:
        ValueError: The family is unknown or the fit did not converge.
    """
    if family not in _AFT_FITTERS:
        raise ValueError(
            f"unknown parametric family {family!r}; expected one of {PARAMETRIC_FAMILIES}"
        )
    fitter_class, scale_name, shape_name = _AFT_FITTERS[family]
    floored = np.maximum(np.asarray(durations, dtype="float64"), _MIN_DURATION)
    frame = _training_frame(design, floored, events)
    fitter, notes = _fit_quietly(fitter_class(penalizer=penalizer), frame)
    scale = fitter.params_.loc[scale_name]
    return SurvivalModel(
        family=family,
        columns=list(design.columns),
        coefficients=scale.reindex(design.columns).to_list(),
        intercept=float(scale["Intercept"]),
        shape=float(np.exp(fitter.params_.loc[(shape_name, "Intercept")])),
        fit_info=_fit_info(fitter, frame, penalizer, 0.0, notes),
    )


def _fit_info(fitter, frame: pd.DataFrame, penalizer: float, l1_ratio: float, notes) -> dict:
    return {
        "penalizer": float(penalizer),
        "l1_ratio": float(l1_ratio),
        "rows": len(frame),
        "events": int(frame[_EVENT].sum()),
        "log_likelihood": float(fitter.log_likelihood_),
        "convergence_warnings": list(notes),
    }


def check_proportional_hazards(
    fitter: CoxPHFitter, design: pd.DataFrame, durations, events, alpha: float = 0.01
) -> dict[str, Any]:
    """Test the proportional-hazards assumption of a fitted Cox model.

    Uses lifelines' test on scaled Schoenfeld residuals against rank-transformed time.
    A column whose p-value is below ``alpha`` violates the assumption: its effect on
    the hazard changes with tenure, so the Cox curves for it are biased and the
    parametric model or a stratified Cox model is the safer reading.

    Args:
        fitter: The lifelines Cox fitter returned by ``fit_cox``.
        design: The design matrix it was fitted on.
        durations: The training durations.
        events: The training events.
        alpha: Significance level per column.

    Returns:
        ``holds`` (bool), ``alpha``, ``violations`` (columns below alpha, most
        significant first), ``min_p_value`` and ``p_values`` by column.
    """
    frame = _training_frame(design, durations, events)
    result = proportional_hazard_test(fitter, frame, time_transform="rank")
    p_values = result.summary["p"]
    p_values.index = [str(name[0] if isinstance(name, tuple) else name) for name in p_values.index]
    violations = p_values[p_values < alpha].sort_values()
    report = {
        "holds": bool(violations.empty),
        "alpha": float(alpha),
        "violations": violations.index.to_list(),
        "min_p_value": float(p_values.min()),
        "p_values": {name: float(value) for name, value in p_values.items()},
    }
    if violations.empty:
        logger.info("no column violates proportional hazards at alpha=%s", alpha)
    else:
        logger.warning(
            "proportional hazards violated at alpha=%s for %d columns: %s",
            alpha,
            len(violations),
            ", ".join(violations.index[:10]),
        )
    return report
