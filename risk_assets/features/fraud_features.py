"""Point-in-time feature table for card transactions.

Every feature of a transaction uses only what was known before it: earlier
transactions, and labels of transactions at least ``label_delay_days`` old (fraud is
confirmed by investigations and chargebacks days after it happens). The same function
serves batch training, batch scoring and the real-time API.

Change ``WINDOWS`` to change every window at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.features.windows import KeyedTimeIndex, first_occurrence

DAY = 86_400


@dataclass(frozen=True)
class FeatureWindows:
    """Window lengths, in days, of every windowed feature.

    Attributes:
        customer_days: Windows of the customer's spending count and mean amount.
        terminal_days: Windows of the terminal's transaction count and fraud rate.
        device_days: Windows of the device's fraud history.
        label_delay_days: Days after a transaction before its label is known.
        sequence_length: Number of previous transactions in the sequence summary.
        baseline_days: Window of the customer's baseline spending.
        baseline_lag_days: How far back the baseline window ends, so that spending of a
            recently compromised account does not inflate its own baseline.
    """

    customer_days: tuple[int, ...] = (1, 7, 30)
    terminal_days: tuple[int, ...] = (1, 7, 30)
    device_days: tuple[int, ...] = (30,)
    label_delay_days: int = 7
    sequence_length: int = 5
    baseline_days: int = 30
    baseline_lag_days: int = 14


WINDOWS = FeatureWindows()

ID_COLUMNS = [
    "transaction_id",
    "timestamp",
    "customer_id",
    "terminal_id",
    "device_id",
    "amount",
    "is_fraud",
    "fraud_scenario",
]


def feature_columns(windows: FeatureWindows = WINDOWS) -> list[str]:
    """Names of the model features, in a fixed order."""
    names = ["amount", "hour", "is_weekend", "is_night"]
    for days in windows.customer_days:
        names += [f"customer_tx_count_{days}d", f"customer_avg_amount_{days}d"]
    longest = max(windows.customer_days)
    shortest = min(windows.customer_days[1:] or windows.customer_days)
    names += [
        f"amount_ratio_{shortest}d",
        "amount_ratio_baseline",
        f"amount_ratio_{longest}d",
        f"amount_zscore_{longest}d",
        "seconds_since_previous_tx",
        f"customer_new_terminals_{longest}d",
        "is_new_terminal_for_customer",
        "is_new_device_for_customer",
        f"last_{windows.sequence_length}_avg_amount",
        f"last_{windows.sequence_length}_max_amount",
    ]
    for days in windows.terminal_days:
        names += [f"terminal_tx_count_{days}d", f"terminal_fraud_rate_{days}d"]
    names += ["device_customer_count"]
    for days in windows.device_days:
        names += [f"device_fraud_count_{days}d", f"device_fraud_rate_{days}d"]
    return names


FEATURE_COLUMNS = feature_columns()


def full_history_features(windows: FeatureWindows = WINDOWS) -> list[str]:
    """Names of the features that look back over all earlier history, not a window.

    They are first-seen flags and counts built on them, the gap to the previous
    transaction and the last transactions' summary. Their values depend on how much
    history the feature table was built from.
    """
    return [
        "seconds_since_previous_tx",
        f"customer_new_terminals_{max(windows.customer_days)}d",
        "is_new_terminal_for_customer",
        "is_new_device_for_customer",
        f"last_{windows.sequence_length}_avg_amount",
        f"last_{windows.sequence_length}_max_amount",
        "device_customer_count",
    ]


def feature_history_days(windows: FeatureWindows = WINDOWS) -> int:
    """Days of history the longest window reads, labels' delay and lag included."""
    delay = windows.label_delay_days
    return max(
        *windows.customer_days,
        windows.baseline_days + windows.baseline_lag_days,
        *(days + delay for days in windows.terminal_days),
        *(days + delay for days in windows.device_days),
    )


