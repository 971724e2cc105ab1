"""Materialize the root-cause analysis assets on simulated services with real Dagster."""

import dagster as dg
import pytest

from risk_assets.definitions import build_resources
from risk_assets.ingestion.assets import raw_table_assets
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.rca.defs import defs as rca_defs
from risk_assets.rca.reports import REPORT_COLUMNS
from risk_assets.settings import load_settings

pytestmark = pytest.mark.slow

UPSTREAM = {"service_metrics", "service_logs", "service_topology", "incidents"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("rca_assets")
    settings = load_settings({"RISK_DATA_DIR": str(data_dir)})
    raw_data = RawDataResource(
        seed=11, n_customers=20, n_terminals=20, n_days=14, service_hours=8, n_incidents=4
    )
    resources = build_resources(settings, raw_data)
    raw_assets = [
        asset for asset in raw_table_assets if UPSTREAM & {key.path[-1] for key in asset.keys}
    ]
    result = dg.materialize(
        [*raw_assets, *rca_defs.assets], resources=resources, raise_on_error=True
    )
    return result, resources, raw_data


def _metadata(result, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in events[-1].metadata.items()}


def test_run_succeeds(run):
    result, _, _ = run
    assert result.success


def test_graph_asset_has_cycle_and_edges(run):
    result, _, _ = run
    graph = result.output_for_node("service_dependency_graph")
    assert {"caller", "callee", "caller_kind", "callee_kind"} <= set(graph.columns)
    metadata = _metadata(result, "service_dependency_graph")
    # The simulator's topology has one call cycle (a queue and its consumer).
    assert metadata["call_cycles"] >= 1
    assert metadata["calls"] == len(graph)


def test_log_templates_cover_every_line(run):
    result, _, raw_data = run
    templates = result.output_for_node("log_templates")
    logs = raw_data.load("service_logs").accepted
    assert len(templates) == len(logs)
    assert templates["template_id"].notna().all()


def test_reports_rank_simulated_incidents(run):
    result, resources, raw_data = run
    report = result.output_for_node("incident_reports")
    assert list(report.columns) == REPORT_COLUMNS
    truth = raw_data.load("incidents").accepted
    assert set(report["incident_id"]) == set(truth["incident_id"])
    metadata = _metadata(result, "incident_reports")
    assert metadata["incidents_with_ground_truth"] == len(truth)
    top = report[report["rank"] == 1].set_index("incident_id")["service"]
    true_cause = truth.set_index("incident_id")["root_cause_service"].astype(str)
    expected_top1 = (top == true_cause.reindex(top.index)).mean()
    assert metadata["top1_accuracy"] == pytest.approx(expected_top1)
    # The simulator's faults are strong, so most top-ranked causes should be right.
    assert metadata["top1_accuracy"] >= 0.75
    assert resources["storage"].exists("rca/incident_reports.md")


def test_reports_cite_knowledge_base(run):
    result, _, _ = run
    report = result.output_for_node("incident_reports")
    cited = report[report["rank"] == 1]["knowledge_ids"]
    assert cited.map(len).gt(0).all()
    assert report["fixes"].map(len).ge(report["knowledge_ids"].map(len)).all()


def test_report_check_passes(run):
    result, _, _ = run
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["every_incident_reported"].passed


def test_unknown_alerted_service_fails_run(tmp_path):
    settings = load_settings({"RISK_DATA_DIR": str(tmp_path / "data")})
    incidents_file = tmp_path / "incidents.csv"
    incidents_file.write_text(
        "incident_id,start,alerted_service,alerted_metric\nX1,2025-01-01,checkout,latency_ms\n"
    )
    raw_data = RawDataResource(
        n_customers=20, n_terminals=20, sources={"incidents": str(incidents_file)}
    )
    resources = build_resources(settings, raw_data)
    raw_assets = [
        asset for asset in raw_table_assets if UPSTREAM & {key.path[-1] for key in asset.keys}
    ]
    result = dg.materialize(
        [*raw_assets, *rca_defs.assets],
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    message = failures[0].step_failure_data.error.cause.message
    assert "'checkout' is not in the service topology" in message
