"""Invalid inputs to ranking and reports: rejected by name, or reported as not evaluated."""

import numpy as np
import pandas as pd
import pytest

from risk_assets.ingestion.loaders import load_table
from risk_assets.rca.errors import RcaError, UnknownServiceError
from risk_assets.rca.knowledge import load_knowledge_base
from risk_assets.rca.log_config import get_log_source
from risk_assets.rca.log_templates import log_evidence, mine_service_logs, template_counts
from risk_assets.rca.ranking import RankingSettings, rank_by_correlation, rank_root_causes
from risk_assets.rca.reports import build_incident_reports, report_markdown
from risk_assets.rca.topology import build_dependency_graph
from risk_assets_tests.rca.test_ranking import BASELINE, INCIDENT, WINDOW, _incidents, _metrics

NO_LOGS = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])


@pytest.fixture
def graph():
    return build_dependency_graph(
        pd.DataFrame({"caller": ["web", "api", "api"], "callee": ["api", "db", "cache"]})
    )


@pytest.fixture
def metrics():
    return _metrics({"db": 3.0, "api": 1.5, "web": 0.8, "cache": 0.0})


def _rank(graph, metrics, **changes):
    arguments = {
        "graph": graph,
        "alerted_service": "web",
        "alerted_metric": "latency_ms",
        "metrics": metrics,
        "incident_start": INCIDENT,
        "baseline": BASELINE,
        "window": WINDOW,
        **changes,
    }
    return rank_root_causes(**arguments)


def test_infinite_metric_named(graph, metrics):
    broken = metrics.copy()
    row = broken.index[(broken["service"] == "db") & (broken["timestamp"] >= INCIDENT)][0]
    broken.loc[row, "value"] = np.inf
    with pytest.raises(RcaError, match=r"1 values that are not finite.*latency_ms of 'db'"):
        _rank(graph, broken)


def test_text_timestamps_rejected(graph, metrics):
    with pytest.raises(RcaError, match="not datetimes"):
        _rank(graph, metrics.assign(timestamp=metrics["timestamp"].astype(str)))


def test_aware_start_on_naive_metrics(graph, metrics):
    with pytest.raises(RcaError, match="incident_start=.*differ in having a time zone"):
        _rank(graph, metrics, incident_start=INCIDENT.tz_localize("UTC"))


def test_baseline_ranking_checks_start_zone(graph, metrics):
    with pytest.raises(RcaError, match="incident_start"):
        rank_by_correlation(
            graph, "web", "latency_ms", metrics, INCIDENT.tz_localize("UTC"), BASELINE, WINDOW
        )


@pytest.mark.parametrize(
    ("name", "period"),
    [("baseline", pd.Timedelta("-5min")), ("window", pd.Timedelta(0)), ("window", 30)],
)
def test_invalid_period_named(graph, metrics, name, period):
    with pytest.raises(RcaError, match=f"{name}="):
        _rank(graph, metrics, **{name: period})


@pytest.mark.parametrize("score", [float("nan"), 1.5, -0.1])
def test_invalid_log_score_named(graph, metrics, score):
    with pytest.raises(RcaError, match="log_scores must lie in"):
        _rank(graph, metrics, log_scores={"db": score})


def test_nan_z_half_rejected():
    with pytest.raises(RcaError, match="z_half=nan"):
        RankingSettings(z_half=float("nan"))


def test_log_evidence_checks_inputs():
    templates = pd.DataFrame(
        {"timestamp": [INCIDENT], "service": ["db"], "template_id": ["db#1"], "template": ["x"]}
    )
    with pytest.raises(RcaError, match=r"missing columns \['level'\]"):
        log_evidence(templates, INCIDENT)
    with pytest.raises(RcaError, match="spike_ratio=-1"):
        log_evidence(templates, INCIDENT, spike_ratio=-1)
    with pytest.raises(RcaError, match="baseline=0 days"):
        log_evidence(templates, INCIDENT, baseline=pd.Timedelta(0))