def feature_lookback_days(windows: FeatureWindows = WINDOWS) -> dict[str, int]:
    """Return the days of history each feature needs before its value is complete.

    For a transaction in the first days of the data, a feature's window is cut off at
    the data's start, so its values are lower (counts) or noisier (rates) than
    once the window is full. Windows over delayed labels need the label delay on top.
    Features over all history (``full_history_features``) never settle on a table
    built from all history. On one built from ``feature_history_days`` of history per
    day, as the daily monitoring feed is, they settle once that much history exists,
    so that is their lookback.

    Returns:
        Days per name of ``feature_columns(windows)``; 0 for features of the
        transaction alone.
    """
    longest = max(windows.customer_days)
    shortest = min(windows.customer_days[1:] or windows.customer_days)
    delay = windows.label_delay_days
    days = dict.fromkeys(["amount", "hour", "is_weekend", "is_night"], 0)
    for window in windows.customer_days:
        days[f"customer_tx_count_{window}d"] = window
        days[f"customer_avg_amount_{window}d"] = window
    days[f"amount_ratio_{shortest}d"] = shortest
    days["amount_ratio_baseline"] = windows.baseline_days + windows.baseline_lag_days
    days[f"amount_ratio_{longest}d"] = longest
    days[f"amount_zscore_{longest}d"] = longest
    for name in full_history_features(windows):
        days[name] = feature_history_days(windows)
    for window in windows.terminal_days:
        days[f"terminal_tx_count_{window}d"] = window + delay
        days[f"terminal_fraud_rate_{window}d"] = window + delay
    for window in windows.device_days:
        days[f"device_fraud_count_{window}d"] = window + delay
        days[f"device_fraud_rate_{window}d"] = window + delay
    return days


def mask_unfilled_windows(
    features: pd.DataFrame,
    data_start: pd.Timestamp,
    windows: FeatureWindows = WINDOWS,
    min_days: int = 0,
) -> pd.DataFrame:
    """Blank each feature on rows that come before its window is full.

    Args:
        features: Feature rows with a ``timestamp`` column.
        data_start: First instant of the data the features were computed from.
        windows: Window lengths the features were computed with.
        min_days: Minimum number of distinct days a feature's remaining values cover. A
            feature with values on fewer days is blanked on every row, because a day or
            two of values is no reference for a daily comparison.

    Returns:
        A copy in which each column of ``feature_lookback_days(windows)`` is NaN on the
        rows earlier than ``data_start`` plus its lookback. Other columns are kept.

    Raises:
        ValueError: ``data_start`` is missing.
    """
    start = pd.Timestamp(data_start)
    if pd.isna(start):
        raise ValueError("data_start is missing; pass the first instant of the feed.")
    zone = getattr(features["timestamp"].dt, "tz", None)
    if zone is not None and start.tz is None:
        start = start.tz_localize("UTC").tz_convert(zone)
    elif zone is None and start.tz is not None:
        start = start.tz_convert("UTC").tz_localize(None)
    masked = features.copy()
    days_of_row = masked["timestamp"].dt.normalize()
    for name, days in feature_lookback_days(windows).items():
        if name not in masked.columns or days <= 0:
            continue
        unfilled = masked["timestamp"] < start + pd.Timedelta(days=days)
        values = masked[name].astype(float).where(~unfilled)
        if days_of_row[values.notna()].nunique() < min_days:
            values = pd.Series(np.nan, index=values.index)
        masked[name] = values
    return masked


