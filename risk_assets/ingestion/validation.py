"""Row-level validation against a table contract, with quarantine.

``validate`` coerces each column to its contract type and checks nullability, ranges
and allowed values. A row that breaks any rule goes to the quarantine frame with every
reason it failed; the rest is accepted. ``len(accepted) + len(quarantine)`` always
equals the number of input rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.ingestion.schemas import Column, TableSchema, dtype_for

QUARANTINE_COLUMNS = ("source_row", "quarantine_reason")

MISSING_VALUE_TEXT = ("nan", "nat", "na", "n/a", "null", "none")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Quarantine reason of a value that cannot be read as its column's kind.
INVALID = {
    "int": "not a whole number within the int64 range",
    "float": "not a valid float",
    "datetime": "not an ISO 8601 datetime (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS) "
    "between 1677 and 2262",
    "bool": "not a valid bool",
    "str": "not a valid str",
}


@dataclass
class ValidationResult:
    """Accepted and quarantined rows of one input.

    Attributes:
        accepted: Rows that meet the contract, typed as the contract defines.
        quarantine: Rejected rows with their original values as text, the input row
            number (``source_row``) and every reason (``quarantine_reason``).
        input_rows: Number of rows in the input.
    """

    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    input_rows: int

    @property
    def reconciles(self) -> bool:
        """Whether accepted plus quarantined rows equal the input rows."""
        return len(self.accepted) + len(self.quarantine) == self.input_rows

    def reason_counts(self) -> dict[str, int]:
        """Count quarantined rows per individual reason."""
        if self.quarantine.empty:
            return {}
        reasons = self.quarantine["quarantine_reason"].str.split("; ").explode()
        return {str(key): int(value) for key, value in reasons.value_counts().items()}


def _coerce_int(raw: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Convert ``raw`` to Int64 exactly; return the values and a bad-value mask.

    Whole numbers in text become Python integers, not floats, so identifiers
    above 2**53 keep their value. Numbers outside the int64 range are bad.
    """
    values = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    bad = pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    digits = (text.str.fullmatch(r"[+-]?\d+").fillna(False) & ~missing).astype(bool)
    parsed = {index: int(value) for index, value in text[digits].items()}
    fits = {index: value for index, value in parsed.items() if INT64_MIN <= value <= INT64_MAX}
    if fits:
        values[list(fits)] = pd.array(list(fits.values()), dtype="Int64")
    bad[[index for index in parsed if index not in fits]] = True
    other = ~missing & ~digits
    numbers = pd.to_numeric(raw[other], errors="coerce").astype("float64")
    whole = numbers.notna() & np.isfinite(numbers) & (np.floor(numbers) == numbers)
    whole &= numbers.abs() < 2.0**53
    values[whole[whole].index] = numbers[whole].astype("int64")
    bad[whole[~whole].index] = True
    return values, bad


def _parse_iso_times(text: pd.Series) -> pd.Series:
    """Parse ISO 8601 text to naive UTC times, NaT where a value is not ISO 8601.

    Values with an offset and values without are parsed apart: pandas 2.3 parses a
    value without an offset that follows one with an offset as if it had that offset.
    """
    has_offset = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).fillna(False)
    has_offset = has_offset.astype(bool)
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], errors="coerce", utc=True, format="ISO8601")
        values[has_offset] = aware.dt.tz_localize(None)
    if (~has_offset).any():
        naive = pd.to_datetime(text[~has_offset], errors="coerce", format="ISO8601")
        values[~has_offset] = naive
    return values


