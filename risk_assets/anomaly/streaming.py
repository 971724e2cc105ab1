"""Causal (online) anomaly scores for one metric series.

Every function here is causal: the score of point ``t`` uses only points ``0..t``. That
is what streaming use needs and what the Numenta Anomaly Benchmark (NAB) expects.

Two detectors share one post-processing step:

- :class:`ValueNoveltyDetector` scores a point by its distance to the nearest value seen
  before it (and the same for a trailing mean), in units of the value range of the
  warm-up part. A point is anomalous when the series reaches a level it has never
  visited.
- :class:`RobustDeviationDetector` scores a point by robust z-scores (median and MAD of
  a trailing window) of its level, first difference and optional seasonal difference,
  and turns them into a causal percentile surprise against the file's own history.
- :func:`suppress_repeats` keeps a score only when it is above every score of the
  previous ``suppression`` points. NAB counts only the first detection in a window and
  charges every later detection outside it as a false positive.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.anomaly.validation import as_finite_series, require_int

MAD_TO_SIGMA = 1.4826  # MAD times this estimates the standard deviation of Gaussian data.


def _validate_series(values: np.ndarray, name: str = "values") -> np.ndarray:
    return as_finite_series(values, name, min_length=0)


def warmup_length(n_points: int, fraction: float = 0.15, max_points: int = 750) -> int:
    """Return the number of leading points used to learn a series' scale.

    The defaults match NAB's probationary period, whose points are never scored.
    """
    return max(1, int(min(np.floor(fraction * n_points), max_points)))


def suppress_repeats(scores: np.ndarray, suppression: int) -> np.ndarray:
    """Zero every score that is not above all scores of the previous ``suppression`` points.

    Args:
        scores: Scores, oldest first.
        suppression: Look-back length in points; 0 returns the scores unchanged.

    Returns:
        A copy of ``scores`` with repeats set to 0.

    Raises:
        ValueError: If ``suppression`` is negative.
    """
    values = _validate_series(scores, "scores")
    if suppression < 0:
        raise ValueError(f"suppression must be >= 0 points, got {suppression}.")
    if suppression == 0:
        return values.copy()
    previous_max = pd.Series(values).shift(1).rolling(suppression, min_periods=1).max()
    previous = previous_max.to_numpy()
    keep = np.isnan(previous) | (values > previous)
    return np.where(keep, values, 0.0)


def nearest_seen_distance(values: np.ndarray, min_history: int = 10) -> np.ndarray:
    """Return each point's distance to the nearest earlier value (0 for the first points).

    Args:
        values: The series, oldest first.
        min_history: Points that must precede a point before it gets a distance, at
            least 1.
    """
    series = _validate_series(values)
    require_int(min_history, "min_history", minimum=1)
    seen: list[float] = []
    distances = np.zeros(len(series))
    for index, value in enumerate(series):
        if len(seen) >= min_history:
            position = bisect.bisect_left(seen, value)
            distance = np.inf
            if position < len(seen):
                distance = seen[position] - value
            if position > 0:
                distance = min(distance, value - seen[position - 1])
            distances[index] = distance
        bisect.insort(seen, value)
    return distances


class ValueNoveltyDetector:
    """Causal detector of values the series has never come close to before.

    The raw score is the distance to the nearest earlier value plus ``smoothed_weight``
    times the same distance for the trailing mean of the last ``smoothing_window``
    points, both divided by the value range of the warm-up part. The mean term catches
    shifts that stay inside the range of single values. Repeat suppression follows.

    Args:
        suppression: Look-back of :func:`suppress_repeats`, in points.
        smoothing_window: Trailing-mean length in points, or 0 for no mean term.
        smoothed_weight: Weight of the mean term.
        min_history: Points seen before the first non-zero score.
    """

    name = "value_novelty"

    def __init__(
        self,
        suppression: int = 100,
        smoothing_window: int = 40,
        smoothed_weight: float = 2.0,
        min_history: int = 10,
    ) -> None:
        if smoothing_window < 0 or smoothed_weight < 0:
            raise ValueError(
                f"smoothing_window ({smoothing_window}) and smoothed_weight "
                f"({smoothed_weight}) must be >= 0."
            )
        require_int(suppression, "suppression", minimum=0)
        require_int(smoothing_window, "smoothing_window", minimum=0)
        require_int(min_history, "min_history", minimum=1)
        self.suppression = suppression
        self.smoothing_window = smoothing_window
        self.smoothed_weight = smoothed_weight
        self.min_history = min_history

    def components(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the scaled novelty of the values and of their trailing mean.

        Raises:
            ValueError: If ``values`` is empty, not 1-D or contains NaN or infinite values.
        """
        series = as_finite_series(values, "values")
        warmup = series[: warmup_length(len(series))]
        value_range = float(warmup.max() - warmup.min())
        if value_range <= 0:
            # A constant warm-up has no range; its level is the next best scale.
            value_range = float(abs(warmup.mean())) or 1.0
        value_term = nearest_seen_distance(series, self.min_history) / value_range
        if self.smoothing_window == 0:
            return value_term, np.zeros(len(series))
        mean = pd.Series(series).rolling(self.smoothing_window, min_periods=1).mean()
        mean_term = nearest_seen_distance(mean.to_numpy(), self.min_history) / value_range
        return value_term, mean_term

    def score(self, values: np.ndarray) -> np.ndarray:
        """Return a non-negative causal anomaly score per point."""
        value_term, mean_term = self.components(values)
        return suppress_repeats(value_term + self.smoothed_weight * mean_term, self.suppression)


