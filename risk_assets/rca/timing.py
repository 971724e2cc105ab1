"""Checks on the times and periods that root-cause analysis functions receive."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from risk_assets.rca.errors import RcaError


def align_time(value, index: pd.Index, label: str) -> pd.Timestamp:
    """Return ``value`` as a Timestamp that compares with the times in ``index``.

    Args:
        value: A time, or text pandas can read as one.
        index: Times it will be compared with.
        label: Name of the value in error messages, such as ``incident INC1: start``.

    Raises:
        RcaError: The value is missing or not a time, or exactly one of the value and
            ``index`` carries a time zone.
    """
    try:
        moment = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise RcaError(f"{label}={value!r} is not a time ({error}).") from error
    if pd.isna(moment):
        raise RcaError(f"{label} is missing; give its time.")
    zone = getattr(index, "tz", None)
    if (moment.tz is None) != (zone is None):
        raise RcaError(
            f"{label}={moment} and the data's timestamps (time zone {zone}) differ in "
            "having a time zone; convert both to UTC, or both to naive UTC."
        )
    return moment


def check_periods(**periods: pd.Timedelta) -> None:
    """Raise RcaError naming each period that is not a positive length of time."""
    for name, period in periods.items():
        if not isinstance(period, timedelta):
            raise RcaError(
                f"{name}={period!r} is not a period; pass a pd.Timedelta such as "
                "pd.Timedelta('30min')."
            )
        if pd.Timedelta(period) <= pd.Timedelta(0):
            raise RcaError(f"{name}={period} is invalid; use a positive period.")
