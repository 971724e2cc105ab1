"""Customer 360 feature table: one row per customer for the churn survival models.

The table keeps the survival target (``tenure_months`` as the duration in months,
``churned`` as the event) beside the features:

- contract terms and price from the ``customers`` table (contract, plan, region,
  monthly charge, and any extra columns a file mapping keeps, such as Telco's
  ``internet_service`` or ``payment_method``);
- spend and its trend from ``transactions``;
- activity, its recent change, support contacts, complaints, payment failures and
  plan changes from ``customer_activity``.

Activity and spend windows end at each customer's own end of observation (the churn
date for churned customers, the snapshot date for the others), so a churned customer's
silence after leaving is not read as a warning sign before it.

A customer whose 60-day window falls outside the time span of the activity (or
transaction) table has no measured history there, and zeros would stand for "left
long ago". Such values are left missing, and a table whose features are missing for
more than ``1 - min_coverage`` of the customers is left out of the 360 table with a
warning. This happens with the built-in simulator, whose activity covers only the
last 90 days before the snapshot, so most churned customers have no history in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

DURATION_COLUMN = "tenure_months"
EVENT_COLUMN = "churned"
ID_COLUMN = "customer_id"

# Columns that identify a customer or a device and carry no churn signal.
IDENTIFIER_COLUMNS = ("customer_id", "signup_date", "home_terminal_id", "device_id")

# Columns that encode the duration itself. Telco's TotalCharges is about tenure times
# MonthlyCharges, so a model that uses it reads the answer off the input.
DURATION_PROXY_COLUMNS = ("total_charges",)

DAYS_PER_MONTH = 30.4375
RECENT_DAYS = 30
HISTORY_DAYS = 60
# Slack when checking that a table's time span covers a customer's window.
COVERAGE_SLACK = pd.Timedelta(days=1)

ACTIVITY_COUNT_FEATURES = {
    "support_contact": "support_contacts_60d",
    "complaint": "complaints_60d",
    "payment_failure": "payment_failures_60d",
    "plan_change": "plan_changes_60d",
}


def validate_survival_target(frame: pd.DataFrame) -> None:
    """Check that ``frame`` has a usable duration and event for survival models.

    Args:
        frame: Table with ``customer_id``, ``tenure_months`` and ``churned``.

    Raises:
        ValueError: A column is missing, a tenure is missing or negative, an event is
            not 0 or 1, or a customer id repeats.
    """
    for column in (ID_COLUMN, DURATION_COLUMN, EVENT_COLUMN):
        if column not in frame.columns:
            raise ValueError(
                f"missing column {column!r}: the churn models need {ID_COLUMN!r}, "
                f"{DURATION_COLUMN!r} (months, >= 0) and {EVENT_COLUMN!r} (0 or 1); "
                f"found {sorted(map(str, frame.columns))}"
            )
    tenure = pd.to_numeric(frame[DURATION_COLUMN], errors="coerce")
    invalid = tenure.isna() | ~np.isfinite(tenure.astype("float64").fillna(0.0))
    if invalid.any():
        example = frame.loc[invalid, ID_COLUMN].iloc[0]
        raise ValueError(
            f"{int(invalid.sum())} rows have a missing or non-numeric {DURATION_COLUMN!r} "
            f"(first: customer {example!r}); fill it with the months since signup"
        )
    negative = tenure < 0
    if negative.any():
        first = negative.idxmax()
        raise ValueError(
            f"{int(negative.sum())} rows have a negative {DURATION_COLUMN!r} (customer "
            f"{frame.at[first, ID_COLUMN]!r} has {tenure[first]}); tenure is months since "
            "signup and must be >= 0"
        )
    events = pd.to_numeric(frame[EVENT_COLUMN], errors="coerce")
    bad_events = ~events.isin([0, 1])
    if bad_events.any():
        first = bad_events.idxmax()
        raise ValueError(
            f"{int(bad_events.sum())} rows have an {EVENT_COLUMN!r} value other than 0 or 1 "
            f"(customer {frame.at[first, ID_COLUMN]!r} has {frame.at[first, EVENT_COLUMN]!r}); "
            "use 1 for churned and 0 for active"
        )
    duplicated = frame[ID_COLUMN].duplicated()
    if duplicated.any():
        raise ValueError(
            f"{int(duplicated.sum())} duplicate {ID_COLUMN!r} values (first: "
            f"{frame.loc[duplicated, ID_COLUMN].iloc[0]!r}); the table needs one row per customer"
        )


def observation_end(customers: pd.DataFrame, snapshot: pd.Timestamp) -> pd.Series:
    """Return the last day each customer was observed, indexed by customer id.

    It is the signup date plus the tenure, capped at ``snapshot``. Customers without a
    signup date are observed until ``snapshot``.
    """
    ends = pd.Series(snapshot, index=customers[ID_COLUMN].astype(str).to_numpy())
    if "signup_date" in customers.columns:
        signup = pd.to_datetime(customers["signup_date"]).to_numpy()
        tenure_days = customers[DURATION_COLUMN].astype("float64").to_numpy() * DAYS_PER_MONTH
        computed = pd.Series(signup + pd.to_timedelta(tenure_days, unit="D"), index=ends.index)
        ends = computed.where(computed.notna(), ends).clip(upper=snapshot)
    return ends


def _windowed(events: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    """Attach each event's age in days before its customer's observation end."""
    events = events[events[ID_COLUMN].astype(str).isin(ends.index)].copy()
    events[ID_COLUMN] = events[ID_COLUMN].astype(str)
    end = events[ID_COLUMN].map(ends)
    events["age_days"] = (end - pd.to_datetime(events["timestamp"])).dt.total_seconds() / 86400.0
    # Events after the end (a late record of a churned customer) are not history.
    return events[(events["age_days"] >= 0) & (events["age_days"] < HISTORY_DAYS)]


def _recent_and_trend(
    events: pd.DataFrame, value_column: str | None, ids: pd.Index, name: str
) -> pd.DataFrame:
    """Sum over the last 30 days and its relative change against the 30-day rate before."""
    values = events[value_column].fillna(0.0) if value_column else pd.Series(1.0, events.index)
    recent_mask = events["age_days"] < RECENT_DAYS
    recent = values[recent_mask].groupby(events.loc[recent_mask, ID_COLUMN]).sum()
    earlier = values[~recent_mask].groupby(events.loc[~recent_mask, ID_COLUMN]).sum()
    recent = recent.reindex(ids, fill_value=0.0)
    earlier_rate = earlier.reindex(ids, fill_value=0.0) * RECENT_DAYS / (HISTORY_DAYS - RECENT_DAYS)
    # The +1 keeps the ratio finite for customers with no earlier activity.
    change = (recent - earlier_rate) / (earlier_rate.abs() + 1.0)
    return pd.DataFrame({f"{name}_30d": recent, f"{name}_change": change})


def _mask_uncovered(features: pd.DataFrame, table: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    """Set features to NaN for customers whose window starts before the table's first event."""
    stamps = pd.to_datetime(table["timestamp"])
    if stamps.empty:
        return features * np.nan
    starts = ends - pd.Timedelta(days=HISTORY_DAYS)
    covered = starts >= stamps.min() - COVERAGE_SLACK
    mask = covered.reindex(features.index).fillna(False).to_numpy(dtype=bool)
    mask_frame = pd.DataFrame({column: mask for column in features.columns}, features.index)
    return features.where(mask_frame)


