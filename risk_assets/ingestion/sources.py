"""Data sources of the raw tables: the built-in simulator or the user's files.

``RawDataResource`` is configured once per deployment. For each table it either
reads the file named in ``sources`` (with the column mapping named in ``mappings``)
or, when no file is named, takes the table from the seeded simulator.
"""

from __future__ import annotations

import dagster as dg

from risk_assets.ingestion.loaders import load_table
from risk_assets.ingestion.schemas import empty_frame, get_schema
from risk_assets.ingestion.simulator import SimulationConfig, simulate
from risk_assets.ingestion.validation import ValidationResult, validate

# Tables a user may point at a file: the raw tables plus labeled incidents.
SOURCE_TABLES = (
    "transactions",
    "customers",
    "customer_activity",
    "service_metrics",
    "service_logs",
    "service_topology",
    "incidents",
)


class RawDataResource(dg.ConfigurableResource):
    """Source of every raw table.

    Attributes:
        sources: Table name to a CSV/Parquet file, folder or ``s3://`` URI. Tables not
            named here come from the simulator.
        mappings: Table name to a shipped mapping name or a mapping file path.
        seed: Simulator seed.
        n_customers: Simulated customers.
        n_terminals: Simulated terminals.
        n_days: Simulated days of transactions.
        start_date: First simulated day.
        drift_day: Day index from which the simulator injects a new fraud pattern.
        service_hours: Hours of simulated service metrics and logs.
        n_incidents: Simulated service incidents.
    """

    sources: dict[str, str] = {}
    mappings: dict[str, str] = {}
    seed: int = 7
    n_customers: int = 600
    n_terminals: int = 1200
    n_days: int = 75
    start_date: str = "2025-01-01"
    drift_day: int | None = None
    service_hours: int = 24
    n_incidents: int = 6

    def simulation_config(self) -> SimulationConfig:
        """Simulator settings of this resource."""
        return SimulationConfig(
            seed=self.seed,
            n_customers=self.n_customers,
            n_terminals=self.n_terminals,
            n_days=self.n_days,
            start_date=self.start_date,
            drift_day=self.drift_day,
            service_hours=self.service_hours,
            n_incidents=self.n_incidents,
        )

    def describe(self, table: str) -> str:
        """Human-readable origin of ``table``."""
        if table in self.sources:
            mapping = self.mappings.get(table)
            return f"{self.sources[table]}" + (f" (mapping {mapping})" if mapping else "")
        return f"simulator (seed {self.seed})"

    def load(self, table: str) -> ValidationResult:
        """Read and validate ``table`` from its configured source."""
        unknown = sorted(set(self.sources) - set(SOURCE_TABLES))
        if unknown:
            raise ValueError(
                f"RawDataResource.sources names unknown table(s) {unknown}; "
                f"use any of {list(SOURCE_TABLES)}"
            )
        if table in self.sources:
            return load_table(self.sources[table], table, self.mappings.get(table))
        schema = get_schema(table)
        if table == "incidents" and self.sources:
            # Files were given for other tables, so the simulator's incidents would
            # not describe them.
            return validate(empty_frame(schema), schema)
        world = simulate(self.simulation_config())
        return validate(world.table(table), schema)
