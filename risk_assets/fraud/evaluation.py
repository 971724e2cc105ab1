"""Fraud model evaluation under the delayed-label protocol.

The protocol follows the Fraud Detection Handbook (Le Borgne et al., ULB, 2022,
chapter "Baseline fraud detection system"):

- Customers whose fraud is already known are removed from the test days, because
  their cards are blocked in practice. Known at the start are the customers with a
  fraud in the training window. Before each test day ``d``, customers with a fraud
  on day ``d - (delay_days + 1)`` are added, because those labels are known by then.
- AUC ROC and average precision are computed over all remaining test transactions.
- Card Precision@k, per test day: drop the customers detected on earlier test days,
  score each remaining customer by the maximum score of its transactions that day,
  take the top k and count the share with a fraud that day; those become detected.
  The figure is the mean over the test days.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


@dataclass(frozen=True)
class TimeSplit:
    """Train window, label-delay gap and test window, as dates.

    Attributes:
        train_start: First training day.
        train_days: Length of the training window.
        delay_days: Gap between training and test in which labels are not yet known.
        test_days: Length of the test window.
    """

    train_start: pd.Timestamp
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    @property
    def train_end(self) -> pd.Timestamp:
        """First day after the training window."""
        return self.train_start + pd.Timedelta(days=self.train_days)

    @property
    def test_start(self) -> pd.Timestamp:
        """First test day."""
        return self.train_end + pd.Timedelta(days=self.delay_days)

    @property
    def test_end(self) -> pd.Timestamp:
        """First day after the test window."""
        return self.test_start + pd.Timedelta(days=self.test_days)

    @classmethod
    def ending_at(
        cls, last_day: pd.Timestamp, train_days: int = 7, delay_days: int = 7, test_days: int = 7
    ) -> TimeSplit:
        """Place the test window on the last ``test_days`` days up to ``last_day``."""
        last_day = pd.Timestamp(last_day).normalize()
        start = last_day - pd.Timedelta(days=test_days + delay_days + train_days - 1)
        return cls(start, train_days, delay_days, test_days)

    def describe(self) -> dict[str, str]:
        """Return the windows as ISO dates (end dates inclusive)."""
        one = pd.Timedelta(days=1)
        return {
            "train": f"{self.train_start.date()}..{(self.train_end - one).date()}",
            "delay_days": str(self.delay_days),
            "test": f"{self.test_start.date()}..{(self.test_end - one).date()}",
        }


def in_window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Rows with ``start <= timestamp < end``."""
    return (frame["timestamp"] >= start) & (frame["timestamp"] < end)


def filter_known_compromised(frame: pd.DataFrame, split: TimeSplit) -> pd.DataFrame:
    """Drop test-window rows of customers whose fraud was already known that day.

    Args:
        frame: Transactions covering at least the training and test windows, with
            ``timestamp``, ``customer_id`` and ``is_fraud``.
        split: The time split.

    Returns:
        The test-window rows that remain, in their original order.
    """
    day = frame["timestamp"].dt.normalize()
    train = frame[in_window(frame, split.train_start, split.train_end)]
    known = set(train.loc[train["is_fraud"] == 1, "customer_id"])
    keep = []
    lookback = pd.Timedelta(days=split.delay_days + 1)
    for offset in range(split.test_days):
        test_day = split.test_start + pd.Timedelta(days=offset)
        reported = frame[(day == test_day - lookback) & (frame["is_fraud"] == 1)]
        known |= set(reported["customer_id"])
        rows = frame[(day == test_day) & ~frame["customer_id"].isin(known)]
        keep.append(rows)
    return pd.concat(keep).sort_values("timestamp", kind="stable")


def card_precision_at_k(scored: pd.DataFrame, k: int = 100) -> tuple[float, pd.DataFrame]:
    """Card Precision@k per day, with customers detected on earlier days removed.

    Args:
        scored: Test rows with ``timestamp``, ``customer_id``, ``is_fraud``, ``score``.
        k: Cards investigated per day.

    Returns:
        The mean over days, and a frame with one row per day.
    """
    detected: set = set()
    rows = []
    for day, group in scored.groupby(scored["timestamp"].dt.normalize(), sort=True):
        group = group[~group["customer_id"].isin(detected)]
        cards = group.groupby("customer_id").agg(score=("score", "max"), fraud=("is_fraud", "max"))
        top = cards.sort_values("score", ascending=False, kind="stable").head(k)
        frauded = top[top["fraud"] == 1].index
        detected |= set(frauded)
        rows.append(
            {"day": day.date().isoformat(), "card_precision": len(frauded) / k, "cards": len(cards)}
        )
    per_day = pd.DataFrame(rows)
    return (float(per_day["card_precision"].mean()) if rows else float("nan")), per_day


def evaluate_scores(scored: pd.DataFrame, k: int = 100) -> dict:
    """AUC ROC, average precision and Card Precision@k of scored test rows.

    Raises:
        ValueError: The rows hold only one class, so AUC and AP are undefined.
    """
    labels = scored["is_fraud"].astype(int).to_numpy()
    if labels.min() == labels.max():
        raise ValueError(
            f"the evaluation window has {len(labels)} rows of a single class "
            f"(is_fraud={labels[0] if len(labels) else 'none'}); widen the test window"
        )
    cp_mean, per_day = card_precision_at_k(scored, k)
    return {
        "auc_roc": float(roc_auc_score(labels, scored["score"])),
        "average_precision": float(average_precision_score(labels, scored["score"])),
        f"card_precision_at_{k}": cp_mean,
        "test_transactions": int(len(scored)),
        "test_frauds": int(labels.sum()),
        "per_day": per_day,
    }


def precision_recall_png(labels: np.ndarray, scores: np.ndarray, title: str) -> str:
    """Draw the precision-recall curve; return it as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    precision, recall, _ = precision_recall_curve(labels, scores)
    figure, axis = plt.subplots(figsize=(5, 4), dpi=90)
    axis.plot(recall, precision)
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()
