"""Root-cause analysis assets: dependency graph, log templates and incident reports.

The logic lives in the other modules of this package; these definitions add inputs,
configuration, storage and metadata.
"""

import dagster as dg
import networkx as nx
import pandas as pd

from risk_assets.rca.knowledge import load_knowledge_base
from risk_assets.rca.log_config import DEFAULT_SOURCE, get_log_source
from risk_assets.rca.log_templates import mine_service_logs, template_counts
from risk_assets.rca.ranking import RankingSettings
from risk_assets.rca.reports import (
    RANKED,
    ReportSettings,
    build_incident_reports,
    frame_markdown,
    report_markdown,
)
from risk_assets.rca.topology import build_dependency_graph, graph_to_edges
from risk_assets.resources.storage import StorageResource

GROUP = "rca"
REPORT_KEY = "rca/incident_reports.md"


class LogTemplatesConfig(dg.Config):
    """Settings of the ``log_templates`` asset."""

    log_source: str = DEFAULT_SOURCE
    """Name of the log source in log_sources.yaml whose masking and parser settings apply."""
    bucket: str = "5min"
    """Width of the time buckets for template counts, as a pandas offset alias."""


class IncidentReportsConfig(dg.Config):
    """Settings of the ``incident_reports`` asset."""

    baseline_minutes: int = 60
    """Minutes before the incident start that set each metric's normal level."""
    window_minutes: int = 30
    """Minutes after the incident start searched for evidence."""
    top_k: int = 5
    """Candidate causes kept per incident."""
    explain_away: float = 0.5
    """How much an equally abnormal callee lowers a candidate's score (0 to 1)."""
    history_minutes: int = 360
    """Minutes before the baseline whose metrics, outside incidents, set the normal
    failure rate of each service (0: the baseline alone)."""


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    description="Service dependency graph as an edge list: caller depends on callee, with "
    "the kind of each service.",
)
def service_dependency_graph(
    context: dg.AssetExecutionContext, service_topology: pd.DataFrame
) -> pd.DataFrame:
    graph = build_dependency_graph(service_topology)
    edges = graph_to_edges(graph)
    cycles = list(nx.simple_cycles(graph))
    if cycles:
        context.log.warning(
            f"The topology has {len(cycles)} call cycles, for example {cycles[0]}; ranking "
            "visits each service once, so cycles do not affect termination."
        )
    context.add_output_metadata(
        {
            "dagster/row_count": len(edges),
            "services": graph.number_of_nodes(),
            "calls": graph.number_of_edges(),
            "call_cycles": len(cycles),
            "entry_services": dg.MetadataValue.json(
                sorted(node for node in graph if graph.in_degree(node) == 0)
            ),
        }
    )
    return edges


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet", "drain3"},
    description="Log lines with the drain3 template each belongs to, mined per service.",
)
def log_templates(
    context: dg.AssetExecutionContext, config: LogTemplatesConfig, service_logs: pd.DataFrame
) -> pd.DataFrame:
    source = get_log_source(config.log_source)
    templates = mine_service_logs(service_logs, source)
    counts = template_counts(templates, freq=config.bucket)
    per_service = templates.groupby("service")["template_id"].nunique().sort_values()
    context.add_output_metadata(
        {
            "dagster/row_count": len(templates),
            "log_source": source.name,
            "templates": int(templates["template_id"].nunique()) if len(templates) else 0,
            "templates_per_service": dg.MetadataValue.json(
                {str(service): int(count) for service, count in per_service.items()}
            ),
            "busiest_buckets": dg.MetadataValue.md(
                frame_markdown(
                    counts.nlargest(10, "count")[["service", "bucket", "template", "count"]]
                )
            ),
        }
    )
    return templates


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    description="For each incident, the ranked candidate root causes with scores, metric "
    "and log evidence and the knowledge-base fixes; metadata gives top-1 and top-3 "
    "accuracy on incidents whose true cause is known.",
    check_specs=[
        dg.AssetCheckSpec(
            "every_incident_reported",
            asset="incident_reports",
            description="Each incident has at least one ranked candidate cause.",
        )
    ],
)
def incident_reports(
    context: dg.AssetExecutionContext,
    config: IncidentReportsConfig,
    storage: StorageResource,
    service_metrics: pd.DataFrame,
    log_templates: pd.DataFrame,
    service_dependency_graph: pd.DataFrame,
    incidents: pd.DataFrame,
):
    graph = build_dependency_graph(service_dependency_graph)
    outside = sorted(set(service_metrics["service"].astype(str)) - set(graph.nodes))
    if outside:
        context.log.warning(
            f"{len(outside)} services have metrics but are not in the topology, so they are "
            f"never candidates: {outside[:10]}"
        )
    settings = ReportSettings(
        baseline=pd.Timedelta(minutes=config.baseline_minutes),
        window=pd.Timedelta(minutes=config.window_minutes),
        top_k=config.top_k,
        ranking=RankingSettings(explain_away=config.explain_away),
        history=pd.Timedelta(minutes=config.history_minutes),
    )
    report, summary = build_incident_reports(
        incidents, graph, service_metrics, log_templates, load_knowledge_base(), settings
    )
    markdown = report_markdown(report)
    uri = storage.write_bytes(REPORT_KEY, ("# Incident reports\n\n" + markdown + "\n").encode())
    if summary["with_ground_truth"]:
        context.log.info(
            f"Root cause top-1 accuracy {summary['top1']:.3f}, top-3 {summary['top3']:.3f} "
            f"over {summary['with_ground_truth']} incidents with a known cause"
        )
    metadata = {
        "dagster/row_count": len(report),
        "incidents": summary["incidents"],
        "incidents_with_ground_truth": summary["with_ground_truth"],
        "incidents_not_evaluated": dg.MetadataValue.json(summary["not_evaluated"]),
        "truth_not_in_topology": dg.MetadataValue.json(summary["truth_not_in_topology"]),
        "services_not_in_topology": dg.MetadataValue.json(outside),
        "report_uri": uri,
        "report": dg.MetadataValue.md(markdown),
        "settings": dg.MetadataValue.json(
            {
                **settings.ranking.as_dict(),
                "baseline_minutes": config.baseline_minutes,
                "window_minutes": config.window_minutes,
                "history_minutes": config.history_minutes,
            }
        ),
    }
    if summary["top1"] is not None:
        metadata["top1_accuracy"] = float(summary["top1"])
        metadata["top3_accuracy"] = float(summary["top3"])
    yield dg.Output(report, metadata=metadata)

    ranked = report[report["status"] == RANKED]
    reported = set(ranked["incident_id"]) if len(ranked) else set()
    missing = sorted(set(incidents["incident_id"].astype(str)) - reported)
    yield dg.AssetCheckResult(
        check_name="every_incident_reported",
        passed=not missing,
        metadata={"missing_incidents": dg.MetadataValue.json(missing)},
        description=f"{len(missing)} incidents without a ranked cause"
        if missing
        else f"All {summary['incidents']} incidents have ranked causes",
    )
