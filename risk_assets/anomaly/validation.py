"""Input checks shared by the anomaly detectors and scorers.

Each check raises ``ValueError`` with the argument name, the count of bad entries, the
first bad entry and what to do about it, so a caller never receives NaN scores instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd


def as_float_array(values, name: str) -> np.ndarray:
    """Convert ``values`` to a float array, naming ``name`` when that fails."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be numeric, but the conversion to float failed ({error}); "
            "encode or drop the non-numeric entries first."
        ) from error


def require_finite(array: np.ndarray, name: str) -> None:
    """Raise if ``array`` contains NaN or infinite entries."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    position = first[0] if len(first) == 1 else first
    raise ValueError(
        f"{name} has {int(bad.sum())} of {bad.size} values not finite (NaN or infinite). "
        f"The first, {array[first]}, is at position {position}; drop or fill them first."
    )


def as_finite_series(values, name: str, min_length: int = 1) -> np.ndarray:
    """Return ``values`` as a 1-D float array of at least ``min_length`` finite values."""
    series = as_float_array(values, name)
    if series.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array with one value per point, got shape {series.shape}."
        )
    if len(series) < min_length:
        raise ValueError(
            f"{name} has {len(series)} values, fewer than the {min_length} required; "
            "pass a longer series."
        )
    require_finite(series, name)
    return series


def require_int(value, name: str, minimum: int) -> None:
    """Raise unless ``value`` is an integer (not a bool) of at least ``minimum``."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def parse_timestamps(timestamps: Sequence | pd.Series | pd.DatetimeIndex) -> pd.Series:
    """Convert ``timestamps`` to a datetime Series with a fresh index.

    Raises:
        ValueError: A timestamp cannot be parsed, the values mix time zones, or one is
            missing (NaT).
    """
    try:
        times = pd.to_datetime(pd.Series(timestamps).reset_index(drop=True))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"timestamps cannot be read as datetimes ({error}); convert them with "
            "pd.to_datetime(..., utc=True) if they mix time zones."
        ) from error
    missing = times.isna()
    if missing.any():
        raise ValueError(
            f"timestamps has {int(missing.sum())} missing values (NaT), the first at "
            f"position {int(np.flatnonzero(missing)[0])}; drop those points first."
        )
    return times
