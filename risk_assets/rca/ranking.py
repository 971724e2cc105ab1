"""Rank candidate root causes of an alert.

The candidates are the alerted service and everything it calls, directly or through
other services. Each candidate's score multiplies three factors:

* evidence: how abnormal the candidate itself is, combining its metric deviation
  ``z`` (mapped to ``z^2 / (z^2 + z_half^2)``, which is 0.5 at ``z_half`` standard
  deviations) and its log score (share of new or spiking log lines) as
  ``1 - (1 - metric) * (1 - log)``;
* link to the alert: ``floor + (1 - floor) * correlation``, where correlation is the
  largest absolute correlation of one of its metrics with the alerted metric;
* explain-away: ``1 - explain_away * max(explanation by a direct callee)``, because a
  service whose callee is just as abnormal is more likely a victim than the cause. A
  callee's explanation is its own evidence, scaled by the ratio of its health deviation
  to the candidate's when that ratio is below one. Request counts are not used here,
  because a caller's fault changes the traffic its callees see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np
import pandas as pd

from risk_assets.rca.errors import RcaError
from risk_assets.rca.metric_evidence import (
    alert_correlations,
    metric_deviations,
    metric_direction,
    pivot_metrics,
)
from risk_assets.rca.timing import align_time, check_periods
from risk_assets.rca.topology import candidate_causes

RANKING_COLUMNS = [
    "rank",
    "service",
    "hops",
    "score",
    "evidence",
    "metric_z",
    "top_metric",
    "metric_evidence",
    "log_score",
    "correlation",
    "explained_by",
]


@dataclass(frozen=True)
class RankingSettings:
    """Weights of the root-cause score.

    Attributes:
        z_half: Metric deviation, in standard deviations, that counts as half-certain
            evidence. 3 follows the usual three-sigma rule.
        correlation_floor: Share of the score kept by a candidate whose metrics do not
            correlate with the alerted metric at all (0 to 1).
        explain_away: How much an equally abnormal direct callee lowers a candidate's
            score (0 to 1).
        statistic: ``"peak"`` or ``"mean"`` deviation in the incident window.
        traffic_evidence: Whether request-count changes count as a candidate's own
            evidence. Explain-away never uses them, because a caller's fault changes the
            traffic its callees see.
        failure_counts: Whether an availability or error rate is judged by its failed
            calls against the service's normal failure rate (see ``metric_evidence``),
            rather than by its normal spread alone.
    """

    z_half: float = 3.0
    correlation_floor: float = 0.5
    explain_away: float = 0.5
    statistic: str = "peak"
    traffic_evidence: bool = False
    failure_counts: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.z_half) and self.z_half > 0):
            raise RcaError(f"z_half={self.z_half} is invalid; use a positive number.")
        for name in ("correlation_floor", "explain_away"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise RcaError(f"{name}={value} is invalid; use a value between 0 and 1.")

    def as_dict(self) -> dict:
        """Return the settings as a JSON-able dict."""
        return asdict(self)


def _z_to_evidence(z: float, z_half: float) -> float:
    if np.isnan(z) or z <= 0:
        return 0.0
    if np.isinf(z):
        return 1.0
    return float(z * z / (z * z + z_half * z_half))


def rank_root_causes(
    graph: nx.DiGraph,
    alerted_service: str,
    alerted_metric: str,
    metrics: pd.DataFrame,
    incident_start: pd.Timestamp,
    baseline: pd.Timedelta,
    window: pd.Timedelta,
    reference_scale: pd.Series | None = None,
    log_scores: Mapping[str, float] | None = None,
    settings: RankingSettings | None = None,
    reference_failures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank the candidate root causes of an alert, most likely first.

    Args:
        graph: Dependency graph (edge caller -> callee).
        alerted_service: Service that raised the alert; must be in ``graph``.
        alerted_metric: Metric that fired, as named in ``metrics``.
        metrics: Long metrics (``timestamp``, ``service``, ``metric``, ``value``), or
            their ``pivot_metrics`` form to save pivoting again for every alert.
        incident_start: First instant of the incident window (usually the alert time).
        baseline: Length of the normal period before ``incident_start``.
        window: Length of the incident window.
        reference_scale: Optional normal standard deviation per ``(service, metric)``.
        log_scores: Optional log evidence per service in [0, 1] (``log_evidence``).
        settings: Score weights; defaults to ``RankingSettings()``.
        reference_failures: Optional failed and all calls per ``(service, metric)`` in a
            normal period (``reference_failures``), which set each service's normal
            failure rate.

    Returns:
        One row per candidate with the columns in ``RANKING_COLUMNS``; ``rank`` starts at 1.

    Raises:
        UnknownServiceError: The alerted service is not in the graph.
        RcaError: The alerted metric has no values, a period is not positive, a log
            score is outside [0, 1], or the incident start is not comparable with the
            metrics' times.
    """
    settings = settings or RankingSettings()
    check_periods(baseline=baseline, window=window)
    hops = candidate_causes(graph, alerted_service)
    services = list(hops)
    wide = pivot_metrics(metrics)
    incident_start = align_time(incident_start, wide.index, "incident_start")
    log_scores = dict(log_scores or {})
    invalid = {name: score for name, score in log_scores.items() if not 0.0 <= score <= 1.0}
    if invalid:
        raise RcaError(
            f"log_scores must lie in [0, 1]; invalid: {invalid}. Pass log_evidence's "
            "log_score per service."
        )
    deviations = metric_deviations(
        wide,
        services,
        incident_start,
        baseline,
        window,
        reference_scale=reference_scale,
        statistic=settings.statistic,
        failures=reference_failures,
        failure_counts=settings.failure_counts,
    )
    correlations = alert_correlations(
        wide,
        services,
        alerted_service,
        alerted_metric,
        incident_start - baseline,
        incident_start + window,
    )
    is_health = deviations["metric"].map(metric_direction) != 0
    health = _strongest(deviations[is_health])
    best_metric = _strongest(deviations if settings.traffic_evidence else deviations[is_health])
    best_correlation = correlations.groupby("service")["correlation"].max()

    evidence, health_evidence = {}, {}
    for service in services:
        log_part = float(log_scores.get(service, 0.0))
        for target, table in ((evidence, best_metric), (health_evidence, health)):
            z = float(table["z"].get(service, np.nan))
            metric_part = _z_to_evidence(z, settings.z_half)
            target[service] = 1.0 - (1.0 - metric_part) * (1.0 - log_part)

    rows = []
    for service in services:
        explained_by, explained = _explaining_callee(graph, service, health, health_evidence)
        correlation = float(best_correlation.get(service, 0.0))
        link = settings.correlation_floor + (1.0 - settings.correlation_floor) * correlation
        score = evidence[service] * link * (1.0 - settings.explain_away * explained)
        z = float(best_metric["z"].get(service, np.nan))
        rows.append(
            {
                "service": service,
                "hops": hops[service],
                "score": score,
                "evidence": evidence[service],
                "metric_z": z,
                "top_metric": best_metric["metric"].get(service),
                "metric_evidence": _z_to_evidence(z, settings.z_half),
                "log_score": float(log_scores.get(service, 0.0)),
                "correlation": correlation,
                "explained_by": explained_by,
            }
        )
    return _with_rank(pd.DataFrame(rows), "score")