def test_incident_without_metrics_not_evaluated(graph, metrics):
    late = _incidents(with_truth=True).assign(start=INCIDENT + pd.Timedelta("365D"))
    incidents = pd.concat([_incidents(with_truth=True), late.assign(incident_id="I2")])
    report, summary = build_incident_reports(
        incidents, graph, metrics, NO_LOGS, load_knowledge_base()
    )
    unranked = report[report["incident_id"] == "I2"]
    assert len(unranked) == 1
    assert unranked["status"].iloc[0].startswith("not evaluated: no service metrics")
    assert unranked["rank"].isna().all()
    assert summary["not_evaluated"] == ["I2"]
    assert summary["with_ground_truth"] == 1
    assert summary["top1"] == 1.0
    assert "not evaluated" in report_markdown(report)


def test_truth_outside_topology_not_scored(graph, metrics):
    incidents = _incidents(with_truth=True).assign(root_cause_service="ledger_db")
    report, summary = build_incident_reports(
        incidents, graph, metrics, NO_LOGS, load_knowledge_base()
    )
    assert (report["status"] == "ranked").all()
    assert summary["truth_not_in_topology"] == ["I1"]
    assert summary["with_ground_truth"] == 0
    assert summary["top1"] is None


def test_incidents_file_in_utc_ranks(tmp_path, graph, metrics):
    path = tmp_path / "incidents.csv"
    stamp = INCIDENT.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(
        "incident_id,start,alerted_service,alerted_metric,root_cause_service\n"
        f"I1,{stamp},web,latency_ms,db\n"
        "I2,soon,web,latency_ms,db\n"
    )
    loaded = load_table(path, "incidents")
    assert loaded.quarantine["quarantine_reason"].tolist()[0].startswith("start: not an ISO")
    assert loaded.accepted["end"].isna().all()
    _, summary = build_incident_reports(
        loaded.accepted, graph, metrics, NO_LOGS, load_knowledge_base()
    )
    assert summary["top1"] == 1.0


def test_incident_ending_before_start_quarantined(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(
        "incident_id,start,end,alerted_service,alerted_metric\n"
        "I1,2025-03-01 11:00,2025-03-01 10:00,web,latency_ms\n"
    )
    loaded = load_table(path, "incidents")
    assert loaded.accepted.empty
    assert loaded.quarantine["quarantine_reason"].tolist() == ["end: before start"]


def test_empty_topology_rejected():
    with pytest.raises(RcaError, match="service_topology is empty"):
        build_dependency_graph(pd.DataFrame({"caller": [], "callee": []}))


def test_blank_service_name_rejected():
    topology = pd.DataFrame({"caller": ["web", " "], "callee": ["api", "db"]})
    with pytest.raises(RcaError, match="1 rows with an empty caller or callee, such as row 1"):
        build_dependency_graph(topology)


def test_two_kinds_for_one_service_rejected():
    topology = pd.DataFrame(
        {
            "caller": ["web", "api"],
            "callee": ["api", "db"],
            "caller_kind": ["web", "service"],
            "callee_kind": ["gateway", "database"],
        }
    )
    with pytest.raises(RcaError, match=r"'api' as \['gateway', 'service'\]"):
        build_dependency_graph(topology)


def test_logs_without_service_rejected():
    logs = pd.DataFrame(
        {
            "timestamp": [INCIDENT, INCIDENT],
            "service": ["db", None],
            "level": ["INFO", "INFO"],
            "message": ["query ok", "query ok"],
        }
    )
    with pytest.raises(RcaError, match="1 rows without a timestamp, service or message"):
        mine_service_logs(logs, get_log_source("default"))


@pytest.mark.parametrize("freq", ["0min", "ME", "fortnight"])
def test_invalid_bucket_width_rejected(freq):
    with pytest.raises(RcaError, match=f"freq='{freq}'"):
        template_counts(NO_LOGS, freq=freq)


def test_report_errors_name_the_incident(graph, metrics):
    incidents = _incidents(with_truth=False).assign(alerted_metric="p99_latency")
    with pytest.raises(RcaError, match="incident I1: .*p99_latency"):
        build_incident_reports(incidents, graph, metrics, NO_LOGS, load_knowledge_base())
    unknown = _incidents(with_truth=False).assign(alerted_service="Web")
    with pytest.raises(UnknownServiceError, match="incident I1: Service 'Web'"):
        build_incident_reports(unknown, graph, metrics, NO_LOGS, load_knowledge_base())
