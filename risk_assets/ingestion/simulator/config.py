"""Settings of the built-in simulator."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimulationConfig:
    """Size, time span and behaviour of a simulated world.

    The defaults are the demo size: large enough to train every model, small enough
    for the whole asset graph to materialize in minutes on 2 cores.

    Attributes:
        seed: Seed of every random draw; the same seed gives the same world.
        n_customers: Card holders, who are also the subscribers churn models score.
        n_terminals: Payment terminals.
        n_days: Days of card transactions.
        start_date: First day of transactions (ISO date).
        compromised_terminals_per_day: Expected terminals compromised each day; all
            their transactions in the next ``terminal_compromise_days`` are fraud.
        takeovers_per_day: Expected accounts taken over each day. A third of their
            transactions in the next ``takeover_days`` become fraud, from a new device,
            at night, with five times the amount.
        n_fraud_rings: Rings that share devices and collusive terminals across the
            accounts they control.
        drift_day: Day index from which a new fraud pattern (card testing: bursts of
            small amounts at new terminals) appears; None for no drift.
        service_hours: Hours of per-minute service metrics and logs.
        n_incidents: Service incidents injected into metrics and logs.
    """

    seed: int = 7
    n_customers: int = 600
    n_terminals: int = 1200
    n_days: int = 75
    start_date: str = "2025-01-01"
    compromised_terminals_per_day: float = 0.4
    terminal_compromise_days: int = 28
    takeovers_per_day: float = 0.5
    takeover_days: int = 14
    n_fraud_rings: int = 3
    drift_day: int | None = None
    service_hours: int = 24
    n_incidents: int = 6

    def __post_init__(self) -> None:
        checks = {
            "n_customers": self.n_customers >= 20,
            "n_terminals": self.n_terminals >= 20,
            "n_days": self.n_days >= 14,
            "service_hours": self.service_hours >= 2,
            "n_incidents": self.n_incidents >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"SimulationConfig.{name}={getattr(self, name)} is too small; "
                    "use at least 20 customers and terminals, 14 days and 2 service hours"
                )
        if self.drift_day is not None and not 0 < self.drift_day < self.n_days:
            raise ValueError(
                f"SimulationConfig.drift_day={self.drift_day} must fall inside the "
                f"{self.n_days} simulated days"
            )
