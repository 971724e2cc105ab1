"""Small transaction tables with planted fraud patterns for the graph tests."""

import numpy as np
import pandas as pd
import pytest

from risk_assets.fraud.graph import GraphModelConfig, TrainedGraphModel, train_graph_model

START = pd.Timestamp("2025-01-01")
# Training cutoff of the planted data: labels are known up to day 28, the graph ends at 35.
CUTOFF = START + pd.Timedelta(days=35)


def planted_transactions(seed: int = 0, n_days: int = 42) -> pd.DataFrame:
    """Return transactions in which six of 40 terminals are compromised for the whole period.

    Each of 60 customers pays twice a day at terminals near its own index, with its own
    device. Every transaction at a compromised terminal is fraud, so a terminal's known
    frauds predict its frauds in the next week.
    """
    rng = np.random.default_rng(seed)
    n_customers, n_terminals = 60, 40
    compromised = {f"T{index}" for index in (3, 9, 17, 22, 30, 36)}
    rows = []
    for day in range(n_days):
        for customer in range(n_customers):
            for _ in range(2):
                terminal = (customer * 2 // 3 + int(rng.integers(-3, 4))) % n_terminals
                rows.append(
                    {
                        "timestamp": START
                        + pd.Timedelta(days=day, seconds=int(rng.integers(0, 86_400))),
                        "customer_id": f"C{customer}",
                        "terminal_id": f"T{terminal}",
                        "device_id": f"D{customer}",
                        "amount": float(rng.gamma(2.0, 20.0)),
                    }
                )
    frame = pd.DataFrame(rows).sort_values("timestamp", ignore_index=True)
    frame.insert(0, "transaction_id", np.arange(len(frame), dtype="int64"))
    fraud = frame["terminal_id"].isin(compromised).astype("int64")
    frame["is_fraud"] = pd.array(fraud, dtype="Int64")
    frame["fraud_scenario"] = pd.array(fraud * 2, dtype="Int64")
    return frame


@pytest.fixture(scope="session")
def planted() -> pd.DataFrame:
    """Transactions of ``planted_transactions`` with the default seed."""
    return planted_transactions()


@pytest.fixture(scope="session")
def small_config() -> GraphModelConfig:
    """Windows and network size that keep training on the planted data to about a second."""
    return GraphModelConfig(lookback_days=14, n_snapshots=2, hidden_dim=16, epochs=60, seed=0)


@pytest.fixture(scope="session")
def planted_model(planted, small_config) -> TrainedGraphModel:
    """The GNN trained on the planted transactions at ``CUTOFF``."""
    return train_graph_model(planted, CUTOFF, small_config)
