"""Incident reports: ranked root causes with evidence and recommended fixes.

For each incident the report ranks the candidate causes of its alert
(``ranking.rank_root_causes``) using metric deviations and log evidence, keeps the
top candidates, and attaches the knowledge-base fixes that match each candidate's
kind and symptoms. When the incidents table carries the true root cause (the
simulator's ground truth), the summary gives top-1 and top-3 accuracy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from risk_assets.rca.errors import RcaError, UnknownServiceError
from risk_assets.rca.failure_counts import share_units
from risk_assets.rca.knowledge import KnowledgeBase
from risk_assets.rca.log_templates import log_evidence
from risk_assets.rca.metric_evidence import pivot_metrics, reference_failures
from risk_assets.rca.ranking import RankingSettings, rank_of, rank_root_causes
from risk_assets.rca.timing import align_time

logger = logging.getLogger(__name__)

INCIDENT_COLUMNS = ["incident_id", "start", "alerted_service", "alerted_metric"]
REPORT_COLUMNS = [
    "incident_id",
    "start",
    "alerted_service",
    "alerted_metric",
    "rank",
    "service",
    "kind",
    "score",
    "metric_z",
    "top_metric",
    "log_score",
    "correlation",
    "explained_by",
    "log_templates",
    "knowledge_ids",
    "fixes",
    "true_root_cause",
    "status",
]
RANKED = "ranked"


@dataclass(frozen=True)
class ReportSettings:
    """Windows and size of incident reports.

    Attributes:
        baseline: Normal period before the incident start.
        window: Period after the incident start searched for evidence.
        top_k: Candidates kept per incident.
        ranking: Weights of the root-cause score.
        history: Period before the baseline whose metrics, outside every incident's
            window, set each service's normal failure rate and its dispersion. Zero uses
            the baseline alone. Other metrics' spread comes from the baseline, because a
            slow daily drift over hours would count as noise.
    """

    baseline: pd.Timedelta = pd.Timedelta("60min")
    window: pd.Timedelta = pd.Timedelta("30min")
    top_k: int = 5
    ranking: RankingSettings = field(default_factory=RankingSettings)
    history: pd.Timedelta = pd.Timedelta("6h")

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise RcaError(f"top_k={self.top_k} is invalid; keep at least one candidate.")
        if self.baseline <= pd.Timedelta(0) or self.window <= pd.Timedelta(0):
            raise RcaError(
                f"baseline={self.baseline} and window={self.window} must both be positive."
            )
        if self.history < pd.Timedelta(0):
            raise RcaError(f"history={self.history} is invalid; use zero or a positive period.")


def build_incident_reports(
    incidents: pd.DataFrame,
    graph: nx.DiGraph,
    metrics: pd.DataFrame,
    templates: pd.DataFrame,
    knowledge: KnowledgeBase,
    settings: ReportSettings | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Rank the causes of each incident and attach evidence and fixes.

    Args:
        incidents: Columns ``incident_id``, ``start``, ``alerted_service``,
            ``alerted_metric``; optional ``root_cause_service`` (ground truth).
        graph: Dependency graph from ``build_dependency_graph``.
        metrics: Long service metrics.
        templates: Mined log templates (``mine_service_logs``); may be empty.
        knowledge: Knowledge base for the fixes.
        settings: Windows and size; defaults to ``ReportSettings()``.

    Returns:
        The report (one row per incident and kept candidate, columns ``REPORT_COLUMNS``)
        and a summary with the incident count, the number with known ground truth, and
        top-1 / top-3 accuracy over those (None when no incident has ground truth).
        An incident without metrics in its baseline or window is not ranked: it has one
        row whose ``status`` gives the reason, and the summary lists it under
        ``not_evaluated``. An incident whose true cause is not in the topology is ranked
        but left out of the accuracy and listed under ``truth_not_in_topology``.

    Raises:
        RcaError: A required incidents column is missing.
        UnknownServiceError: An incident's alerted service is not in the topology.
    """
    settings = settings or ReportSettings()
    missing = set(INCIDENT_COLUMNS) - set(incidents.columns)
    if missing:
        raise RcaError(
            f"incidents is missing columns {sorted(missing)}; expected {INCIDENT_COLUMNS}."
        )
    wide = pivot_metrics(metrics)
    # Each share's unit is decided once on all the metrics, so that the history and
    # the incident are read alike.
    units = share_units(wide)
    disturbed = _incident_spans(incidents, wide.index, settings.window)
    rows, true_ranks, not_evaluated, unknown_truth = [], [], [], []
    for incident in incidents.itertuples(index=False):
        start = _incident_time(incident.start, wide.index, incident.incident_id, "start")
        truth = getattr(incident, "root_cause_service", None)
        truth = None if truth is None or pd.isna(truth) else str(truth)
        if str(incident.alerted_service) not in graph:
            raise UnknownServiceError(
                str(incident.alerted_service), graph.nodes, f"incident {incident.incident_id}"
            )
        gap = _missing_metrics(wide, start, settings)
        if gap:
            # Ranking without metrics would name a cause on no evidence, so the incident
            # is reported as not evaluated and left out of the accuracy.
            logger.warning("Incident %s: not evaluated: %s.", incident.incident_id, gap)
            not_evaluated.append(str(incident.incident_id))
            rows.append(_unranked_row(incident, start, truth, gap))
            continue
        if truth is not None and truth not in graph:
            logger.warning(
                "Incident %s: true cause %r is not in the service topology; the incident is "
                "left out of the accuracy. Check the incidents file's root_cause_service.",
                incident.incident_id,
                truth,
            )
            unknown_truth.append(str(incident.incident_id))
            truth = None
        normal = _normal_history(wide, start - settings.baseline, settings.history, disturbed)
        evidence = log_evidence(templates, start, settings.baseline, settings.window)
        evidence = evidence.set_index("service") if not evidence.empty else evidence
        log_scores = evidence["log_score"].to_dict() if not evidence.empty else {}
        try:
            ranking = rank_root_causes(
                graph,
                str(incident.alerted_service),
                str(incident.alerted_metric),
                wide,
                start,
                settings.baseline,
                settings.window,
                log_scores=log_scores,
                settings=settings.ranking,
                reference_failures=reference_failures(normal, units) if len(normal) else None,
            )
        except RcaError as error:
            raise RcaError(f"incident {incident.incident_id}: {error}") from error
        if truth is not None:
            true_ranks.append(rank_of(ranking, truth))
        for candidate in ranking.head(settings.top_k).itertuples(index=False):
            kind = graph.nodes[candidate.service].get("kind")
            log_templates = (
                list(evidence.at[candidate.service, "top_templates"])
                if not evidence.empty and candidate.service in evidence.index
                else []
            )
            entries = knowledge.lookup(kind, candidate.top_metric, log_templates)
            rows.append(
                {
                    "incident_id": str(incident.incident_id),
                    "start": start,
                    "alerted_service": str(incident.alerted_service),
                    "alerted_metric": str(incident.alerted_metric),
                    "rank": int(candidate.rank),
                    "service": candidate.service,
                    "kind": kind,
                    "score": float(candidate.score),
                    "metric_z": float(candidate.metric_z),
                    "top_metric": candidate.top_metric,
                    "log_score": float(candidate.log_score),
                    "correlation": float(candidate.correlation),
                    "explained_by": candidate.explained_by,
                    "log_templates": log_templates,
                    "knowledge_ids": [entry.entry_id for entry in entries],
                    "fixes": [fix for entry in entries for fix in entry.fixes],
                    "true_root_cause": truth,
                    "status": RANKED,
                }
            )
        logger.info(
            "Incident %s: top cause %s (true cause %s)",
            incident.incident_id,
            ranking["service"].iloc[0],
            truth,
        )
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    report["rank"] = report["rank"].astype("Int64")
    summary = summarize_ranks(true_ranks, n_incidents=len(incidents))
    summary["not_evaluated"] = not_evaluated
    summary["truth_not_in_topology"] = unknown_truth
    return report, summary