def activity_features(activity: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    """Aggregate ``customer_activity`` into per-customer features.

    Args:
        activity: Canonical ``customer_activity`` table.
        ends: Observation end per customer id (see ``observation_end``).

    Returns:
        Frame indexed by customer id with login and usage levels and their change,
        and 60-day counts of support contacts, complaints, payment failures and plan
        changes. Rows of customers whose window the table does not cover are NaN.
    """
    missing = {ID_COLUMN, "timestamp", "event_type", "value"} - set(activity.columns)
    if missing:
        raise ValueError(
            f"customer_activity is missing columns {sorted(missing)}; pass the canonical "
            "customer_activity table"
        )
    ids = ends.index
    events = _windowed(activity, ends)
    parts = [
        _recent_and_trend(events[events["event_type"] == "login"], None, ids, "logins"),
        _recent_and_trend(events[events["event_type"] == "usage"], "value", ids, "usage"),
    ]
    for event_type, name in ACTIVITY_COUNT_FEATURES.items():
        counts = events[events["event_type"] == event_type].groupby(ID_COLUMN).size()
        parts.append(counts.reindex(ids, fill_value=0).astype("float64").rename(name))
    return _mask_uncovered(pd.concat(parts, axis=1), activity, ends)


def spend_features(transactions: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    """Aggregate ``transactions`` into spend in the last 30 days and its trend.

    Args:
        transactions: Canonical ``transactions`` table.
        ends: Observation end per customer id (see ``observation_end``).

    Returns:
        Frame indexed by customer id with ``spend_30d``, ``spend_change`` and
        ``transactions_30d``. Rows of customers whose window the table does not
        cover are NaN.
    """
    missing = {ID_COLUMN, "timestamp", "amount"} - set(transactions.columns)
    if missing:
        raise ValueError(
            f"transactions is missing columns {sorted(missing)}; pass the canonical "
            "transactions table"
        )
    events = _windowed(transactions, ends)
    spend = _recent_and_trend(events, "amount", ends.index, "spend")
    counts = _recent_and_trend(events, None, ends.index, "transactions")
    features = pd.concat([spend, counts[["transactions_30d"]]], axis=1)
    return _mask_uncovered(features, transactions, ends)


def _feature_columns(customers: pd.DataFrame, excluded: Iterable[str]) -> list[str]:
    """Customer columns usable as features: not excluded, not empty, not constant."""
    skip = set(excluded) | {DURATION_COLUMN, EVENT_COLUMN}
    keep = []
    for column in customers.columns:
        if column in skip:
            continue
        values = customers[column]
        if values.notna().sum() == 0 or values.nunique(dropna=True) < 2:
            continue
        keep.append(column)
    return keep


def _as_numeric_if_possible(values: pd.Series) -> pd.Series:
    """Convert text that holds only numbers (such as ``"0"``/``"1"`` flags) to float."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    converted = pd.to_numeric(values, errors="coerce")
    if converted.notna().sum() == values.notna().sum():
        return converted.astype("float64")
    return values.astype("string")


def build_customer_360(
    customers: pd.DataFrame,
    activity: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    snapshot: pd.Timestamp | None = None,
    excluded_columns: Iterable[str] = DURATION_PROXY_COLUMNS,
    min_coverage: float = 0.95,
) -> pd.DataFrame:
    """Build the customer 360 table from the customer, activity and spend tables.

    Args:
        customers: Canonical ``customers`` table, optionally with extra columns.
        activity: Canonical ``customer_activity`` table, or None when unavailable.
        transactions: Canonical ``transactions`` table, or None when unavailable.
        snapshot: Date the data was extracted. Defaults to the latest activity or
            transaction timestamp, or today when neither table is given.
        excluded_columns: Customer columns never used as features, besides the
            identifiers, because they encode the duration.
        min_coverage: Share of customers whose window an activity or transaction
            table must cover for its features to be kept.

    Returns:
        One row per customer: ``customer_id``, ``tenure_months``, ``churned``, then
        numeric features as float64 and categorical features as strings.
        ``attrs["history_coverage"]`` maps each activity or transaction table given
        to the share of customers whose window it covers.

    Raises:
        ValueError: The target columns are missing or invalid (see
            ``validate_survival_target``) or an activity table lacks its columns.
    """
    validate_survival_target(customers)
    customers = customers.reset_index(drop=True)
    if snapshot is None:
        stamps = [
            pd.to_datetime(table["timestamp"]).max()
            for table in (activity, transactions)
            if table is not None and len(table)
        ]
        snapshot = max(stamps) if stamps else pd.Timestamp.now().normalize()
    ends = observation_end(customers, pd.Timestamp(snapshot))

    result = pd.DataFrame(
        {
            ID_COLUMN: customers[ID_COLUMN].astype(str).to_numpy(),
            DURATION_COLUMN: customers[DURATION_COLUMN].astype("float64").to_numpy(),
            EVENT_COLUMN: customers[EVENT_COLUMN].astype("int64").to_numpy(),
        }
    )
    for column in _feature_columns(customers, [*IDENTIFIER_COLUMNS, *excluded_columns]):
        result[column] = _as_numeric_if_possible(customers[column]).to_numpy()

    extra = {}
    if activity is not None:
        extra["customer_activity"] = activity_features(activity, ends)
    if transactions is not None:
        extra["transactions"] = spend_features(transactions, ends)
    for table, features in extra.items():
        source = activity if table == "customer_activity" else transactions
        shared = source[ID_COLUMN].astype(str).isin(ends.index).any()
        if not shared:
            logger.warning(
                "%s shares no customer_id with customers; its features are left out. Load "
                "both tables from the same source",
                table,
            )
            result.attrs.setdefault("history_coverage", {})[table] = 0.0
            continue
        aligned = features.reindex(result[ID_COLUMN])
        coverage = float(aligned.notna().all(axis=1).mean()) if len(aligned) else 0.0
        result.attrs.setdefault("history_coverage", {})[table] = coverage
        if coverage < min_coverage:
            logger.warning(
                "%s covers the history window of only %.1f%% of customers (minimum %.0f%%); "
                "its features %s are left out, because missing history would stand in for "
                "churn",
                table,
                100 * coverage,
                100 * min_coverage,
                list(aligned.columns),
            )
            continue
        for column in aligned.columns:
            result[column] = aligned[column].to_numpy(dtype="float64")
    logger.info(
        "customer 360: %d customers, %d features, snapshot %s",
        len(result),
        result.shape[1] - 3,
        pd.Timestamp(snapshot).date(),
    )
    return result


def feature_columns(customer_360: pd.DataFrame) -> list[str]:
    """Return the feature columns of a customer 360 table (all but id and target)."""
    return [
        column
        for column in customer_360.columns
        if column not in (ID_COLUMN, DURATION_COLUMN, EVENT_COLUMN)
    ]
