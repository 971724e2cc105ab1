"""Field resolution: check rule fields against the columns and add derived calendar fields."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from risk_assets.fraud.rules.errors import UnknownFieldError
from risk_assets.fraud.rules.ruleset import RuleSet

TIMESTAMP_COLUMN = "timestamp"


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame[TIMESTAMP_COLUMN])


# Fields computed from the transaction timestamp (naive UTC) when the frame does not
# already have a column of that name. A column in the frame always takes precedence.
DERIVED_FIELDS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "hour": lambda frame: _timestamps(frame).dt.hour,
    "day_of_week": lambda frame: _timestamps(frame).dt.dayofweek,
    "is_weekend": lambda frame: (_timestamps(frame).dt.dayofweek >= 5).astype("int64"),
}


def available_fields(columns: list[str] | pd.Index) -> set[str]:
    """Return the field names rules may use on a frame with these columns."""
    names = {str(column) for column in columns}
    if TIMESTAMP_COLUMN in names:
        names.update(DERIVED_FIELDS)
    return names


def resolve_fields(frame: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Check every field of the enabled rules and add the derived fields they need.

    Args:
        frame: Scored transactions.
        ruleset: Rules whose fields must exist.

    Returns:
        ``frame`` itself when nothing is derived, otherwise a shallow copy with the
        derived columns added.

    Raises:
        UnknownFieldError: If a rule reads a field that is neither a column nor a
            derived field computable from the columns.
    """
    columns = set(map(str, frame.columns))
    known = available_fields(frame.columns)
    for rule in ruleset.rules:
        if not rule.enabled:
            continue
        for field, line in rule.condition.field_lines():
            if field not in known:
                raise UnknownFieldError(rule.name, field, line, sorted(known))

    missing = sorted(ruleset.fields() - columns)
    if not missing:
        return frame

    derived = frame.copy(deep=False)
    for name in missing:
        derived[name] = DERIVED_FIELDS[name](frame)
    return derived