def build_transaction_features(
    transactions: pd.DataFrame, windows: FeatureWindows = WINDOWS
) -> pd.DataFrame:
    """Compute the point-in-time feature table.

    Args:
        transactions: Canonical transactions (any order). ``is_fraud`` may be missing
            for unlabeled rows; they count as genuine in fraud rates.
        windows: Window lengths.

    Returns:
        One row per transaction, in the input order: the id columns of ``ID_COLUMNS``
        followed by ``feature_columns(windows)``.
    """
    tx = transactions.reset_index(drop=True)
    seconds = tx["timestamp"].to_numpy("datetime64[s]").astype(np.int64)
    amount = tx["amount"].to_numpy(float)
    label = pd.to_numeric(tx.get("is_fraud"), errors="coerce")
    label = label.fillna(0).to_numpy(float) if label is not None else np.zeros(len(tx))
    device = tx["device_id"] if "device_id" in tx else pd.Series(pd.NA, index=tx.index)
    device = device.astype("string").fillna("unknown")

    out = {column: tx[column] if column in tx else pd.NA for column in ID_COLUMNS}
    out = pd.DataFrame(out)
    hour = tx["timestamp"].dt.hour
    out["hour"] = hour.astype(float)
    out["is_weekend"] = (tx["timestamp"].dt.dayofweek >= 5).astype(float)
    out["is_night"] = (hour < 6).astype(float)

    customer = KeyedTimeIndex.build(tx["customer_id"], seconds)
    for days in windows.customer_days:
        count, total = customer.window_sum(amount, days * DAY)
        out[f"customer_tx_count_{days}d"] = count
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"customer_avg_amount_{days}d"] = np.where(count > 0, total / count, 0.0)

    longest = max(windows.customer_days)
    count, total = customer.window_sum(amount, longest * DAY)
    _, squares = customer.window_sum(amount**2, longest * DAY)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        out[f"amount_ratio_{longest}d"] = np.where(count > 0, amount / np.maximum(mean, 1.0), 1.0)
        out[f"amount_zscore_{longest}d"] = np.where(
            count > 1, (amount - mean) / np.maximum(std, 1.0), 0.0
        )
    shortest = min(windows.customer_days[1:] or windows.customer_days)
    count, total = customer.window_sum(amount, shortest * DAY)
    out[f"amount_ratio_{shortest}d"] = np.where(
        count > 0, amount / np.maximum(total / np.maximum(count, 1), 1.0), 1.0
    )
    count, total = customer.window_sum(
        amount, windows.baseline_days * DAY, lag_seconds=windows.baseline_lag_days * DAY
    )
    baseline = total / np.maximum(count, 1)
    out["amount_ratio_baseline"] = np.where(
        count > 0, amount / np.maximum(baseline, 1.0), out[f"amount_ratio_{longest}d"]
    )
    gap = customer.previous_time_gap()
    out["seconds_since_previous_tx"] = np.where(np.isnan(gap), 90 * DAY, gap)

    pair_terminal = tx["customer_id"].astype(str) + "|" + tx["terminal_id"].astype(str)
    new_terminal = first_occurrence(pair_terminal, seconds)
    _, new_terminals = customer.window_sum(new_terminal, longest * DAY)
    out[f"customer_new_terminals_{longest}d"] = new_terminals
    out["is_new_terminal_for_customer"] = new_terminal
    pair_device = tx["customer_id"].astype(str) + "|" + device.astype(str)
    new_device_for_customer = first_occurrence(pair_device, seconds)
    out["is_new_device_for_customer"] = new_device_for_customer

    n = windows.sequence_length
    last_mean, last_max = customer.last_n_stats(amount, n)
    out[f"last_{n}_avg_amount"] = np.nan_to_num(last_mean, nan=0.0)
    out[f"last_{n}_max_amount"] = np.nan_to_num(last_max, nan=0.0)

    delay = windows.label_delay_days * DAY
    terminal = KeyedTimeIndex.build(tx["terminal_id"], seconds)
    for days in windows.terminal_days:
        count, frauds = terminal.window_sum(label, days * DAY, lag_seconds=delay)
        out[f"terminal_tx_count_{days}d"] = count
        out[f"terminal_fraud_rate_{days}d"] = np.where(count > 0, frauds / np.maximum(count, 1), 0)

    device_index = KeyedTimeIndex.build(device, seconds)
    _, customers_seen = device_index.window_sum(new_device_for_customer, None)
    out["device_customer_count"] = customers_seen
    for days in windows.device_days:
        count, frauds = device_index.window_sum(label, days * DAY, lag_seconds=delay)
        out[f"device_fraud_count_{days}d"] = frauds
        out[f"device_fraud_rate_{days}d"] = np.where(count > 0, frauds / np.maximum(count, 1), 0)
    unknown_device = (device == "unknown").to_numpy()
    for column in [
        "device_customer_count",
        *[f"device_fraud_count_{d}d" for d in windows.device_days],
        *[f"device_fraud_rate_{d}d" for d in windows.device_days],
    ]:
        out.loc[unknown_device, column] = 0.0
    features = [name for name in feature_columns(windows) if name not in ID_COLUMNS]
    return out[ID_COLUMNS + features]
