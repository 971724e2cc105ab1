"""Card holders, terminals and their transactions, with five fraud scenarios.

Genuine behaviour: each customer lives at a point on a 100 x 100 map. Customers spend
around a personal mean amount, a personal number of times a day (more at weekends),
mostly around midday, at terminals within reach of home, from their own device.

Fraud scenarios (``fraud_scenario``):
    1. Large amounts: any transaction above ``LARGE_AMOUNT`` is fraud.
    2. Compromised terminals: every transaction at a compromised terminal in the next
       28 days is fraud.
    3. Account takeover: for 14 days a third of the account's transactions are made by
       the fraudster, from a new device, at night, for five times the usual amount.
    4. Fraud rings: a ring controls a few devices and collusive terminals and uses
       them across the accounts it took over.
    5. Card testing (only from ``drift_day``): bursts of small amounts at terminals the
       customer never used, the pattern that drift monitoring must catch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_assets.ingestion.simulator.config import SimulationConfig

LARGE_AMOUNT = 220.0
REACH_RADIUS = 5.0
SECONDS_PER_DAY = 86_400


def simulate_customers(config: SimulationConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Draw card-holder profiles: location, spending habits and a home device."""
    n = config.n_customers
    mean_amount = rng.uniform(5, 100, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "x": rng.uniform(0, 100, n),
            "y": rng.uniform(0, 100, n),
            "mean_amount": mean_amount,
            "std_amount": mean_amount / 2,
            "tx_per_day": rng.uniform(0, 4, n),
            "device_id": [f"D{i:05d}" for i in range(n)],
        }
    )