def _missing_metrics(wide: pd.DataFrame, start: pd.Timestamp, settings: ReportSettings) -> str:
    """Return why an incident cannot be ranked for lack of metrics, or an empty string."""
    periods = {
        "incident window": (start, start + settings.window),
        "baseline": (start - settings.baseline, start),
    }
    for name, (begin, end) in periods.items():
        rows = wide.loc[(wide.index >= begin) & (wide.index < end)]
        if rows.empty or rows.isna().all().all():
            return f"no service metrics in its {name} {begin} to {end}"
    return ""


def _unranked_row(incident, start: pd.Timestamp, truth: str | None, reason: str) -> dict:
    """Return the report row of an incident that could not be ranked."""
    row = dict.fromkeys(REPORT_COLUMNS)
    row.update(
        {
            "incident_id": str(incident.incident_id),
            "start": start,
            "alerted_service": str(incident.alerted_service),
            "alerted_metric": str(incident.alerted_metric),
            "log_templates": [],
            "knowledge_ids": [],
            "fixes": [],
            "true_root_cause": truth,
            "status": f"not evaluated: {reason}",
        }
    )
    return row


def _incident_time(value, index: pd.Index, incident_id, field_name: str) -> pd.Timestamp:
    """Return an incident's time as a Timestamp comparable with the metrics' index."""
    return align_time(value, index, f"incident {incident_id}: {field_name}")


