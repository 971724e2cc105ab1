"""Metric evidence for root-cause ranking: deviation from baseline and alert correlation.

Metrics arrive in the canonical long layout (``timestamp``, ``service``, ``metric``,
``value``). A metric's deviation is measured in the direction that means trouble
(latency, error rate and CPU up, availability down, request counts either way)
against the mean of a baseline window before the incident, in units of the metric's
normal variation.

An availability or error rate of a service that also reports a request count is judged
by its failed calls instead, against the service's normal failure rate
(``failure_counts``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from risk_assets.rca.errors import RcaError
from risk_assets.rca.failure_counts import (
    COUNT_METRIC_PREFIXES,
    check_reference_failures,
    count_failures,
    failure_count_z,
)

METRIC_COLUMNS = ["timestamp", "service", "metric", "value"]
# Sign of a harmful change per metric-name prefix: +1 up, -1 down, 0 either way.
METRIC_DIRECTIONS = {
    "latency": 1,
    "error": 1,
    "failure": 1,
    "cpu": 1,
    "memory": 1,
    "availability": -1,
    "requests": 0,
}
_TINY = 1e-9
# Deviates closer to 0 than this give no usable equivalent scale.
_MIN_SCALED_Z = 0.01


def metric_direction(metric: str) -> int:
    """Return +1, -1 or 0: the direction in which ``metric`` moves when a service degrades."""
    name = metric.lower()
    for prefix, sign in METRIC_DIRECTIONS.items():
        if name.startswith(prefix):
            return sign
    return 0


def pivot_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Pivot long metrics to one column per ``(service, metric)``, indexed by timestamp.

    Metrics already in that wide form are returned as they are. Rows repeated with the
    same value (the same data loaded twice) count once.

    Raises:
        RcaError: A required column is missing, a value is not a finite number, the
            timestamps are not datetimes, or one ``(timestamp, service, metric)`` has
            different values.
    """
    if isinstance(metrics.columns, pd.MultiIndex):
        return metrics
    missing = set(METRIC_COLUMNS) - set(metrics.columns)
    if missing:
        raise RcaError(
            f"service_metrics is missing columns {sorted(missing)}; expected {METRIC_COLUMNS}."
        )
    keys = ["timestamp", "service", "metric"]
    repeated = metrics[metrics.duplicated(keys, keep=False)]
    if len(repeated):
        values = repeated.groupby(keys)["value"].nunique()
        conflicting = values[values > 1]
        if len(conflicting):
            timestamp, service, metric = conflicting.index[0]
            raise RcaError(
                f"service_metrics has {len(conflicting)} (timestamp, service, metric) keys "
                f"with different values, such as {metric} of {service!r} at {timestamp}. "
                "Combine replicas before ranking: sum call counts and weigh shares by calls."
            )
    values = pd.to_numeric(metrics["value"], errors="coerce")
    unreadable = values.isna() & metrics["value"].notna()
    infinite = np.isinf(values)
    if unreadable.any() or infinite.any():
        bad = metrics[unreadable | infinite]
        first = bad.iloc[0]
        raise RcaError(
            f"service_metrics has {len(bad)} values that are not finite numbers, such as "
            f"{first['value']!r} for {first['metric']} of {first['service']!r} at "
            f"{first['timestamp']}. Load metrics with load_table, which quarantines them, "
            "or remove them."
        )
    if len(metrics) and not pd.api.types.is_datetime64_any_dtype(metrics["timestamp"]):
        raise RcaError(
            f"service_metrics timestamps are {metrics['timestamp'].dtype}, not datetimes; "
            "convert them with pd.to_datetime or load them with load_table."
        )
    wide = metrics.assign(value=values).pivot_table(
        index="timestamp", columns=["service", "metric"], values="value", aggfunc="mean"
    )
    return wide.sort_index()


