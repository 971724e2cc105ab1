"""Failed-call evidence for availability and error rates.

A failure share (availability or error rate) of a service that also reports a request
count is judged by its failed calls. The number that failed in an incident row is
compared with the number expected at the service's normal failure rate: the mid-p
binomial upper tail becomes the one-sided normal deviate with the same tail
probability. Three failures of a service that failed none of its last 80,000 calls
are then strong evidence.

Failures of some services come in bursts, so from minute to minute they vary more than
a binomial count. The normal period measures that excess as the Pearson dispersion
(about 1 for binomial counts, larger for bursts), and the deviate is divided by its
square root, as in a quasi-binomial model. A few more failures of a service that
always fails some calls in bursts are then weak evidence.

Shares above 1 anywhere in the data are read as percentages. The unit is decided once
per metric, on the longest data at hand, and kept with the normal counts, so the normal
period and the incident are always read in the same unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import ndtri_exp
from scipy.stats import binom

from risk_assets.ingestion.schemas import COUNT_METRIC_PREFIXES, SHARE_METRIC_PREFIXES
from risk_assets.rca.errors import RcaError

# Endings that mark the per-row total among several request metrics of one service.
_TOTAL_SUFFIXES = ("_sum", "_total", "_count")
FAILURE_COLUMNS = ["failures", "requests", "dispersion", "unit"]
# Bound on a failure-count deviate, reached at a tail probability of about 1e-300.
MAX_COUNT_Z = 37.0


def is_share_metric(metric: str) -> bool:
    """Return whether ``metric`` is a share of failed or successful calls."""
    return metric.lower().startswith(SHARE_METRIC_PREFIXES)


def request_count_metric(columns: pd.Index, service: str) -> str | None:
    """Return the name of the per-row call count of ``service``, or None when it has none.

    With several ``requests*`` metrics, the one named ``requests`` or ending in ``_sum``,
    ``_total`` or ``_count`` is taken.

    Raises:
        RcaError: Several request metrics and none (or more than one) of them marked as
            the total.
    """
    names = sorted(
        metric
        for owner, metric in columns
        if owner == service and metric.lower().startswith(COUNT_METRIC_PREFIXES)
    )
    if len(names) <= 1:
        return names[0] if names else None
    totals = [
        name
        for name in names
        if name.lower() == "requests" or name.lower().endswith(_TOTAL_SUFFIXES)
    ]
    if len(totals) == 1:
        return totals[0]
    raise RcaError(
        f"service {service!r} has several request metrics {names}; keep one call count per "
        "row named 'requests' (or ending in _sum, _total or _count), or drop the others, "
        "so failure shares can be turned into failed calls."
    )


def share_unit(values: pd.Series, column: tuple[str, str]) -> float:
    """Return 100 when a share is in percent, 1 when it is a fraction.

    Raises:
        RcaError: A value is negative or above 100.
    """
    _check_range(values, column, 0.0, 100.0, "a share (0 to 1, or 0 to 100 in percent)")
    return 100.0 if values.max(skipna=True) > 1.0 else 1.0


def share_units(wide: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Return the unit of every failure share in ``wide`` (see ``share_unit``)."""
    return {
        column: share_unit(wide[column], column)
        for column in wide.columns
        if is_share_metric(column[1])
    }


def failed_calls(
    wide: pd.DataFrame, column: tuple[str, str], unit: float | None = None
) -> tuple[pd.Series, pd.Series] | None:
    """Return the failed and all calls per row behind a failure share, or None.

    Args:
        wide: Metrics with one column per ``(service, metric)``.
        column: The share's column.
        unit: 100 or 1; decided from ``wide`` when None.

    Returns:
        Failed and all calls, rounded to whole calls, NaN where either is missing. None
        when ``column`` is not a share or its service reports no request count.

    Raises:
        RcaError: A share or request count is out of range, or the request metric is
            ambiguous.
    """
    service, metric = column
    if not is_share_metric(metric):
        return None
    count_metric = request_count_metric(wide.columns, service)
    if count_metric is None:
        return None
    share = wide[column]
    unit = share_unit(share, column) if unit is None else unit
    _check_range(share, column, 0.0, unit, f"a share in [0, {unit:g}]")
    counts = wide[(service, count_metric)]
    _check_range(counts, (service, count_metric), 0.0, np.inf, "a call count (0 or more)")
    failed_share = share / unit
    if metric.lower().startswith("availability"):
        failed_share = 1.0 - failed_share
    # NOTE: shares rounded for display (say to 0.01 %) make failed calls move in steps
    # on very busy services, which overstates small changes.
    failures = (failed_share * counts).round()
    present = failures.notna() & counts.notna()
    return failures.where(present), counts.round().where(present)


def count_failures(
    wide: pd.DataFrame, units: Mapping[tuple[str, str], float] | None = None
) -> pd.DataFrame:
    """Count failed and all calls of each service in a normal period, with their dispersion.

    Args:
        wide: Metrics of a period without incidents, one column per ``(service, metric)``.
        units: Unit of each share, decided on longer data (``share_units``). Shares not
            in it are decided from ``wide``.

    Returns:
        Columns ``FAILURE_COLUMNS`` indexed by ``(service, metric)``, one row per failure
        share of a service that reports a request count. ``dispersion`` is the Pearson
        dispersion of the per-row failures (NaN with fewer than three rows with calls).
        ``unit`` is NaN for a share that is 0 throughout.
    """
    units = dict(units or {})
    rows = {}
    for column in wide.columns:
        if not is_share_metric(column[1]):
            continue
        unit = units.get(column, share_unit(wide[column], column))
        # A share that is 0 throughout gives the same counts in either unit, so it
        # leaves the unit to the data it is compared with.
        undecided = column not in units and not (wide[column].fillna(0.0) != 0.0).any()
        calls = failed_calls(wide, column, unit)
        if calls is None:
            continue
        failures, counts = calls
        total_failures, total_calls = float(failures.sum()), float(counts.sum())
        rate = _normal_rate(total_failures, total_calls)
        dispersion = _dispersion(failures, counts, rate)
        rows[column] = (total_failures, total_calls, dispersion, np.nan if undecided else unit)
    index = pd.MultiIndex.from_tuples(list(rows), names=["service", "metric"])
    return pd.DataFrame(list(rows.values()), index=index, columns=FAILURE_COLUMNS)