def _incident_spans(incidents: pd.DataFrame, index: pd.Index, window: pd.Timedelta) -> list:
    """Return each incident's disturbed span: start to its end or the window, whichever is later.

    An ``end`` before the start is a data error, so it is logged and the window used.
    """
    spans = []
    for incident in incidents.itertuples(index=False):
        start = _incident_time(incident.start, index, incident.incident_id, "start")
        end = start + window
        recorded_end = getattr(incident, "end", None)
        if recorded_end is not None and not pd.isna(recorded_end):
            recorded_end = _incident_time(recorded_end, index, incident.incident_id, "end")
            if recorded_end < start:
                logger.warning(
                    "Incident %s: end %s is before start %s; using the %s window.",
                    incident.incident_id,
                    recorded_end,
                    start,
                    window,
                )
            end = max(end, recorded_end)
        spans.append((start, end))
    return spans


def _normal_history(
    wide: pd.DataFrame, before: pd.Timestamp, history: pd.Timedelta, disturbed: list[tuple]
) -> pd.DataFrame:
    """Return the rows of ``history`` before ``before`` that fall in no incident's span."""
    if history <= pd.Timedelta(0):
        return wide.iloc[0:0]
    keep = (wide.index >= before - history) & (wide.index < before)
    for start, end in disturbed:
        keep &= ~((wide.index >= start) & (wide.index < end))
    return wide.loc[keep]


def summarize_ranks(true_ranks: list[int | None], n_incidents: int) -> dict:
    """Return top-1 and top-3 accuracy from the rank of each true cause.

    Args:
        true_ranks: Rank of the true cause per incident with ground truth; None when the
            true cause was not among the candidates.
        n_incidents: Number of incidents reported, with or without ground truth.
    """
    known = len(true_ranks)
    if known == 0:
        return {"incidents": n_incidents, "with_ground_truth": 0, "top1": None, "top3": None}
    return {
        "incidents": n_incidents,
        "with_ground_truth": known,
        "top1": sum(rank == 1 for rank in true_ranks) / known,
        "top3": sum(rank is not None and rank <= 3 for rank in true_ranks) / known,
    }


def report_markdown(report: pd.DataFrame, max_incidents: int = 10) -> str:
    """Render the top candidates of each incident as a Markdown table."""
    if report.empty:
        return "No incidents."
    lines = ["| incident | alert | rank | candidate | score | top metric (z) | fixes from |"]
    lines.append("|---|---|---|---|---|---|---|")
    for incident_id in report["incident_id"].unique()[:max_incidents]:
        for row in report[report["incident_id"] == incident_id].head(3).itertuples():
            if row.status != RANKED:
                lines.append(
                    f"| {incident_id} | {row.alerted_service} {row.alerted_metric} | - | "
                    f"{row.status} | - | - | - |"
                )
                continue
            marker = " (true)" if row.service == row.true_root_cause else ""
            lines.append(
                f"| {incident_id} | {row.alerted_service} {row.alerted_metric} | {row.rank} | "
                f"{row.service}{marker} | {row.score:.2f} | {row.top_metric} "
                f"({row.metric_z:.1f}) | {', '.join(row.knowledge_ids) or '-'} |"
            )
    return "\n".join(lines)


def frame_markdown(frame: pd.DataFrame) -> str:
    """Render a small frame as a Markdown table (text cells, ``|`` escaped)."""
    if frame.empty:
        return "No rows."
    columns = [str(column) for column in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for values in frame.itertuples(index=False):
        cells = [str(value).replace("|", "\\|") for value in values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
