"""Point-in-time window aggregates over event streams keyed by an entity.

All functions take events sorted or unsorted, with an integer time in seconds, and
return one value per event computed only from *earlier* events of the same key: those
with time strictly below ``t - lag``. Nothing at or after the event's own time (minus
the lag) is ever read, so adding later events cannot change earlier results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class KeyedTimeIndex:
    """Events sorted by (key, time), with a search key per event.

    Attributes:
        order: Positions of the input events in sorted order.
        codes: Key code of each sorted event.
        times: Time (seconds, shifted to start at 0) of each sorted event.
        composite: ``code * span + time``, increasing along the sorted events.
        span: Width reserved for each key's times.
        starts: Sorted position where each sorted event's key begins.
    """

    order: np.ndarray
    codes: np.ndarray
    times: np.ndarray
    composite: np.ndarray
    span: int
    starts: np.ndarray

    @classmethod
    def build(cls, keys: pd.Series | np.ndarray, seconds: np.ndarray) -> KeyedTimeIndex:
        """Index events by key and time."""
        codes, _ = pd.factorize(np.asarray(keys), use_na_sentinel=False)
        seconds = np.asarray(seconds, dtype=np.int64)
        shifted = seconds - (seconds.min() if seconds.size else 0)
        order = np.lexsort((shifted, codes))
        span = int(shifted.max() + 1) if seconds.size else 1
        sorted_codes = codes[order].astype(np.int64)
        sorted_times = shifted[order]
        composite = sorted_codes * span + sorted_times
        first_of_key = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
        starts = np.maximum.accumulate(np.where(first_of_key, np.arange(len(order)), 0))
        return cls(order, sorted_codes, sorted_times, composite, span, starts)

    def bounds(self, window_seconds: float | None, lag_seconds: int = 0) -> tuple:
        """Sorted-position range [lo, hi) of each sorted event's window."""
        upper = np.maximum(self.times - lag_seconds, 0)
        hi = np.searchsorted(self.composite, self.codes * self.span + upper, side="left")
        if window_seconds is None:
            return self.starts.copy(), hi
        lower = np.maximum(self.times - lag_seconds - int(window_seconds), 0)
        lo = np.searchsorted(self.composite, self.codes * self.span + lower, side="left")
        return lo, hi

    def unsort(self, values: np.ndarray) -> np.ndarray:
        """Return per-event values in the input order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def window_sum(
        self, values: np.ndarray, window_seconds: float | None, lag_seconds: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Count and sum of ``values`` over each event's window, in input order."""
        sorted_values = np.asarray(values, dtype=float)[self.order]
        cumulative = np.r_[0.0, np.cumsum(sorted_values)]
        lo, hi = self.bounds(window_seconds, lag_seconds)
        count = (hi - lo).astype(float)
        total = cumulative[hi] - cumulative[lo]
        return self.unsort(count), self.unsort(total)

    def previous_time_gap(self) -> np.ndarray:
        """Seconds since the key's previous event (NaN for its first), input order."""
        lo, hi = self.bounds(None, 0)
        gap = np.full(len(self.order), np.nan)
        has_previous = hi > lo
        gap[has_previous] = self.times[has_previous] - self.times[hi[has_previous] - 1]
        return self.unsort(gap)

    def last_n_stats(self, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and max of ``values`` over the key's last ``n`` earlier events."""
        sorted_values = np.asarray(values, dtype=float)[self.order]
        lo, hi = self.bounds(None, 0)
        lo = np.maximum(lo, hi - n)
        cumulative = np.r_[0.0, np.cumsum(sorted_values)]
        count = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (cumulative[hi] - cumulative[lo]) / count
        maximum = np.full(len(hi), np.nan)
        for offset in range(1, n + 1):
            position = hi - offset
            valid = position >= lo
            candidate = np.where(valid, sorted_values[np.clip(position, 0, None)], np.nan)
            maximum = np.fmax(maximum, candidate)
        return self.unsort(mean), self.unsort(maximum)


def first_occurrence(keys: pd.Series, seconds: np.ndarray) -> np.ndarray:
    """1.0 where no earlier event has the same key (events tied in time all count as first)."""
    index = KeyedTimeIndex.build(keys, seconds)
    count, _ = index.window_sum(np.zeros(len(index.order)), None, 0)
    return (count == 0).astype(float)
