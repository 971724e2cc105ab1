"""Field access for rule evaluation: column checks, derived fields and cached conversions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
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


class FieldValues:
    """Read-only view of the transactions that rule conditions evaluate on.

    Each field is converted to a NumPy array once and cached, so conditions that read
    the same field share the conversion. Derived fields are computed on first use.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._series: dict[str, pd.Series] = {}
        self._missing: dict[str, np.ndarray] = {}
        self._numeric: dict[str, np.ndarray] = {}
        self._text: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._frame)

    def series(self, field: str) -> pd.Series:
        """Return the column called ``field``, or compute the derived field."""
        if field not in self._series:
            if field in self._frame.columns:
                self._series[field] = self._frame[field]
            else:
                self._series[field] = DERIVED_FIELDS[field](self._frame)
        return self._series[field]

    def missing(self, field: str) -> np.ndarray:
        """Return a boolean array that is True where the field is missing."""
        if field not in self._missing:
            self._missing[field] = self.series(field).isna().to_numpy()
        return self._missing[field]

    def numeric(self, field: str) -> np.ndarray:
        """Return the field as float64, with NaN where it is missing.

        Raises:
            ValueError: If a present value is not a number, for example text in a
                column that a rule compares with a number.
        """
        if field not in self._numeric:
            self._numeric[field] = self._to_numeric(field)
        return self._numeric[field]

    def text(self, field: str) -> np.ndarray:
        """Return the field as an object array for comparison with string literals.

        Raises:
            ValueError: If the column is numeric, because comparing numbers with a
                string is always False and is almost certainly a mistake in the rule.
        """
        if field not in self._text:
            column = self.series(field)
            dtype = column.dtype
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                raise ValueError(
                    f"Field {field!r} is numeric ({dtype}), but a rule compares it with "
                    "a string. Write the value without quotes in the rule file."
                )
            self._text[field] = column.to_numpy(dtype=object)
        return self._text[field]

    def _to_numeric(self, field: str) -> np.ndarray:
        column = self.series(field)
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            return column.to_numpy(dtype="float64", na_value=np.nan)

        converted = pd.to_numeric(column, errors="coerce")
        invalid = converted.isna().to_numpy() & ~self.missing(field)
        if invalid.any():
            example = column[invalid].iloc[0]
            raise ValueError(
                f"Field {field!r} contains the non-numeric value {example!r}, but a rule "
                "compares it with a number. Fix the column type or compare with a string."
            )
        return converted.to_numpy(dtype="float64", na_value=np.nan)


def resolve_fields(frame: pd.DataFrame, ruleset: RuleSet) -> FieldValues:
    """Check every field of the enabled rules against the frame and wrap it for evaluation.

    Args:
        frame: Scored transactions.
        ruleset: Rules whose fields must exist.

    Returns:
        The field view that rule conditions evaluate on.

    Raises:
        UnknownFieldError: If a rule reads a field that is neither a column nor a
            derived field computable from the columns.
    """
    known = available_fields(frame.columns)
    for rule in ruleset.rules:
        if not rule.enabled:
            continue
        for field, line in rule.condition.field_lines():
            if field not in known:
                raise UnknownFieldError(rule.name, field, line, sorted(known))
    return FieldValues(frame)