def _coerce(column: Column, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Convert ``raw`` to the column's type; return the values and a bad-value mask."""
    missing = raw.isna() | (raw.astype("string").str.strip() == "")
    if column.kind in ("int", "float", "datetime"):
        # Numbers and times written as NaN or null in text mean a missing value.
        missing |= raw.astype("string").str.strip().str.lower().isin(MISSING_VALUE_TEXT)
        missing = missing.fillna(False).astype(bool)
    if column.kind == "int":
        if pd.api.types.is_integer_dtype(raw) and not pd.api.types.is_unsigned_integer_dtype(raw):
            return raw.astype("Int64"), pd.Series(False, index=raw.index)
        return _coerce_int(raw, missing)
    if column.kind == "float":
        values = pd.to_numeric(raw.where(~missing), errors="coerce").astype("float64")
        bad = values.isna() & ~missing
    elif column.kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(raw):
            values = pd.to_datetime(raw)
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            raise ValueError(
                f"column {column.name!r} contains numbers ({raw.dtype}), not datetimes; the "
                "unit of an epoch is ambiguous, so convert it first, e.g. "
                "pd.to_datetime(values, unit='s', utc=True), or write ISO 8601 text"
            )
        else:
            # Each value is parsed as ISO 8601, so a file may mix precisions and
            # offsets. Other layouts (05/01/2025) are rejected, not guessed.
            values = _parse_iso_times(raw.where(~missing).astype("string").str.strip())
        values = values.astype("datetime64[ns]")
        bad = values.isna() & ~missing
    elif column.kind == "bool":
        text = raw.astype("string").str.strip().str.lower()
        mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        values = text.map(mapping).astype("boolean")
        bad = values.isna() & ~missing
    else:
        values = raw.where(~missing).astype("string").str.strip()
        bad = pd.Series(False, index=raw.index)
    return values, bad.fillna(False).astype(bool)


def validate(frame: pd.DataFrame, schema: TableSchema) -> ValidationResult:
    """Check ``frame`` against ``schema`` row by row.

    Args:
        frame: Input with (at least) the contract's required columns, any types.
        schema: The table contract.

    Returns:
        Accepted rows typed by the contract and quarantined rows with reasons.

    Raises:
        ValueError: A required column is missing (a file-level problem, not a row one).
    """
    missing_columns = [
        column.name for column in schema.columns if column.required and column.name not in frame
    ]
    if missing_columns:
        raise ValueError(
            f"table {schema.name} is missing required column(s) {missing_columns}; "
            f"found columns {list(frame.columns)}. Map them with a column mapping."
        )
    reserved = [name for name in QUARANTINE_COLUMNS if name in frame.columns]
    if reserved:
        raise ValueError(
            f"table {schema.name} has column(s) {reserved}, which the quarantine table "
            "uses for its own fields; rename them in the source or a column mapping."
        )
    frame = frame.reset_index(drop=True)
    reasons = pd.Series("", index=frame.index, dtype=object)

    def add_reason(mask: pd.Series, text: str) -> None:
        mask = mask.fillna(False).astype(bool)
        reasons[mask] = reasons[mask].map(lambda old: f"{old}; {text}" if old else text)

    typed = {}
    for column in schema.columns:
        if column.name not in frame:
            typed[column.name] = pd.Series(pd.NA, index=frame.index).astype(dtype_for(column.kind))
            continue
        raw = frame[column.name]
        values, bad = _coerce(column, raw)
        add_reason(bad, f"{column.name}: {INVALID[column.kind]}")
        infinite = pd.Series(False, index=frame.index)
        if column.kind == "float":
            infinite = values.notna() & ~np.isfinite(values)
            add_reason(infinite, f"{column.name}: not finite")
            values = values.where(~infinite)
        if not column.nullable:
            add_reason(values.isna() & ~bad & ~infinite, f"{column.name}: missing")
        if column.min_value is not None:
            low = pd.Timestamp(column.min_value) if column.kind == "datetime" else column.min_value
            add_reason(values < low, f"{column.name}: below minimum {column.min_value}")
        if column.max_value is not None:
            high = pd.Timestamp(column.max_value) if column.kind == "datetime" else column.max_value
            add_reason(values > high, f"{column.name}: above maximum {column.max_value}")
        if column.allowed is not None:
            outside = values.notna() & ~values.isin(list(column.allowed))
            add_reason(outside, f"{column.name}: not one of {list(column.allowed)}")
        typed[column.name] = values

    accepted = pd.DataFrame(typed)
    for rule in schema.rules:
        add_reason(rule.breaks(accepted), rule.reason)
    if schema.primary_key:
        duplicated = accepted.duplicated(list(schema.primary_key), keep="first")
        add_reason(duplicated & (reasons == ""), f"duplicate key {list(schema.primary_key)}")

    rejected = reasons != ""
    extra = [name for name in frame.columns if name not in typed]
    accepted = pd.concat([accepted, frame[extra]], axis=1)[~rejected].reset_index(drop=True)
    quarantine = frame[rejected].astype("string")
    quarantine.insert(0, "quarantine_reason", reasons[rejected].astype("string"))
    quarantine.insert(0, "source_row", frame.index[rejected].astype("int64"))
    return ValidationResult(
        accepted=accepted,
        quarantine=quarantine.reset_index(drop=True),
        input_rows=len(frame),
    )
