"""Built-in, seeded simulator of a card issuer's customers, payments and services.

``simulate(SimulationConfig(seed=...))`` returns every raw table. The same seed gives
byte-identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from risk_assets.ingestion.simulator.config import SimulationConfig
from risk_assets.ingestion.simulator.lifecycle import simulate_subscriptions
from risk_assets.ingestion.simulator.payments import (
    simulate_customers,
    simulate_terminals,
    simulate_transactions,
)
from risk_assets.ingestion.simulator.services import simulate_services

__all__ = ["SimulatedWorld", "SimulationConfig", "simulate"]


@dataclass(frozen=True)
class SimulatedWorld:
    """Every raw table of one simulated world, in the canonical layouts."""

    config: SimulationConfig
    transactions: pd.DataFrame
    customers: pd.DataFrame
    customer_activity: pd.DataFrame
    service_metrics: pd.DataFrame
    service_logs: pd.DataFrame
    service_topology: pd.DataFrame
    incidents: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        """Return a copy of the table called ``name``."""
        if name not in TABLES:
            raise ValueError(f"the simulator has no table {name!r}; it has {TABLES}")
        return getattr(self, name).copy()


TABLES = (
    "transactions",
    "customers",
    "customer_activity",
    "service_metrics",
    "service_logs",
    "service_topology",
    "incidents",
)


@lru_cache(maxsize=4)
def simulate(config: SimulationConfig) -> SimulatedWorld:
    """Simulate every raw table from ``config``; the result is cached per config.

    Each part draws from its own generator derived from the seed, so changing one
    part's size does not reshuffle the others.
    """
    seeds = np.random.SeedSequence(config.seed).spawn(4)
    payments_rng, terminal_rng, lifecycle_rng, services_rng = (
        np.random.default_rng(seed) for seed in seeds
    )
    profiles = simulate_customers(config, payments_rng)
    terminals = simulate_terminals(config, terminal_rng)
    transactions = simulate_transactions(config, profiles, terminals, payments_rng)
    customers, activity = simulate_subscriptions(config, profiles, terminals, lifecycle_rng)
    topology, metrics, logs, incidents = simulate_services(config, services_rng)
    return SimulatedWorld(
        config=config,
        transactions=transactions,
        customers=customers,
        customer_activity=activity,
        service_metrics=metrics,
        service_logs=logs,
        service_topology=topology,
        incidents=incidents,
    )
