"""Dependency graph and root-cause ranking on small hand-built services."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from risk_assets.rca.errors import RcaError, UnknownServiceError
from risk_assets.rca.knowledge import load_knowledge_base
from risk_assets.rca.metric_evidence import metric_deviations, pivot_metrics
from risk_assets.rca.ranking import (
    RankingSettings,
    rank_by_correlation,
    rank_of,
    rank_root_causes,
)
from risk_assets.rca.reports import ReportSettings, build_incident_reports, summarize_ranks
from risk_assets.rca.topology import (
    build_dependency_graph,
    candidate_causes,
    graph_to_edges,
)

START = pd.Timestamp("2025-03-01 10:00")
INCIDENT = START + pd.Timedelta("60min")
BASELINE = pd.Timedelta("60min")
WINDOW = pd.Timedelta("30min")


def _metrics(effects: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """Per-minute latency of each service; ``effects`` multiplies it after INCIDENT."""
    rng = np.random.default_rng(seed)
    times = START + pd.to_timedelta(np.arange(90), unit="min")
    rows = []
    for service, effect in effects.items():
        latency = 50.0 * rng.lognormal(0.0, 0.05, len(times))
        latency[times >= INCIDENT] *= 1.0 + effect
        errors = np.clip(0.01 + rng.normal(0, 0.001, len(times)), 0, 1)
        for metric, values in (("latency_ms", latency), ("error_rate", errors)):
            rows.append(
                pd.DataFrame(
                    {"timestamp": times, "service": service, "metric": metric, "value": values}
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def chain_topology() -> pd.DataFrame:
    # web -> api -> db, and api -> cache; db is the cause in the tests below.
    return pd.DataFrame(
        {
            "caller": ["web", "api", "api"],
            "callee": ["api", "db", "cache"],
            "caller_kind": ["web", "service", "service"],
            "callee_kind": ["service", "database", "cache"],
        }
    )


def test_graph_keeps_kinds_and_edges(chain_topology):
    graph = build_dependency_graph(chain_topology)
    assert set(graph.edges) == {("web", "api"), ("api", "db"), ("api", "cache")}
    assert graph.nodes["db"]["kind"] == "database"
    edges = graph_to_edges(graph)
    assert list(edges.columns) == ["caller", "callee", "caller_kind", "callee_kind"]
    assert len(edges) == 3


def test_graph_missing_column_rejected():
    with pytest.raises(RcaError, match="callee"):
        build_dependency_graph(pd.DataFrame({"caller": ["a"]}))


def test_candidates_are_downstream(chain_topology):
    graph = build_dependency_graph(chain_topology)
    assert candidate_causes(graph, "api") == {"api": 0, "db": 1, "cache": 1}
    assert candidate_causes(graph, "web")["db"] == 2


def test_ranking_finds_known_cause(chain_topology):
    graph = build_dependency_graph(chain_topology)
    # The fault weakens at each hop upstream of db, as a real latency fault does.
    metrics = _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})
    ranking = rank_root_causes(graph, "web", "latency_ms", metrics, INCIDENT, BASELINE, WINDOW)
    assert ranking["service"].iloc[0] == "db"
    assert list(ranking["rank"]) == [1, 2, 3, 4]
    top = ranking.iloc[0]
    assert top["top_metric"] == "latency_ms"
    assert top["metric_z"] > 10
    api = ranking[ranking["service"] == "api"].iloc[0]
    assert api["explained_by"] == "db"


def test_explain_away_lowers_victims(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})
    default = rank_root_causes(graph, "web", "latency_ms", metrics, INCIDENT, BASELINE, WINDOW)
    plain = rank_root_causes(
        graph,
        "web",
        "latency_ms",
        metrics,
        INCIDENT,
        BASELINE,
        WINDOW,
        settings=RankingSettings(explain_away=0.0),
    )
    default_scores = default.set_index("service")["score"]
    plain_scores = plain.set_index("service")["score"]
    assert default_scores["api"] < plain_scores["api"]
    assert default_scores["db"] == pytest.approx(plain_scores["db"])
    assert rank_of(default, "db") == 1


def test_call_cycle_terminates_and_ranks():
    # api and queue call each other; the cause (queue) sits on the cycle.
    topology = pd.DataFrame(
        {"caller": ["web", "api", "queue", "queue"], "callee": ["api", "queue", "api", "store"]}
    )
    graph = build_dependency_graph(topology)
    assert list(nx.simple_cycles(graph))
    candidates = candidate_causes(graph, "web")
    assert sorted(candidates) == ["api", "queue", "store", "web"]
    metrics = _metrics({"queue": 3.0, "api": 1.5, "web": 0.8, "store": 0.0})
    ranking = rank_root_causes(graph, "web", "latency_ms", metrics, INCIDENT, BASELINE, WINDOW)
    assert len(ranking) == 4
    assert ranking["service"].iloc[0] == "queue"


def test_unknown_alert_service_rejected(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"web": 0.0})
    with pytest.raises(UnknownServiceError) as raised:
        rank_root_causes(graph, "checkout", "latency_ms", metrics, INCIDENT, BASELINE, WINDOW)
    message = str(raised.value)
    assert "'checkout'" in message
    assert "api, cache, db, web" in message
    assert isinstance(raised.value, ValueError)


def test_missing_alert_metric_rejected(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"web": 0.0, "api": 0.0, "db": 0.0, "cache": 0.0})
    with pytest.raises(RcaError, match="No metric 'cpu' for service 'web'"):
        rank_root_causes(graph, "web", "cpu", metrics, INCIDENT, BASELINE, WINDOW)


def test_availability_counts_downward():
    times = START + pd.to_timedelta(np.arange(90), unit="min")
    values = np.full(len(times), 99.9) + np.random.default_rng(1).normal(0, 0.05, len(times))
    values[times >= INCIDENT] = 95.0
    metrics = pd.DataFrame(
        {"timestamp": times, "service": "s", "metric": "availability", "value": values}
    )
    deviations = metric_deviations(pivot_metrics(metrics), ["s"], INCIDENT, BASELINE, WINDOW)
    assert deviations["z"].iloc[0] > 10


def test_availability_without_requests_keeps_spread():
    times = START + pd.to_timedelta(np.arange(90), unit="min")
    values = np.where(times >= INCIDENT, 90.0, 100.0)
    metrics = pd.DataFrame(
        {"timestamp": times, "service": "s", "metric": "availability", "value": values}
    )
    spread = pd.Series(0.5, index=pd.MultiIndex.from_tuples([("s", "availability")]))
    deviations = metric_deviations(
        pivot_metrics(metrics), ["s"], INCIDENT, BASELINE, WINDOW, spread
    )
    assert deviations["z"].iloc[0] == pytest.approx(10.0 / 0.5)


def test_correlation_baseline_ranks_every_candidate(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})
    ranking = rank_by_correlation(graph, "web", "latency_ms", metrics, INCIDENT, BASELINE, WINDOW)
    assert sorted(ranking["service"]) == ["api", "cache", "db", "web"]
    assert ranking["correlation"].between(0, 1).all()
    assert ranking.set_index("service")["correlation"]["cache"] < 0.5


def test_invalid_settings_rejected():
    with pytest.raises(RcaError, match="explain_away=1.5"):
        RankingSettings(explain_away=1.5)


def _incidents(with_truth: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "incident_id": ["I1"],
            "start": [INCIDENT],
            "alerted_service": ["web"],
            "alerted_metric": ["latency_ms"],
        }
    )
    if with_truth:
        frame["root_cause_service"] = ["db"]
    return frame


def test_report_scores_known_cause(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})
    no_logs = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])
    report, summary = build_incident_reports(
        _incidents(with_truth=True),
        graph,
        metrics,
        no_logs,
        load_knowledge_base(),
        ReportSettings(top_k=2),
    )
    assert list(report["rank"]) == [1, 2]
    assert report["service"].iloc[0] == "db"
    assert "database-latency" in report["knowledge_ids"].iloc[0]
    assert summary == {
        "incidents": 1,
        "with_ground_truth": 1,
        "top1": 1.0,
        "top3": 1.0,
        "not_evaluated": [],
        "truth_not_in_topology": [],
    }


def test_report_without_ground_truth(chain_topology):
    graph = build_dependency_graph(chain_topology)
    metrics = _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})
    no_logs = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])
    report, summary = build_incident_reports(
        _incidents(with_truth=False), graph, metrics, no_logs, load_knowledge_base()
    )
    assert len(report) == 4
    assert report["true_root_cause"].isna().all()
    assert summary["top1"] is None
    assert summary["with_ground_truth"] == 0


def test_rank_summary_counts_missing_cause():
    summary = summarize_ranks([1, 4, None], n_incidents=3)
    assert summary["top1"] == pytest.approx(1 / 3)
    assert summary["top3"] == pytest.approx(1 / 3)
