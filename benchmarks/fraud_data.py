"""Data sets and splits shared by the fraud benchmarks (not a benchmark itself)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from risk_assets.fraud.evaluation import TimeSplit
from risk_assets.ingestion.loaders import load_table
from risk_assets.ingestion.simulator import SimulationConfig, simulate

# The Fraud Detection Handbook's baseline split: train 2018-07-25..07-31, a 7-day
# label delay, test 2018-08-08..08-14.
HANDBOOK_SPLIT = TimeSplit(pd.Timestamp("2018-07-25"), train_days=7, delay_days=7, test_days=7)


def load_handbook(path: Path) -> pd.DataFrame:
    """Load the handbook transactions through the project's loader and mapping.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    if not path.exists():
        raise FileNotFoundError(f"Handbook data not found at {path}. Check --data.")
    result = load_table(path, "transactions", mapping="handbook_transactions")
    if len(result.quarantine):
        print(f"  {len(result.quarantine)} handbook rows quarantined by the loader")
    return result.accepted


def simulator_transactions(seed: int = 7) -> tuple[pd.DataFrame, TimeSplit]:
    """Return the simulated transactions of the default world with ``seed``, and a split.

    The split trains on 21 days, leaves a 7-day label delay and tests on the last 14
    days, so that each fraud scenario has examples in both windows.
    """
    transactions = simulate(SimulationConfig(seed=seed)).transactions
    split = TimeSplit.ending_at(
        transactions["timestamp"].max(), train_days=21, delay_days=7, test_days=14
    )
    return transactions, split


def without_nan(value: object) -> object:
    """Replace NaN with None, recursively, so the output is strict JSON."""
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nan(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
