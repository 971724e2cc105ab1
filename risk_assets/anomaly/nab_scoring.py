"""Numenta Anomaly Benchmark (NAB) scoring.

NAB scores a detector per file from its binary detections. Each labelled anomaly window
earns the reward of its earliest detection, a scaled sigmoid of the detection's position
in the window (1.0 at the window start, near 0 at its end). A window with no detection
costs ``fn_weight``. Every detection outside a window costs ``fp_weight`` times a scaled
sigmoid of its distance past the previous window (the full ``fp_weight`` when no window
came before it). Detections in the probationary period (the first 15 % of the file, at
most 750 points) are ignored. The corpus score is normalized so that the null detector
(no detections) scores 0 and the perfect detector (one detection at each window start)
scores 100.

The rules follow the NAB v1 scorer (Lavin and Ahmad, "Evaluating Real-time Anomaly
Detection Algorithms", ICMLA 2015) and its ``sweeper.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_assets.anomaly.validation import as_finite_series, as_float_array, parse_timestamps

logger = logging.getLogger(__name__)

PROBATIONARY_PERCENT = 0.15
PROBATIONARY_MAX_POINTS = 750  # 0.15 * 5000, the cap NAB applies to long files.


@dataclass(frozen=True)
class CostProfile:
    """Weights of one NAB application profile.

    Attributes:
        name: Profile name as NAB spells it.
        tp_weight: Multiplier of the reward for a detected window.
        fp_weight: Multiplier of the (negative) score of a false positive.
        fn_weight: Cost of a window with no detection.
    """

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": CostProfile(
        "reward_low_FP_rate", tp_weight=1.0, fp_weight=0.22, fn_weight=1.0
    ),
    "reward_low_FN_rate": CostProfile(
        "reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11, fn_weight=2.0
    ),
}


def scaled_sigmoid(relative_position: float | np.ndarray) -> np.ndarray:
    """Compute NAB's scaled sigmoid reward for a position relative to a window.

    Args:
        relative_position: -1 at a window's start, 0 at its end, positive past it (in
            window widths).

    Returns:
        Values in (-1, 1): positive inside a window, negative after it, and exactly -1
        more than three window widths past the end.
    """
    position = np.asarray(relative_position, dtype=float)
    value = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position > 3.0, -1.0, value)


def probationary_length(n_points: int) -> int:
    """Return the number of leading points NAB ignores in a file of ``n_points``."""
    return int(min(math.floor(PROBATIONARY_PERCENT * n_points), PROBATIONARY_MAX_POINTS))


@dataclass
class FileLayout:
    """Per-point scoring context of one file, independent of the detector.

    Attributes:
        window_id: Index of the window each point falls in, or -1 outside windows.
        tp_reward: Unweighted reward of a detection at each point inside a window,
            normalized so that the window start earns 1.0.
        fp_shape: Unweighted (negative) score of a detection at each point outside a
            window.
        n_windows: Number of anomaly windows in the file.
        probation: Number of leading points that are never scored.
    """

    window_id: np.ndarray
    tp_reward: np.ndarray
    fp_shape: np.ndarray
    n_windows: int
    probation: int


def build_layout(timestamps: Sequence | pd.Series, windows: Iterable[Sequence]) -> FileLayout:
    """Map NAB anomaly windows onto the points of one file.

    A window covers the points whose timestamps lie between its start and end. A window
    that starts before the first point or ends after the last one therefore covers only
    the points inside the file, and a warning is logged. None of the windows in NAB v1's
    ``combined_windows.json`` does this. A window inside the probationary period stays
    in the count of windows, so it can only be missed.

    Args:
        timestamps: Point timestamps in increasing order. Tz-aware timestamps are
            compared in UTC, and then the windows must be tz-aware too.
        windows: ``[start, end]`` pairs (timestamps or strings), inclusive.

    Returns:
        The file's scoring layout.

    Raises:
        ValueError: If a timestamp or window bound is missing or unparseable, a window
            is not a ``[start, end]`` pair, ends before it starts, contains no point of
            the file, covers points that are not consecutive (unsorted timestamps), or
            overlaps another window, or if timestamps and windows mix tz-naive and
            tz-aware values.
    """
    parsed = parse_timestamps(timestamps)
    aware = parsed.dt.tz is not None
    times = _as_utc_naive(parsed)
    n_points = len(times)
    window_id = np.full(n_points, -1, dtype=int)
    tp_reward = np.zeros(n_points)
    fp_shape = np.full(n_points, -1.0)
    max_tp = float(scaled_sigmoid(-1.0))

    bounds: list[tuple[int, int]] = []
    for number, window in enumerate(windows):
        bounds.append(_window_bounds(times, aware, number, window))
    bounds.sort()
    for (left, right), (next_left, next_right) in zip(bounds, bounds[1:], strict=False):
        if next_left <= right:
            raise ValueError(
                f"Anomaly windows covering points {left}..{right} and {next_left}..{next_right} "
                "overlap or repeat; merge them into one window, because NAB rewards only "
                "the first detection in each window."
            )

    for index, (left, right) in enumerate(bounds):
        width = right - left + 1
        positions = np.arange(left, right + 1)
        window_id[left : right + 1] = index
        relative = -(right - positions + 1) / width
        tp_reward[left : right + 1] = scaled_sigmoid(relative) / max_tp
        next_left = bounds[index + 1][0] if index + 1 < len(bounds) else n_points
        after = np.arange(right + 1, next_left)
        if len(after):
            # NAB divides by (width - 1); a one-point window would divide by zero.
            denominator = max(width - 1, 1)
            fp_shape[right + 1 : next_left] = scaled_sigmoid(np.abs(right - after) / denominator)

    return FileLayout(
        window_id=window_id,
        tp_reward=tp_reward,
        fp_shape=fp_shape,
        n_windows=len(bounds),
        probation=probationary_length(n_points),
    )


def _as_utc_naive(times: pd.Series) -> np.ndarray:
    if times.dt.tz is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times.to_numpy(dtype="datetime64[ns]")


def _window_bounds(
    times: np.ndarray, aware: bool, number: int, window: Sequence
) -> tuple[int, int]:
    """Return the first and last point of window ``number`` after checking it."""
    if isinstance(window, str) or len(window) != 2:
        raise ValueError(f"Anomaly window {number} must be a [start, end] pair, got {window!r}.")
    try:
        start, end = (pd.Timestamp(bound) for bound in window)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Anomaly window {number} {window!r} has a bound that is not a timestamp ({error})."
        ) from error
    if pd.isna(start) or pd.isna(end):
        raise ValueError(f"Anomaly window {number} {window!r} has a missing bound (NaT).")
    for bound in (start, end):
        if (bound.tz is not None) != aware:
            raise ValueError(
                f"Anomaly window {number} {window!r} is tz-{'aware' if bound.tz else 'naive'} "
                f"but the timestamps are tz-{'aware' if aware else 'naive'}; give both a "
                "time zone or neither."
            )
    if aware:
        start, end = (b.tz_convert("UTC").tz_localize(None) for b in (start, end))
    if end < start:
        raise ValueError(
            f"Anomaly window {number} [{window[0]}, {window[1]}] ends before it starts; "
            "swap its bounds."
        )
    inside = np.flatnonzero((times >= start.to_datetime64()) & (times <= end.to_datetime64()))
    if len(inside) == 0:
        raise ValueError(
            f"Anomaly window [{window[0]}, {window[1]}] contains no timestamp of the series, "
            "so check that the labels belong to this file."
        )
    left, right = int(inside[0]), int(inside[-1])
    if right - left + 1 != len(inside):
        backward = int(np.flatnonzero(np.diff(times) < np.timedelta64(0))[0]) + 1
        raise ValueError(
            f"Anomaly window [{window[0]}, {window[1]}] covers {len(inside)} points that are "
            f"not consecutive, because the timestamps are not in increasing order (the first "
            f"step back is at position {backward}); sort the file by timestamp."
        )
    if len(times) and (start < times[0] or end > times[-1]):
        logger.warning(
            "Anomaly window [%s, %s] reaches past the data (%s to %s) and is cut to the "
            "%d points inside it",
            window[0],
            window[1],
            times[0],
            times[-1],
            len(inside),
        )
    return left, right


@dataclass(frozen=True)
class FileScore:
    """Raw NAB score of one file under one profile, with its confusion counts."""

    score: float
    tp: int
    fp: int
    fn: int


def score_detections(layout: FileLayout, detections: np.ndarray, profile: CostProfile) -> FileScore:
    """Score binary detections of one file under ``profile``.

    Args:
        layout: The file's layout from :func:`build_layout`.
        detections: Boolean array (or 0 and 1), one entry per point.
        profile: Cost profile.

    Returns:
        The raw score (not normalized) and counts of detected windows, false positives
        and missed windows.

    Raises:
        ValueError: If ``detections`` does not have one entry per point or contains a
            value other than True, False, 0 or 1.
    """
    detections = np.asarray(detections)
    if detections.dtype != bool:
        numeric = as_float_array(detections, "detections")
        invalid = ~np.isin(numeric, (0.0, 1.0))
        if invalid.any():
            first = int(np.flatnonzero(invalid.ravel())[0])
            raise ValueError(
                f"detections must be booleans (or 0 and 1), but {int(invalid.sum())} entries "
                f"are not, e.g. {numeric.ravel()[first]} at position {first}; turn scores "
                "into detections first, e.g. scores >= threshold."
            )
        detections = numeric.astype(bool)
    if detections.shape != layout.window_id.shape:
        raise ValueError(
            f"Expected {layout.window_id.shape[0]} detections (one per point), "
            f"got shape {detections.shape}."
        )
    active = detections.copy()
    active[: layout.probation] = False
    inside = active & (layout.window_id >= 0)
    outside = active & (layout.window_id < 0)

    fp_score = profile.fp_weight * float(layout.fp_shape[outside].sum())
    tp_score = 0.0
    detected = 0
    for window in np.unique(layout.window_id[inside]):
        first = int(np.flatnonzero(inside & (layout.window_id == window))[0])
        tp_score += profile.tp_weight * float(layout.tp_reward[first])
        detected += 1
    missed = layout.n_windows - detected
    score = tp_score + fp_score - profile.fn_weight * missed
    return FileScore(score=score, tp=detected, fp=int(outside.sum()), fn=missed)


def null_score(n_windows: int, profile: CostProfile) -> float:
    """Return the raw corpus score of a detector that never fires."""
    return -profile.fn_weight * n_windows


def perfect_score(n_windows: int, profile: CostProfile) -> float:
    """Return the raw corpus score of a detector that fires once at each window start."""
    return profile.tp_weight * n_windows


def normalize_score(raw: float, n_windows: int, profile: CostProfile) -> float:
    """Scale a raw corpus score so that null scores 0 and perfect scores 100.

    Raises:
        ValueError: If the corpus has no windows, so the scale is undefined.
    """
    if n_windows <= 0:
        raise ValueError("NAB normalization needs at least one anomaly window in the corpus.")
    low = null_score(n_windows, profile)
    high = perfect_score(n_windows, profile)
    return 100.0 * (raw - low) / (high - low)


def score_corpus(
    layouts: Mapping[str, FileLayout],
    anomaly_scores: Mapping[str, np.ndarray],
    threshold: float,
    profile: CostProfile,
) -> float:
    """Compute the normalized NAB score of per-point scores at a fixed threshold.

    A point is a detection when its anomaly score is greater than or equal to
    ``threshold``, as in NAB.

    Raises:
        ValueError: If ``threshold`` is NaN, or ``layouts`` is empty, or a file's scores
            are missing, of the wrong length or not finite.
    """
    if math.isnan(threshold):
        raise ValueError(
            "threshold is NaN, so no score would count as a detection; pass a number "
            "(inf means no detections)."
        )
    checked = _checked_scores(layouts, anomaly_scores)
    raw = 0.0
    n_windows = 0
    for name, layout in layouts.items():
        raw += score_detections(layout, checked[name] >= threshold, profile).score
        n_windows += layout.n_windows
    return normalize_score(raw, n_windows, profile)


def _checked_scores(
    layouts: Mapping[str, FileLayout], anomaly_scores: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Return each file's scores as floats after checking presence, length and finiteness."""
    if not layouts:
        raise ValueError("layouts is empty; pass the layout of at least one NAB file.")
    checked: dict[str, np.ndarray] = {}
    for name, layout in layouts.items():
        if name not in anomaly_scores:
            raise ValueError(
                f"No anomaly scores for NAB file {name!r}; pass scores for every file in layouts."
            )
        scores = as_finite_series(
            anomaly_scores[name], f"anomaly scores of NAB file {name!r}", min_length=0
        )
        if len(scores) != len(layout.window_id):
            raise ValueError(
                f"NAB file {name!r} has {len(layout.window_id)} points but "
                f"{len(scores)} anomaly scores; pass one score per point."
            )
        checked[name] = scores
    return checked


