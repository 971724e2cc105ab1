"""Survival metrics with censoring: Kaplan-Meier, time-dependent AUC and Brier score.

Both time-dependent metrics weight observations by the inverse probability of
censoring (IPCW), with the censoring distribution G estimated by Kaplan-Meier on the
training customers:

- cumulative/dynamic AUC at t (Uno et al., 2007): cases churned at or before t and are
  weighted by 1 / G(T-), controls are still customers after t;
- Brier score at t (Graf et al., 1999): squared error of S(t | x) against the observed
  status, weighted by 1 / G(T-) for churn by t and 1 / G(t) for survival past t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Smallest censoring survival used as an IPCW denominator.
_MIN_WEIGHT_BASE = 1e-3


def kaplan_meier(durations, events) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct event times and the Kaplan-Meier survival just after each."""
    durations = np.asarray(durations, dtype="float64")
    events = np.asarray(events, dtype="int64")
    times = np.unique(durations[events == 1])
    at_risk = np.array([(durations >= time).sum() for time in times], dtype="float64")
    deaths = np.array([((durations == time) & (events == 1)).sum() for time in times])
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(at_risk > 0, 1.0 - deaths / at_risk, 1.0)
    return times, np.cumprod(factors)


def step_value(times: np.ndarray, values: np.ndarray, at, left_limit: bool = False) -> np.ndarray:
    """Evaluate a right-continuous step function that starts at 1 at the points ``at``.

    With ``left_limit`` the value just before each point is returned.
    """
    at = np.asarray(at, dtype="float64")
    if len(times) == 0:
        return np.ones_like(at)
    side = "left" if left_limit else "right"
    position = np.searchsorted(times, at, side=side) - 1
    return np.where(position >= 0, values[np.clip(position, 0, None)], 1.0)


class CensoringWeights:
    """Kaplan-Meier estimate of the censoring survival G, for IPCW metrics."""

    def __init__(self, durations, events):
        """Fit G on training durations, with censoring (event 0) as the 'event'."""
        self.times, self.values = kaplan_meier(durations, 1 - np.asarray(events, dtype="int64"))

    def at(self, at, left_limit: bool = False) -> np.ndarray:
        """Return G at ``at`` (or just before it), floored to stay a valid weight base."""
        return np.maximum(step_value(self.times, self.values, at, left_limit), _MIN_WEIGHT_BASE)


def cumulative_dynamic_auc(
    durations, events, churn_probability, time: float, weights: CensoringWeights
) -> float:
    """Return the IPCW cumulative/dynamic AUC at ``time``.

    Args:
        durations: Observed tenure of the test customers.
        events: 1 for churned, 0 for censored.
        churn_probability: Predicted P(T <= time | x) per customer.
        time: Horizon in months.
        weights: Censoring distribution from the training customers.

    Returns:
        The AUC, or NaN when the test set has no case or no control at ``time``.
    """
    durations = np.asarray(durations, dtype="float64")
    events = np.asarray(events, dtype="int64")
    marker = np.asarray(churn_probability, dtype="float64")
    cases = (durations <= time) & (events == 1)
    controls = durations > time
    if not cases.any() or not controls.any():
        return float("nan")
    case_weights = 1.0 / weights.at(durations[cases], left_limit=True)
    case_marker = marker[cases][:, None]
    control_marker = marker[controls][None, :]
    wins = (case_marker > control_marker).sum(axis=1) + 0.5 * (case_marker == control_marker).sum(
        axis=1
    )
    return float((case_weights * wins).sum() / (case_weights.sum() * controls.sum()))


def brier_score(
    durations, events, survival_probability, time: float, weights: CensoringWeights
) -> float:
    """Return the IPCW Brier score of the predicted S(time | x).

    Customers censored before ``time`` contribute zero, and the weights of the others
    make up for them.
    """
    durations = np.asarray(durations, dtype="float64")
    events = np.asarray(events, dtype="int64")
    survival = np.asarray(survival_probability, dtype="float64")
    churned_by_time = (durations <= time) & (events == 1)
    alive_after = durations > time
    loss = np.zeros_like(survival)
    loss[churned_by_time] = survival[churned_by_time] ** 2 / weights.at(
        durations[churned_by_time], left_limit=True
    )
    loss[alive_after] = (1.0 - survival[alive_after]) ** 2 / weights.at(np.array([time]))[0]
    return float(loss.mean())


def calibration_table(
    durations, events, churn_probability, time: float, bins: int = 10
) -> pd.DataFrame:
    """Compare predicted and observed churn by ``time`` within deciles of prediction.

    The observed share is 1 minus the Kaplan-Meier survival at ``time`` in each
    group, so customers censored before ``time`` are handled without bias.

    Returns:
        One row per group: ``decile`` (1 = lowest predicted risk), ``customers``,
        ``churned_by_horizon``, ``mean_predicted`` and ``observed``.
    """
    frame = pd.DataFrame(
        {
            "duration": np.asarray(durations, dtype="float64"),
            "event": np.asarray(events, dtype="int64"),
            "predicted": np.asarray(churn_probability, dtype="float64"),
        }
    )
    ranks = frame["predicted"].rank(method="first")
    frame["decile"] = pd.qcut(ranks, q=min(bins, len(frame)), labels=False) + 1
    rows = []
    for decile, group in frame.groupby("decile"):
        churned_by_time = (group["duration"] <= time) & (group["event"] == 1)
        km_times, km_values = kaplan_meier(group["duration"], group["event"])
        observed = 1.0 - float(step_value(km_times, km_values, [time])[0])
        rows.append(
            {
                "decile": int(decile),
                "customers": len(group),
                "churned_by_horizon": int(churned_by_time.sum()),
                "mean_predicted": float(group["predicted"].mean()),
                "observed": observed,
            }
        )
    return pd.DataFrame(rows)