def simulate_terminals(config: SimulationConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Draw terminal locations."""
    n = config.n_terminals
    return pd.DataFrame(
        {
            "terminal_id": [f"T{i:05d}" for i in range(n)],
            "x": rng.uniform(0, 100, n),
            "y": rng.uniform(0, 100, n),
        }
    )


def _reachable_terminals(customers: pd.DataFrame, terminals: pd.DataFrame) -> list[np.ndarray]:
    """Terminal indices within reach of each customer; the nearest one when none is."""
    cxy = customers[["x", "y"]].to_numpy()
    txy = terminals[["x", "y"]].to_numpy()
    reach = []
    for point in cxy:
        distance = np.sqrt(((txy - point) ** 2).sum(axis=1))
        inside = np.flatnonzero(distance < REACH_RADIUS)
        reach.append(inside if inside.size else np.array([int(distance.argmin())]))
    return reach


def _genuine_transactions(
    config: SimulationConfig,
    customers: pd.DataFrame,
    reach: list[np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    days = np.arange(config.n_days)
    start = pd.Timestamp(config.start_date)
    weekday = (start.dayofweek + days) % 7
    weekend_boost = np.where(weekday >= 5, 1.25, 1.0)
    rows = []
    for index, customer in enumerate(customers.itertuples(index=False)):
        counts = rng.poisson(customer.tx_per_day * weekend_boost)
        total = int(counts.sum())
        if total == 0:
            continue
        day = np.repeat(days, counts)
        seconds = rng.normal(SECONDS_PER_DAY / 2, 20_000, total)
        seconds = np.clip(seconds, 0, SECONDS_PER_DAY - 1)
        amount = rng.normal(customer.mean_amount, customer.std_amount, total)
        negative = amount <= 0
        amount[negative] = rng.uniform(0, customer.mean_amount * 2, negative.sum())
        terminals = rng.choice(reach[index], total)
        device = np.where(rng.random(total) < 0.97, customer.device_id, f"M{index:05d}")
        rows.append(
            pd.DataFrame(
                {
                    "customer_index": index,
                    "seconds": day * SECONDS_PER_DAY + seconds.astype(np.int64),
                    "amount": np.round(amount, 2),
                    "terminal_index": terminals,
                    "device_id": device,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["fraud_scenario"] = 0
    return frame


def _takeover_fraud(
    config: SimulationConfig,
    customers: pd.DataFrame,
    reach: list[np.ndarray],
    tx: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Scenario 3: pick accounts per day; a third of their next transactions turn fraud."""
    day = tx["seconds"] // SECONDS_PER_DAY
    for start_day in range(config.n_days):
        victims = rng.choice(len(customers), rng.poisson(config.takeovers_per_day))
        for victim in victims:
            window = (
                (tx["customer_index"] == victim)
                & (day >= start_day)
                & (day < start_day + config.takeover_days)
                & (tx["fraud_scenario"] == 0)
            )
            chosen = window[window].index
            chosen = chosen[rng.random(len(chosen)) < 1 / 3]
            if chosen.empty:
                continue
            tx.loc[chosen, "amount"] = (tx.loc[chosen, "amount"] * 5).round(2)
            tx.loc[chosen, "device_id"] = f"X{victim:05d}_{start_day:03d}"
            night = rng.integers(0, 5 * 3600, len(chosen))
            tx.loc[chosen, "seconds"] = (day[chosen] * SECONDS_PER_DAY + night).to_numpy()
            tx.loc[chosen, "fraud_scenario"] = 3
    return tx


def _ring_fraud(
    config: SimulationConfig,
    customers: pd.DataFrame,
    n_terminals: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Scenario 4: rings spend from their own devices at collusive terminals."""
    rows = []
    for ring in range(config.n_fraud_rings):
        devices = [f"R{ring:02d}_{k}" for k in range(rng.integers(2, 4))]
        terminals = rng.choice(n_terminals, rng.integers(2, 4), replace=False)
        victims = rng.choice(len(customers), rng.integers(6, 12), replace=False)
        first_day = int(rng.integers(config.n_days // 5, config.n_days - 7))
        for victim in victims:
            n_tx = int(rng.integers(2, 5))
            day = first_day + rng.integers(0, 14, n_tx)
            day = np.minimum(day, config.n_days - 1)
            rows.append(
                pd.DataFrame(
                    {
                        "customer_index": victim,
                        "seconds": day * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n_tx),
                        "amount": np.round(rng.uniform(60, 180, n_tx), 2),
                        "terminal_index": rng.choice(terminals, n_tx),
                        "device_id": rng.choice(devices, n_tx),
                        "fraud_scenario": 4,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _card_testing_fraud(
    config: SimulationConfig, customers: pd.DataFrame, n_terminals: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Scenario 5: from the drift day, bursts of tiny amounts at unfamiliar terminals."""
    if config.drift_day is None:
        return pd.DataFrame()
    rows = []
    for day in range(config.drift_day, config.n_days):
        for victim in rng.choice(len(customers), rng.poisson(3)):
            n_tx = int(rng.integers(3, 7))
            base = day * SECONDS_PER_DAY + int(rng.integers(0, SECONDS_PER_DAY - 3600))
            rows.append(
                pd.DataFrame(
                    {
                        "customer_index": victim,
                        "seconds": base + np.sort(rng.integers(0, 3600, n_tx)),
                        "amount": np.round(rng.uniform(0.5, 3.0, n_tx), 2),
                        "terminal_index": rng.choice(n_terminals, n_tx),
                        "device_id": f"K{victim:05d}_{day:03d}",
                        "fraud_scenario": 5,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def simulate_transactions(
    config: SimulationConfig,
    customers: pd.DataFrame,
    terminals: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Simulate genuine spending, then inject the fraud scenarios.

    Returns:
        A frame in the canonical transactions layout, ordered by time.
    """
    reach = _reachable_terminals(customers, terminals)
    tx = _genuine_transactions(config, customers, reach, rng)
    tx = _takeover_fraud(config, customers, reach, tx, rng)
    extra = [
        _ring_fraud(config, customers, len(terminals), rng),
        _card_testing_fraud(config, customers, len(terminals), rng),
    ]
    tx = pd.concat([tx, *[frame for frame in extra if not frame.empty]], ignore_index=True)

    # Scenario 2 marks every transaction at a terminal while it is compromised.
    day = tx["seconds"] // SECONDS_PER_DAY
    for start_day in range(config.n_days):
        for terminal in rng.choice(
            len(terminals), rng.poisson(config.compromised_terminals_per_day)
        ):
            hit = (
                (tx["terminal_index"] == terminal)
                & (day >= start_day)
                & (day < start_day + config.terminal_compromise_days)
                & (tx["fraud_scenario"] == 0)
            )
            tx.loc[hit, "fraud_scenario"] = 2
    tx.loc[(tx["amount"] > LARGE_AMOUNT) & (tx["fraud_scenario"] == 0), "fraud_scenario"] = 1

    tx = tx.sort_values(["seconds", "customer_index"], kind="stable").reset_index(drop=True)
    start = pd.Timestamp(config.start_date)
    return pd.DataFrame(
        {
            "transaction_id": np.arange(len(tx), dtype=np.int64),
            "timestamp": start + pd.to_timedelta(tx["seconds"], unit="s"),
            "customer_id": customers["customer_id"].to_numpy()[tx["customer_index"]],
            "terminal_id": terminals["terminal_id"].to_numpy()[tx["terminal_index"]],
            "device_id": tx["device_id"].to_numpy(),
            "amount": tx["amount"].to_numpy(),
            "is_fraud": (tx["fraud_scenario"] > 0).astype(np.int64).to_numpy(),
            "fraud_scenario": tx["fraud_scenario"].astype(np.int64).to_numpy(),
        }
    )