def optimize_threshold(
    layouts: Mapping[str, FileLayout],
    anomaly_scores: Mapping[str, np.ndarray],
    profile: CostProfile,
) -> tuple[float, float]:
    """Find the threshold that maximizes the corpus score, sweeping every distinct score.

    The sweep lowers the threshold one distinct score value at a time and updates the
    raw score incrementally, so its cost is one sort of all points.

    Returns:
        ``(threshold, normalized_score)``. A threshold above every score (no
        detections) is a candidate too and is returned as ``inf``.

    Raises:
        ValueError: If ``layouts`` is empty or has no windows, or a file's scores are
            missing, of the wrong length or not finite.
    """
    checked = _checked_scores(layouts, anomaly_scores)
    values: list[np.ndarray] = []
    fp_costs: list[np.ndarray] = []
    tp_rewards: list[np.ndarray] = []
    window_keys: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    n_windows = 0
    for file_index, (name, layout) in enumerate(layouts.items()):
        scores = checked[name]
        keep = np.arange(len(scores)) >= layout.probation
        values.append(scores[keep])
        in_window = layout.window_id[keep] >= 0
        fp_costs.append(np.where(in_window, 0.0, profile.fp_weight * layout.fp_shape[keep]))
        tp_rewards.append(np.where(in_window, profile.tp_weight * layout.tp_reward[keep], 0.0))
        key = np.where(in_window, n_windows + layout.window_id[keep], -1)
        window_keys.append(key)
        positions.append(np.flatnonzero(keep) + file_index * 10**9)
        n_windows += layout.n_windows

    all_values = np.concatenate(values)
    order = np.argsort(-all_values, kind="stable")
    all_values = all_values[order]
    all_fp = np.concatenate(fp_costs)[order]
    all_tp = np.concatenate(tp_rewards)[order]
    all_keys = np.concatenate(window_keys)[order]
    all_positions = np.concatenate(positions)[order]

    raw = null_score(n_windows, profile)
    best_raw, best_threshold = raw, math.inf
    earliest = np.full(n_windows, np.iinfo(np.int64).max, dtype=np.int64)
    window_reward = np.zeros(n_windows)
    for i in range(len(all_values)):
        key = all_keys[i]
        if key < 0:
            raw += all_fp[i]
        elif all_positions[i] < earliest[key]:
            if earliest[key] == np.iinfo(np.int64).max:
                raw += profile.fn_weight
            raw += all_tp[i] - window_reward[key]
            earliest[key] = all_positions[i]
            window_reward[key] = all_tp[i]
        # Evaluate only once every point with this score value is active.
        is_last_of_value = i + 1 == len(all_values) or all_values[i + 1] != all_values[i]
        if is_last_of_value and raw > best_raw:
            best_raw, best_threshold = raw, float(all_values[i])
    return best_threshold, normalize_score(best_raw, n_windows, profile)