def trailing_robust_z(series: pd.Series, window: int, min_periods: int) -> np.ndarray:
    """Return ``|x - median| / (1.4826 * MAD)`` against the previous ``window`` points.

    A flat history has MAD 0, so the scale has a floor of 1 % of the trailing range (and
    1e-9 for a constant history). Points with too little history get 0.
    """
    history = series.shift(1)
    rolling = history.rolling(window, min_periods=min_periods)
    center = rolling.median()
    deviation = (series - center).abs()
    spread = deviation.shift(1).rolling(window, min_periods=min_periods).median() * MAD_TO_SIGMA
    floor = np.maximum(0.01 * (rolling.max() - rolling.min()).to_numpy(), 1e-9)
    ratio = deviation.to_numpy() / np.maximum(spread.to_numpy(), floor)
    return np.nan_to_num(ratio, nan=0.0)


def causal_percentile_surprise(raw_scores: np.ndarray, min_history: int = 100) -> np.ndarray:
    """Return ``-log`` of the share of earlier raw scores at or above each raw score.

    A point above every earlier score of the series gets ``log(n + 1)`` after ``n``
    points. Points with fewer than ``min_history`` predecessors get 0.
    """
    scores = _validate_series(raw_scores, "raw_scores")
    seen: list[float] = []
    surprise = np.zeros(len(scores))
    for index, value in enumerate(scores):
        count = len(seen)
        if count >= min_history:
            at_or_above = count - bisect.bisect_left(seen, value)
            surprise[index] = -np.log((at_or_above + 1) / (count + 1))
        bisect.insort(seen, value)
    return surprise


@dataclass(frozen=True)
class RobustDeviationConfig:
    """Settings of :class:`RobustDeviationDetector`, lengths in points.

    Attributes:
        window: Trailing window of the robust z-scores.
        season: Seasonal period, or None for no seasonal term.
        suppression: Look-back of :func:`suppress_repeats`.
        min_periods: History needed before a z-score is produced.
    """

    window: int = 1000
    season: int | None = None
    suppression: int = 200
    min_periods: int = 20


class RobustDeviationDetector:
    """Causal robust z-score detector with percentile calibration.

    The raw score is the largest robust z-score of the level, the first difference and
    (when ``season`` is set) the difference from one period earlier. The output is its
    causal percentile surprise, after repeat suppression.

    Args:
        config: Detector settings.
    """

    name = "robust_deviation"

    def __init__(self, config: RobustDeviationConfig | None = None) -> None:
        self.config = config or RobustDeviationConfig()
        if self.config.window < 2 or self.config.min_periods < 2:
            raise ValueError(
                f"window ({self.config.window}) and min_periods ({self.config.min_periods}) "
                "must both be at least 2 points."
            )
        if self.config.season is not None and self.config.season < 1:
            raise ValueError(
                f"season must be a positive number of points or None, got {self.config.season}."
            )

    def raw_scores(self, values: np.ndarray) -> np.ndarray:
        """Return the largest robust z-score of the point's components."""
        config = self.config
        frame = pd.Series(_validate_series(values))
        components = [
            trailing_robust_z(frame, config.window, config.min_periods),
            trailing_robust_z(frame.diff().fillna(0.0), config.window, config.min_periods),
        ]
        if config.season is not None:
            seasonal = (frame - frame.shift(config.season)).fillna(0.0)
            components.append(trailing_robust_z(seasonal, config.window, config.min_periods))
        return np.max(components, axis=0)

    def score(self, values: np.ndarray) -> np.ndarray:
        """Return a non-negative causal anomaly score per point."""
        surprise = causal_percentile_surprise(self.raw_scores(values))
        return suppress_repeats(surprise, self.config.suppression)
