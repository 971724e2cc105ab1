"""Batch seasonal-decomposition detector: STL residuals with a MAD threshold."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import acf

from risk_assets.anomaly.streaming import MAD_TO_SIGMA
from risk_assets.anomaly.validation import as_finite_series, parse_timestamps

logger = logging.getLogger(__name__)

MIN_DAILY_AUTOCORRELATION = 0.3


def as_timestamps(timestamps: pd.Series | pd.DatetimeIndex, n_values: int) -> pd.Series:
    """Convert ``timestamps`` to datetimes and check them against ``n_values`` values.

    Timestamps that go back in time are logged, not rejected: the NAB file
    ``realKnownCause/machine_temperature_system_failure.csv`` steps back one hour once.

    Raises:
        ValueError: If the lengths differ, a timestamp is missing or cannot be parsed,
            or the timestamps mix time zones.
    """
    if len(timestamps) != n_values:
        raise ValueError(
            f"timestamps has {len(timestamps)} entries but values has {n_values}; "
            "pass one timestamp per value."
        )
    times = parse_timestamps(timestamps)
    backward = np.flatnonzero(times.diff() < pd.Timedelta(0))
    if len(backward):
        logger.warning(
            "timestamps go back in time at %d of %d steps, first at position %d; sort the "
            "series by time, or the detected period may be wrong",
            len(backward),
            n_values - 1,
            int(backward[0]),
        )
    return times


def detect_daily_period(
    timestamps: pd.Series | pd.DatetimeIndex,
    values: np.ndarray,
    min_autocorrelation: float = MIN_DAILY_AUTOCORRELATION,
) -> int | None:
    """Return the number of points per day when the series has a daily cycle, else None.

    The period is one day divided by the median sampling step. It is used only when the
    sample autocorrelation at that lag is at least ``min_autocorrelation`` and the data
    covers at least two periods.

    Raises:
        ValueError: If ``values`` contains NaN or infinite values or the timestamps do
            not match them (see :func:`as_timestamps`).
    """
    series = as_finite_series(values, "values", min_length=0)
    times = as_timestamps(timestamps, len(series))
    return _daily_period(times, series, min_autocorrelation)


def _daily_period(times: pd.Series, series: np.ndarray, min_autocorrelation: float) -> int | None:
    step = times.diff().median()
    if pd.isna(step) or step.total_seconds() <= 0:
        return None
    period = int(round(86400 / step.total_seconds()))
    if period < 2 or len(series) < 2 * period or np.std(series) == 0:
        return None
    correlation = float(acf(series, nlags=period, fft=True)[period])
    return period if correlation >= min_autocorrelation else None


class SeasonalMadDetector:
    """Robust STL decomposition; points whose residual is far from the median are anomalies.

    The score is ``|residual - median| / (1.4826 * MAD)`` over the whole series, so this
    detector is not causal and suits batch scoring of a finished window of data.

    Args:
        period: Seasonal period in points, or None to detect a daily cycle from the
            timestamps (no seasonal term when none is found).
        threshold: Flag points whose score is above this many robust standard deviations.
        seasonal_smoother: STL seasonal smoother length (odd, at least 7).
    """

    name = "stl_mad"

    def __init__(
        self, period: int | None = None, threshold: float = 4.0, seasonal_smoother: int = 13
    ) -> None:
        if period is not None and period < 2:
            raise ValueError(f"STL period must be at least 2 points or None, got {period}.")
        if threshold <= 0:
            raise ValueError(f"threshold must be positive (in robust sigmas), got {threshold}.")
        if seasonal_smoother < 7 or seasonal_smoother % 2 == 0:
            raise ValueError(
                f"seasonal_smoother must be an odd integer >= 7, got {seasonal_smoother}."
            )
        self.period = period
        self.threshold = threshold
        self.seasonal_smoother = seasonal_smoother

    def residuals(self, timestamps: pd.Series, values: np.ndarray) -> np.ndarray:
        """Return the series minus its trend and seasonal components.

        Raises:
            ValueError: If ``values`` is empty, not 1-D or contains NaN or infinite
                values, or the timestamps do not match it (see :func:`as_timestamps`).
        """
        series = as_finite_series(values, "values")
        times = as_timestamps(timestamps, len(series))
        period = self.period or _daily_period(times, series, MIN_DAILY_AUTOCORRELATION)
        if period is None or len(series) < 2 * period:
            # No usable cycle: a centered rolling median replaces the trend.
            window = max(3, min(len(series) // 10, 101))
            trend = pd.Series(series).rolling(window, center=True, min_periods=1).median()
            return series - trend.to_numpy()
        logger.debug("STL with period %d on %d points", period, len(series))
        # NOTE: with statsmodels' default smoother of 7, a single spike in a 12-cycle
        # test series ended up in the seasonal component; 13 keeps it in the residual.
        stl = STL(series, period=period, seasonal=self.seasonal_smoother, robust=True)
        return np.asarray(stl.fit().resid, dtype=float)

    def score(self, timestamps: pd.Series, values: np.ndarray) -> np.ndarray:
        """Return the robust z-score of each point's STL residual."""
        residual = self.residuals(timestamps, values)
        center = np.median(residual)
        spread = MAD_TO_SIGMA * np.median(np.abs(residual - center))
        if spread <= 0:
            spread = float(np.std(residual)) or 1.0
        return np.abs(residual - center) / spread

    def flag(self, scores: np.ndarray) -> np.ndarray:
        """Return True where a score is above the threshold."""
        return np.asarray(scores) > self.threshold
