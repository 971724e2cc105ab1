"""Data contracts of the raw tables: columns, types, nullability and allowed values.

Every loader and the simulator produce frames that pass ``validate`` against these
schemas. Row-level violations go to quarantine with a reason; they are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

KINDS = ("int", "float", "str", "datetime", "bool")

# Names (prefixes) of service metrics that are a share of calls: of successful calls
# for availability, of failed calls for the others. Shares are fractions or percents.
SHARE_METRIC_PREFIXES = ("availability", "error_rate", "error_ratio", "failure_rate")
# Names (prefixes) of service metrics that count calls per row.
COUNT_METRIC_PREFIXES = ("requests",)


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    Attributes:
        name: Column name.
        kind: One of ``int``, ``float``, ``str``, ``datetime``, ``bool``.
        nullable: Whether missing values are allowed.
        min_value: Smallest allowed value (numbers and datetimes), inclusive.
        max_value: Largest allowed value, inclusive.
        allowed: Closed set of allowed values, for categorical columns.
        required: Whether a source must provide the column. Optional columns that are
            absent are added as all-missing.
    """

    name: str
    kind: str
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple | None = None
    required: bool = True


@dataclass(frozen=True)
class RowRule:
    """A check that reads several columns of a row.

    Attributes:
        reason: Quarantine reason of a row that breaks the rule.
        breaks: Given the typed columns, returns True on the rows that break it.
    """

    reason: str
    breaks: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class TableSchema:
    """Contract of one raw table."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = field(default_factory=tuple)
    rules: tuple[RowRule, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """Names in contract order."""
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name!r}")


TRANSACTIONS = TableSchema(
    name="transactions",
    primary_key=("transaction_id",),
    columns=(
        Column("transaction_id", "int", min_value=0),
        Column("timestamp", "datetime"),
        Column("customer_id", "str"),
        Column("terminal_id", "str"),
        Column("device_id", "str", nullable=True, required=False),
        Column("amount", "float", min_value=0.0),
        Column("is_fraud", "int", nullable=True, allowed=(0, 1), required=False),
        Column("fraud_scenario", "int", nullable=True, min_value=0, required=False),
    ),
)

CUSTOMERS = TableSchema(
    name="customers",
    primary_key=("customer_id",),
    columns=(
        Column("customer_id", "str"),
        Column("signup_date", "datetime", nullable=True, required=False),
        Column("plan", "str", nullable=True, required=False),
        Column("contract", "str", nullable=True, required=False),
        Column("monthly_charge", "float", nullable=True, min_value=0.0, required=False),
        Column("home_terminal_id", "str", nullable=True, required=False),
        Column("device_id", "str", nullable=True, required=False),
        Column("region", "str", nullable=True, required=False),
        Column("tenure_months", "float", min_value=0.0),
        Column("churned", "int", allowed=(0, 1)),
    ),
)

CUSTOMER_ACTIVITY = TableSchema(
    name="customer_activity",
    columns=(
        Column("customer_id", "str"),
        Column("timestamp", "datetime"),
        Column(
            "event_type",
            "str",
            allowed=(
                "login",
                "usage",
                "support_contact",
                "complaint",
                "payment_failure",
                "plan_change",
            ),
        ),
        Column("value", "float", nullable=True),
    ),
)


def _metric_starts_with(frame: pd.DataFrame, prefixes: tuple[str, ...]) -> pd.Series:
    return frame["metric"].str.lower().str.startswith(prefixes).fillna(False).astype(bool)


SERVICE_METRICS = TableSchema(
    name="service_metrics",
    primary_key=("timestamp", "service", "metric"),
    rules=(
        RowRule(
            "value: negative call count",
            lambda frame: _metric_starts_with(frame, COUNT_METRIC_PREFIXES) & (frame["value"] < 0),
        ),
        RowRule(
            "value: share of calls outside 0..100",
            lambda frame: (
                _metric_starts_with(frame, SHARE_METRIC_PREFIXES)
                & ((frame["value"] < 0) | (frame["value"] > 100))
            ),
        ),
    ),
    columns=(
        Column("timestamp", "datetime"),
        Column("service", "str"),
        Column("metric", "str"),
        Column("value", "float", nullable=True),
    ),
)

SERVICE_LOGS = TableSchema(
    name="service_logs",
    columns=(
        Column("timestamp", "datetime"),
        Column("service", "str"),
        Column("level", "str", allowed=("DEBUG", "INFO", "WARN", "ERROR")),
        Column("message", "str"),
    ),
)

SERVICE_TOPOLOGY = TableSchema(
    name="service_topology",
    primary_key=("caller", "callee"),
    columns=(
        Column("caller", "str"),
        Column("callee", "str"),
        Column("caller_kind", "str", nullable=True, required=False),
        Column("callee_kind", "str", nullable=True, required=False),
    ),
)

INCIDENTS = TableSchema(
    name="incidents",
    primary_key=("incident_id",),
    rules=(RowRule("end: before start", lambda frame: frame["end"] < frame["start"]),),
    columns=(
        Column("incident_id", "str"),
        Column("start", "datetime"),
        Column("end", "datetime", nullable=True, required=False),
        Column("root_cause_service", "str", nullable=True, required=False),
        Column("alerted_service", "str"),
        Column("alerted_metric", "str"),
        Column("kind", "str", nullable=True, required=False),
    ),
)

SCHEMAS: dict[str, TableSchema] = {
    schema.name: schema
    for schema in (
        TRANSACTIONS,
        CUSTOMERS,
        CUSTOMER_ACTIVITY,
        SERVICE_METRICS,
        SERVICE_LOGS,
        SERVICE_TOPOLOGY,
        INCIDENTS,
    )
}


def get_schema(table: str) -> TableSchema:
    """Return the contract of ``table``; raise ValueError naming the known tables."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; known tables: {sorted(SCHEMAS)}") from None


def dtype_for(kind: str) -> str:
    """Return the pandas dtype that a column kind is stored as."""
    return {
        "int": "Int64",
        "float": "float64",
        "str": "string",
        "datetime": "datetime64[ns]",
        "bool": "boolean",
    }[kind]


def empty_frame(schema: TableSchema) -> pd.DataFrame:
    """Return an empty frame with the contract's columns and dtypes."""
    return pd.DataFrame(
        {column.name: pd.Series(dtype=dtype_for(column.kind)) for column in schema.columns}
    )
