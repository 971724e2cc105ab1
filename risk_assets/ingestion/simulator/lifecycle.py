"""Subscription lifecycle of each customer: plan, tenure, churn and activity events.

Churn is drawn from a Weibull hazard whose scale shrinks with month-to-month
contracts, low engagement, complaints and payment failures, and whose shape (< 1)
makes the hazard fall with tenure. Activity events cover each customer's last 90 days
as a subscriber (up to the observation date for those still subscribed, up to the
churn date for those who left), and fade out in the weeks before a customer leaves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_assets.ingestion.simulator.config import SimulationConfig

DAYS_PER_MONTH = 30.44
ACTIVITY_DAYS = 90
CONTRACTS = ("month_to_month", "one_year", "two_year")
PLANS = {"basic": 19.0, "standard": 49.0, "premium": 89.0}
REGIONS = ("north", "south", "east", "west")


def simulate_subscriptions(
    config: SimulationConfig,
    payment_profiles: pd.DataFrame,
    terminals: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw each customer's subscription and churn, then their activity events.

    Args:
        config: Simulation settings.
        payment_profiles: Output of ``simulate_customers``.
        terminals: Output of ``simulate_terminals``.
        rng: Random generator.

    Returns:
        The canonical customers table and the customer_activity table.
    """
    n = len(payment_profiles)
    observed_at = pd.Timestamp(config.start_date) + pd.Timedelta(days=config.n_days)
    contract = rng.choice(CONTRACTS, n, p=[0.55, 0.25, 0.20])
    plan = rng.choice(list(PLANS), n, p=[0.4, 0.4, 0.2])
    monthly_charge = np.round(np.array([PLANS[p] for p in plan]) * rng.uniform(0.9, 1.2, n), 2)
    engagement = rng.gamma(2.0, 1.0, n)  # latent activity level
    dissatisfaction = rng.gamma(1.0, 1.0, n)  # latent, drives complaints
    payment_risk = rng.beta(1.0, 12.0, n)  # chance a monthly payment fails

    contract_effect = np.select(
        [contract == "month_to_month", contract == "one_year"], [1.4, 0.3], default=-0.6
    )
    log_risk = (
        contract_effect
        - 0.45 * np.log1p(engagement)
        + 0.55 * dissatisfaction
        + 6.0 * payment_risk
        + 0.15 * (plan == "premium")
    )
    shape = 0.8
    scale_months = 800.0 * np.exp(-log_risk / shape)
    churn_after = scale_months * rng.weibull(shape, n)

    signup_months_ago = rng.uniform(0, 72, n)
    signup = observed_at - pd.to_timedelta(signup_months_ago * DAYS_PER_MONTH, unit="D")
    churned = churn_after < signup_months_ago
    tenure = np.where(churned, churn_after, signup_months_ago)

    nearest_terminal = []
    txy = terminals[["x", "y"]].to_numpy()
    for point in payment_profiles[["x", "y"]].to_numpy():
        nearest_terminal.append(
            terminals["terminal_id"].iloc[int(np.argmin(((txy - point) ** 2).sum(1)))]
        )

    customers = pd.DataFrame(
        {
            "customer_id": payment_profiles["customer_id"].to_numpy(),
            "signup_date": signup.floor("D"),
            "plan": plan,
            "contract": contract,
            "monthly_charge": monthly_charge,
            "home_terminal_id": nearest_terminal,
            "device_id": payment_profiles["device_id"].to_numpy(),
            "region": rng.choice(REGIONS, n),
            "tenure_months": np.round(tenure, 2),
            "churned": churned.astype(np.int64),
        }
    )
    end = signup + pd.to_timedelta(tenure * DAYS_PER_MONTH, unit="D")
    activity = _activity_events(
        customers, end, observed_at, engagement, dissatisfaction, payment_risk, rng
    )
    return customers, activity


def _activity_events(
    customers: pd.DataFrame,
    end: pd.DatetimeIndex,
    observed_at: pd.Timestamp,
    engagement: np.ndarray,
    dissatisfaction: np.ndarray,
    payment_risk: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frames = []
    for i, customer_id in enumerate(customers["customer_id"]):
        last = min(end[i], observed_at)
        first = max(last - pd.Timedelta(days=ACTIVITY_DAYS), customers["signup_date"].iloc[i])
        span_days = (last - first).total_seconds() / 86_400
        if span_days <= 0:
            continue
        leaving = bool(customers["churned"].iloc[i])
        rates = {
            "login": 0.8 * engagement[i],
            "usage": 1.5 * engagement[i],
            "support_contact": 0.03 + 0.04 * dissatisfaction[i],
            "complaint": 0.02 * dissatisfaction[i],
            "payment_failure": payment_risk[i] / DAYS_PER_MONTH,
            "plan_change": 0.004,
        }
        for event_type, rate in rates.items():
            count = rng.poisson(rate * span_days)
            if count == 0:
                continue
            offsets = rng.uniform(0, span_days, count)
            if leaving and event_type in ("login", "usage"):
                # Engagement fades over the last 30 days before leaving.
                days_before_end = span_days - offsets
                keep = rng.random(count) < np.clip(days_before_end / 30, 0.15, 1.0)
                offsets = offsets[keep]
            if leaving and event_type in ("complaint", "support_contact"):
                # Complaints cluster shortly before leaving.
                offsets = np.concatenate([offsets, span_days - rng.uniform(0, 20, count)])
                offsets = offsets[offsets >= 0]
            if offsets.size == 0:
                continue
            values = (
                np.round(rng.gamma(2.0, 30.0 * engagement[i] + 1, offsets.size), 1)
                if event_type == "usage"
                else np.ones(offsets.size)
            )
            frames.append(
                pd.DataFrame(
                    {
                        "customer_id": customer_id,
                        "timestamp": first + pd.to_timedelta(offsets, unit="D"),
                        "event_type": event_type,
                        "value": values,
                    }
                )
            )
    activity = pd.concat(frames, ignore_index=True)
    activity["timestamp"] = activity["timestamp"].dt.floor("s")
    return activity.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