def rank_by_correlation(
    graph: nx.DiGraph,
    alerted_service: str,
    alerted_metric: str,
    metrics: pd.DataFrame,
    incident_start: pd.Timestamp,
    baseline: pd.Timedelta,
    window: pd.Timedelta,
) -> pd.DataFrame:
    """Rank candidates by correlation with the alerted metric alone (a baseline).

    Returns:
        Columns ``rank``, ``service``, ``hops``, ``correlation``, best first.
    """
    hops = candidate_causes(graph, alerted_service)
    check_periods(baseline=baseline, window=window)
    wide = pivot_metrics(metrics)
    incident_start = align_time(incident_start, wide.index, "incident_start")
    correlations = alert_correlations(
        wide,
        list(hops),
        alerted_service,
        alerted_metric,
        incident_start - baseline,
        incident_start + window,
    )
    best = correlations.groupby("service")["correlation"].max()
    frame = pd.DataFrame(
        {
            "service": list(hops),
            "hops": list(hops.values()),
            "correlation": [float(best.get(service, 0.0)) for service in hops],
        }
    )
    return _with_rank(frame, "correlation")


def _explaining_callee(
    graph: nx.DiGraph,
    service: str,
    health: pd.DataFrame,
    health_evidence: Mapping[str, float],
) -> tuple[str | None, float]:
    """Return the direct callee that best explains ``service``'s anomaly, and how well.

    A callee explains a caller in proportion to its own evidence, scaled down when its
    health deviation is smaller than the caller's: a callee two standard deviations off
    cannot explain a caller forty standard deviations off.
    """
    own_z = float(health["z"].get(service, np.nan))
    best_name, best_value = None, 0.0
    for callee in sorted(graph.successors(service)):
        if callee not in health_evidence:
            continue
        callee_z = float(health["z"].get(callee, np.nan))
        ratio = 1.0
        if np.isfinite(own_z) and own_z > 0:
            ratio = min(1.0, max(callee_z, 0.0) / own_z) if np.isfinite(callee_z) else 0.0
        value = health_evidence[callee] * ratio
        if value > best_value:
            best_name, best_value = callee, value
    return best_name, best_value


def _strongest(deviations: pd.DataFrame) -> pd.DataFrame:
    """Keep each service's metric with the largest ``z``, indexed by service."""
    ordered = deviations.sort_values(["z", "metric"], ascending=[False, True])
    return ordered.drop_duplicates("service").set_index("service")


def _with_rank(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    # Ties go to the candidate nearer the alert, then by name, so the order is stable.
    ordered = frame.sort_values([by, "hops", "service"], ascending=[False, True, True])
    ordered = ordered.reset_index(drop=True)
    ordered.insert(0, "rank", np.arange(1, len(ordered) + 1))
    return ordered


def rank_of(ranking: pd.DataFrame, service: str) -> int | None:
    """Return the 1-based rank of ``service`` in a ranking, or None when it is absent."""
    match = ranking.loc[ranking["service"] == service, "rank"]
    return int(match.iloc[0]) if len(match) else None