def reference_scales(reference: pd.DataFrame) -> pd.Series:
    """Return the standard deviation of each ``(service, metric)`` in a normal period.

    Args:
        reference: Metrics from a period without incidents, long or wide
            (``pivot_metrics``).

    Returns:
        Standard deviation indexed by ``(service, metric)``; NaN where fewer than three
        values were observed.
    """
    wide = pivot_metrics(reference)
    scales = wide.std()
    scales[wide.count() < 3] = np.nan
    return scales


def reference_failures(
    reference: pd.DataFrame, units: Mapping[tuple[str, str], float] | None = None
) -> pd.DataFrame:
    """Count failed and all calls of each service in a normal period.

    Args:
        reference: Metrics from a period without incidents, long or wide
            (``pivot_metrics``).
        units: Unit (100 for percent, 1 for a fraction) of each share, decided on longer
            data with ``failure_counts.share_units``; shares not in it are decided here.

    Returns:
        Columns ``failures``, ``requests``, ``dispersion`` and ``unit`` indexed by
        ``(service, metric)``, one row per availability or error-rate metric of a service
        that also reports a request count.
    """
    return count_failures(pivot_metrics(reference), units)


def metric_deviations(
    wide: pd.DataFrame,
    services: list[str],
    incident_start: pd.Timestamp,
    baseline: pd.Timedelta,
    window: pd.Timedelta,
    reference_scale: pd.Series | None = None,
    statistic: str = "peak",
    failures: pd.DataFrame | None = None,
    failure_counts: bool = True,
) -> pd.DataFrame:
    """Measure how far each metric of each service moved after ``incident_start``.

    Args:
        wide: Output of ``pivot_metrics``.
        services: Services to measure.
        incident_start: First instant of the incident window.
        baseline: Length of the window before ``incident_start`` that sets the normal level.
        window: Length of the incident window.
        reference_scale: Optional normal standard deviation per ``(service, metric)`` from
            ``reference_scales``; without it the baseline window's deviation is used.
        statistic: ``"peak"`` scores the largest harmful deviation in the window,
            ``"mean"`` the mean deviation.
        failures: Optional failed and all calls per ``(service, metric)`` in a normal
            period, from ``reference_failures``. They are added to the baseline window's
            calls to set each service's normal failure rate, and set the share's unit
            and dispersion.
        failure_counts: Judge availability and error rates by their failed calls where
            the service reports a request count (``failure_counts.failure_count_z``);
            when False, by their spread alone.

    Returns:
        One row per measured metric: ``service``, ``metric``, ``baseline_value``,
        ``incident_value`` (the peak or mean value in the window), ``scale`` and ``z``.
        ``z`` is the harmful deviation in units of ``scale``, negative when the metric
        improved. For a failure share judged by its failed calls, ``scale`` is the
        spread that would give the same ``z`` (the usual scale when ``z`` is near 0).
        It is the peak row's scale for ``"peak"`` and the mean over the window for
        ``"mean"``.
        Metrics with no value in either window are left out.

    Raises:
        RcaError: ``statistic`` is not "peak" or "mean", ``failures`` is invalid, or a
            share or request count is out of range.
    """
    if statistic not in {"peak", "mean"}:
        raise RcaError(f"statistic={statistic!r} is invalid; use 'peak' or 'mean'.")
    selected = set(services)
    columns = [column for column in wide.columns if column[0] in selected]
    before = wide.loc[
        (wide.index >= incident_start - baseline) & (wide.index < incident_start), columns
    ]
    after = wide.loc[
        (wide.index >= incident_start) & (wide.index < incident_start + window), columns
    ]
    measured = [
        column for column in columns if before[column].notna().any() and after[column].notna().any()
    ]
    result_columns = ["service", "metric", "baseline_value", "incident_value", "scale", "z"]
    if not measured:
        return pd.DataFrame(columns=result_columns)
    before, after = before[measured], after[measured]
    base = before.mean()
    scale = before.std().where(before.count() >= 3)
    if reference_scale is not None:
        reference = reference_scale.reindex(pd.MultiIndex.from_tuples(measured))
        scale = pd.Series(reference.to_numpy(), index=base.index).fillna(scale)
    # A metric that never moved (or has no measured spread) would turn any change into
    # an infinite z-score, so its scale falls back to 5 % of its baseline level.
    fallback = 0.05 * base.abs()
    scale = scale.where(scale > _TINY, fallback).clip(lower=_TINY)
    is_count = np.array(
        [metric.lower().startswith(COUNT_METRIC_PREFIXES) for _, metric in measured]
    )
    # Counts vary at least as much as a Poisson count with the baseline mean.
    poisson = np.sqrt(np.maximum(base.to_numpy(), 1.0))
    scale = pd.Series(np.where(is_count, np.maximum(scale, poisson), scale), index=base.index)
    signs = np.array([metric_direction(metric) for _, metric in measured])
    row_scale = np.broadcast_to(scale.to_numpy(), after.shape).copy()
    change = (after - base).to_numpy()
    deviations = change / row_scale
    harmful = np.where(signs == 0, np.abs(deviations), deviations * signs)
    if failures is not None:
        check_reference_failures(failures)
    for position, column in enumerate(measured if failure_counts else []):
        count_z = failure_count_z(wide, column, before.index, after.index, failures)
        if count_z is None:
            continue
        # Rows without a request count keep the deviation measured against the spread.
        counted = ~np.isnan(count_z)
        harmful[:, position] = np.where(counted, count_z, harmful[:, position])
        with np.errstate(divide="ignore", invalid="ignore"):
            equivalent = np.abs(change[:, position]) / np.abs(count_z)
        usable = counted & (np.abs(count_z) >= _MIN_SCALED_Z) & np.isfinite(equivalent)
        row_scale[:, position] = np.where(usable, equivalent, row_scale[:, position])
    if statistic == "peak":
        filled = np.where(np.isnan(harmful), -np.inf, harmful)
        positions = filled.argmax(axis=0)
        z = filled[positions, np.arange(len(measured))]
        value = after.to_numpy()[positions, np.arange(len(measured))]
        used_scale = row_scale[positions, np.arange(len(measured))]
    else:
        z = np.nanmean(harmful, axis=0)
        value = after.mean().to_numpy()
        used_scale = np.nanmean(row_scale, axis=0)
    return pd.DataFrame(
        {
            "service": [service for service, _ in measured],
            "metric": [metric for _, metric in measured],
            "baseline_value": base.to_numpy(),
            "incident_value": value,
            "scale": used_scale,
            "z": z,
        },
        columns=result_columns,
    )


