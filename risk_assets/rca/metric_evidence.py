"""Metric evidence for root-cause ranking: deviation from baseline and alert correlation.

Metrics arrive in the canonical long layout (``timestamp``, ``service``, ``metric``,
``value``). A metric's deviation is measured in the direction that means trouble
(latency, error rate and CPU up, availability down, request counts either way)
against the mean of a baseline window before the incident, in units of the metric's
normal variation. For an availability or error rate of a service that also reports a
request count, the unit is at least the sampling error of its failure share, so a few
failed calls to a rarely called service do not outweigh a real error burst.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_assets.rca.errors import RcaError

METRIC_COLUMNS = ["timestamp", "service", "metric", "value"]
# Sign of a harmful change per metric-name prefix: +1 up, -1 down, 0 either way.
METRIC_DIRECTIONS = {
    "latency": 1,
    "error": 1,
    "cpu": 1,
    "memory": 1,
    "availability": -1,
    "requests": 0,
}
# Metrics that are event counts per interval; their noise is at least Poisson.
COUNT_METRIC_PREFIXES = ("requests",)
# Metrics that are a share of failed or successful requests.
PROPORTION_METRIC_PREFIXES = ("availability", "error")
_TINY = 1e-9


def metric_direction(metric: str) -> int:
    """Return +1, -1 or 0: the direction in which ``metric`` moves when a service degrades."""
    name = metric.lower()
    for prefix, sign in METRIC_DIRECTIONS.items():
        if name.startswith(prefix):
            return sign
    return 0


def pivot_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Pivot long metrics to one column per ``(service, metric)``, indexed by timestamp.

    Raises:
        RcaError: A required column is missing.
    """
    missing = set(METRIC_COLUMNS) - set(metrics.columns)
    if missing:
        raise RcaError(
            f"service_metrics is missing columns {sorted(missing)}; expected {METRIC_COLUMNS}."
        )
    wide = metrics.pivot_table(
        index="timestamp", columns=["service", "metric"], values="value", aggfunc="mean"
    )
    return wide.sort_index()


def reference_scales(reference: pd.DataFrame) -> pd.Series:
    """Return the standard deviation of each ``(service, metric)`` in a normal period.

    Args:
        reference: Long metrics from a period without incidents.

    Returns:
        Standard deviation indexed by ``(service, metric)``; NaN where fewer than three
        values were observed.
    """
    wide = pivot_metrics(reference)
    scales = wide.std()
    scales[wide.count() < 3] = np.nan
    return scales


def metric_deviations(
    wide: pd.DataFrame,
    services: list[str],
    incident_start: pd.Timestamp,
    baseline: pd.Timedelta,
    window: pd.Timedelta,
    reference_scale: pd.Series | None = None,
    statistic: str = "peak",
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

    Returns:
        One row per measured metric: ``service``, ``metric``, ``baseline_value``,
        ``incident_value`` (the peak or mean value in the window), ``scale`` and ``z``.
        ``z`` is the harmful deviation in units of ``scale``, negative when the metric
        improved. ``scale`` can differ per row for a request share, so it is the peak
        row's scale, or the mean over the window for ``"mean"``.
        Metrics with no value in either window are left out.

    Raises:
        RcaError: ``statistic`` is not "peak" or "mean".
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
    for position, column in enumerate(measured):
        sampling = _proportion_sampling_error(wide, column, before.index, after.index)
        if sampling is not None:
            row_scale[:, position] = np.fmax(row_scale[:, position], sampling)
    deviations = (after - base).to_numpy() / row_scale
    harmful = np.where(signs == 0, np.abs(deviations), deviations * signs)
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


def _proportion_sampling_error(
    wide: pd.DataFrame,
    column: tuple[str, str],
    before: pd.Index,
    after: pd.Index,
) -> np.ndarray | None:
    """Compute the sampling error of a change in a request share, per incident row.

    An availability or error rate measured over few requests moves a lot by chance: one
    failure in ten calls is a 10 % drop. This treats the baseline rows and each incident
    row as two samples of requests and returns the standard error of the difference of
    their failure shares, in the metric's unit. Each sample gets one added failure and
    one added success (the Agresti-Caffo adjustment), so a sample with no failures or
    very few requests still has a sensible error. Returns None when the metric is not a
    share or the service has no request count. Values above 1 are taken as percentages.
    """
    service, metric = column
    if not metric.lower().startswith(PROPORTION_METRIC_PREFIXES):
        return None
    count_metrics = sorted(
        name
        for owner, name in wide.columns
        if owner == service and name.lower().startswith(COUNT_METRIC_PREFIXES)
    )
    if not count_metrics:
        return None
    share = wide[column]
    # NOTE: a percentage that never exceeds 1 (such as an error rate below 1 %) is read
    # as a fraction, which overstates its failures and so its sampling error.
    unit = 100.0 if share.max(skipna=True) > 1.0 else 1.0
    failed_share = share / unit
    if metric_direction(metric) < 0:
        failed_share = 1.0 - failed_share
    counts = wide[(service, count_metrics[0])].clip(lower=0.0)
    failures = failed_share.clip(0.0, 1.0) * counts
    base_count = float(counts.loc[before].sum(skipna=True)) + 2.0
    base_share = (float(failures.loc[before].sum(skipna=True)) + 1.0) / base_count
    row_counts = counts.loc[after].to_numpy(dtype=float) + 2.0
    row_shares = (failures.loc[after].to_numpy(dtype=float) + 1.0) / row_counts
    variance = base_share * (1.0 - base_share) / base_count
    variance = variance + row_shares * (1.0 - row_shares) / row_counts
    # NaN where a row has no count or share, so that row keeps the metric's usual scale.
    return unit * np.sqrt(variance)


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
    # Pairwise-complete Pearson correlation per column, computed in one pass.
    correlation = span.corrwith(target, method="pearson").abs()
    shared = span.notna().mul(target.notna(), axis=0).sum()
    correlation = correlation.where(shared >= 3, 0.0).fillna(0.0)
    frame = correlation.rename("correlation").reset_index()
    frame.columns = ["service", "metric", "correlation"]
    return frame