def check_reference_failures(reference: pd.DataFrame) -> None:
    """Check normal counts passed in by a caller (``count_failures`` output).

    Raises:
        RcaError: A column is missing, a ``(service, metric)`` appears twice, or a count
            is negative, missing or has more failures than calls.
    """
    missing = [name for name in ("failures", "requests") if name not in reference.columns]
    if missing:
        raise RcaError(
            f"reference failures are missing columns {missing}; expected {FAILURE_COLUMNS} "
            "as returned by reference_failures."
        )
    repeated = reference.index[reference.index.duplicated()].unique().tolist()
    if repeated:
        raise RcaError(f"reference failures contain {repeated} more than once; keep one row each.")
    for column, row in reference.iterrows():
        failures, requests = row["failures"], row["requests"]
        valid = np.isfinite(failures) and np.isfinite(requests) and 0 <= failures <= requests
        if not valid:
            raise RcaError(
                f"reference failures of {column} are invalid (failures={failures}, "
                f"requests={requests}); both must be counts with failures <= requests."
            )


def failure_count_z(
    wide: pd.DataFrame,
    column: tuple[str, str],
    before: pd.Index,
    after: pd.Index,
    reference: pd.DataFrame | None,
) -> np.ndarray | None:
    """Judge each incident row of a failure share by its number of failed calls.

    The normal failure rate pools the baseline rows with the reference period's calls,
    with half a failure and half a success added (the Jeffreys prior), so a service that
    never failed still has a small, positive rate. Rows with fewer failures than
    expected get a negative deviate. Rows without a count get NaN, for the caller to
    judge by the share's spread.

    Returns:
        One deviate per incident row, or None when ``column`` has no request count or
        the normal period has no calls to set a rate from.
    """
    known = reference is not None and column in reference.index
    unit = float(reference.at[column, "unit"]) if known and "unit" in reference.columns else None
    unit = unit if unit is not None and np.isfinite(unit) else None
    calls = failed_calls(wide, column, unit)
    if calls is None:
        return None
    failures, counts = calls
    normal_failures = float(failures.loc[before].sum())
    normal_calls = float(counts.loc[before].sum())
    dispersion = _dispersion(failures.loc[before], counts.loc[before], None)
    if known:
        normal_failures += float(reference.at[column, "failures"])
        normal_calls += float(reference.at[column, "requests"])
        if "dispersion" in reference.columns and np.isfinite(reference.at[column, "dispersion"]):
            dispersion = float(reference.at[column, "dispersion"])
    if normal_calls < 1:
        return None
    # NOTE: the rate is taken as known, so with few normal calls the deviate is larger
    # than a model that also weighs the rate's uncertainty would give.
    rate = _normal_rate(normal_failures, normal_calls)
    row_failures = failures.loc[after].to_numpy(dtype=float)
    row_calls = counts.loc[after].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Mid-p tail: P(more failures) + P(as many) / 2, so a row with the expected
        # count scores about 0 rather than the positive deviate of P(at least as many).
        log_tail = np.logaddexp(
            binom.logsf(row_failures, row_calls, rate),
            np.log(0.5) + binom.logpmf(row_failures, row_calls, rate),
        )
        z = -ndtri_exp(np.minimum(log_tail, 0.0))
    z = np.clip(z, -MAX_COUNT_Z, MAX_COUNT_Z)
    if np.isfinite(dispersion) and dispersion > 1.0:
        z = z / np.sqrt(dispersion)
    return np.where(np.isnan(row_failures) | np.isnan(row_calls), np.nan, z)


def _normal_rate(failures: float, calls: float) -> float:
    """Return the Jeffreys estimate of a failure rate."""
    return (failures + 0.5) / (calls + 1.0)


def _dispersion(failures: pd.Series, calls: pd.Series, rate: float | None) -> float:
    """Return the Pearson dispersion of per-row failures at ``rate`` (pooled when None).

    It is the mean over rows with calls of ``(f - n p)^2 / (n p (1 - p))``, with ``rows
    - 1`` as the divisor because the rate is estimated from the same rows. NaN with
    fewer than three such rows.
    """
    mask = (calls > 0).to_numpy() & failures.notna().to_numpy()
    if mask.sum() < 3:
        return float("nan")
    f = failures.to_numpy(dtype=float)[mask]
    n = calls.to_numpy(dtype=float)[mask]
    p = _normal_rate(f.sum(), n.sum()) if rate is None else rate
    pearson = (f - n * p) ** 2 / (n * p * (1.0 - p))
    return float(pearson.sum() / (mask.sum() - 1))


def _check_range(
    values: pd.Series, column: tuple[str, str], low: float, high: float, expected: str
) -> None:
    """Raise RcaError naming the first value of ``column`` outside ``[low, high]``."""
    outside = values[(values < low) | (values > high)]
    if len(outside):
        service, metric = column
        raise RcaError(
            f"{metric} of service {service!r} is {outside.iloc[0]} at {outside.index[0]}; "
            f"expected {expected}. Fix or drop such rows in service_metrics."
        )