def alert_correlations(
    wide: pd.DataFrame,
    services: list[str],
    alerted_service: str,
    alerted_metric: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Correlate every metric of every service with the alerted metric over ``[start, end)``.

    The alerted metric itself is left out, so the alerted service is judged by its other
    metrics only.

    Returns:
        One row per metric: ``service``, ``metric`` and ``correlation`` (absolute Pearson
        correlation, 0 where a series is constant or has fewer than three shared points).

    Raises:
        RcaError: The alerted metric is not in ``wide``.
    """
    target_column = (alerted_service, alerted_metric)
    if target_column not in wide.columns:
        available = sorted(metric for service, metric in wide.columns if service == alerted_service)
        raise RcaError(
            f"No metric {alerted_metric!r} for service {alerted_service!r} in service_metrics; "
            f"metrics of that service: {available}. Check the alert's metric name."
        )
    span = wide[(wide.index >= start) & (wide.index < end)]
    selected = set(services)
    span = span.loc[:, [column for column in span.columns if column[0] in selected]]
    span = span.drop(columns=[target_column], errors="ignore")
    target = wide.loc[span.index, target_column]
    # Pairwise-complete Pearson correlation per column, computed in one pass. A constant
    # series has no correlation (NaN, scored 0 below); numpy warns about it, so the
    # warning is silenced here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        correlation = span.corrwith(target, method="pearson").abs()
    shared = span.notna().mul(target.notna(), axis=0).sum()
    correlation = correlation.where(shared >= 3, 0.0).fillna(0.0)
    frame = correlation.rename("correlation").reset_index()
    frame.columns = ["service", "metric", "correlation"]
    return frame
