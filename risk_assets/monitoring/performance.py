"""Model performance on the days whose fraud labels have arrived.

Fraud labels arrive ``label_delay_days`` after a transaction (investigations and
chargebacks take time). On day ``d`` the newly labeled window is the
``performance_days`` days ending on ``d - label_delay_days``; rows scored before
monitoring started are simply absent from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from risk_assets.registry.champion_challenger import average_precision


@dataclass(frozen=True)
class LabeledWindow:
    """Calendar window of newly labeled days for one monitored day.

    Attributes:
        first_day: First labeled day in the window.
        last_day: Last labeled day, ``label_delay_days`` before the monitored day.
    """

    first_day: pd.Timestamp
    last_day: pd.Timestamp

    @classmethod
    def for_day(cls, day: pd.Timestamp, label_delay_days: int, window_days: int) -> LabeledWindow:
        """Return the labeled window seen on ``day``."""
        last = pd.Timestamp(day).normalize() - pd.Timedelta(days=label_delay_days)
        return cls(last - pd.Timedelta(days=window_days - 1), last)

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the rows of ``frame`` whose ``timestamp`` falls in the window."""
        day = frame["timestamp"].dt.normalize()
        return frame[(day >= self.first_day) & (day <= self.last_day)]

    def describe(self) -> str:
        """Return the window as ``first..last`` ISO dates."""
        return f"{self.first_day.date()}..{self.last_day.date()}"


def labeled_performance(
    scored: pd.DataFrame, window: LabeledWindow, baseline_ap: float, min_frauds: int = 1
) -> dict:
    """Compute AUC and AP of the scored rows in ``window`` and the AP drop.

    Args:
        scored: Scored rows with ``timestamp``, ``is_fraud`` and ``score``.
        window: Newly labeled window.
        baseline_ap: AP of the scoring model on its own held-out rows.
        min_frauds: Fewest labeled frauds for which AP is computed. AP over a handful
            of frauds swings by tenths from day to day, which would raise false alarms.

    Returns:
        With ``status`` "computed": ``auc_roc``, ``average_precision`` and ``ap_drop``,
        which is the baseline minus the current AP, so positive means worse. With
        ``status`` "skipped" (no scored rows in the window, a single class, or fewer
        than ``min_frauds`` frauds): the ``reason``.
    """
    rows = window.select(scored)
    rows = rows[rows["is_fraud"].notna()]
    result: dict = {"window": window.describe(), "rows": int(len(rows)), "baseline_ap": baseline_ap}
    if rows.empty:
        result.update(
            status="skipped",
            reason=(
                f"labels have not arrived: no scored transactions in the labeled window "
                f"{window.describe()}"
            ),
        )
        return result
    labels = rows["is_fraud"].astype(int).to_numpy()
    scores = rows["score"].to_numpy(float)
    result["frauds"] = int(labels.sum())
    if labels.min() == labels.max():
        result.update(
            status="skipped",
            reason=f"the labeled window {window.describe()} contains a single class",
        )
        return result
    if result["frauds"] < min_frauds:
        result.update(
            status="skipped",
            reason=(
                f"the labeled window {window.describe()} contains {result['frauds']} frauds, "
                f"fewer than the {min_frauds} needed for a stable AP"
            ),
        )
        return result
    ap = average_precision(labels.astype(float), scores)
    result.update(
        status="computed",
        auc_roc=float(roc_auc_score(labels, scores)),
        average_precision=ap,
        ap_drop=float(baseline_ap - ap) if np.isfinite(baseline_ap) else float("nan"),
    )
    return result


def fraud_rate_change(reference: pd.DataFrame, labeled: pd.DataFrame) -> dict:
    """Compare the fraud rate of newly labeled rows with the reference rows."""
    reference_rate = float(reference["is_fraud"].astype(float).mean())
    current_rate = float(labeled["is_fraud"].astype(float).mean())
    return {
        "reference_fraud_rate": reference_rate,
        "current_fraud_rate": current_rate,
        "fraud_rate_ratio": current_rate / reference_rate if reference_rate > 0 else float("inf"),
    }
