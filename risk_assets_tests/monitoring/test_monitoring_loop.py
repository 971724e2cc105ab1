"""End-to-end monitoring loop on a small simulated feed with injected card-testing fraud.

One module-scoped scenario runs every step in process, against a real Dagster instance,
a real MLflow SQLite store and local Parquet storage in a temporary folder:

1. features for every day; a first model trained as of the scoring start becomes
   champion directly;
2. each later day scored and monitored;
3. the sensor reads the drift reports and requests one retraining run, which is
   executed; its challenger is compared with the champion and promoted;
4. a deliberately weak challenger is trained and rejected;
5. the rollback command restores the previous champion.

The tests then check the recorded outcome of each step.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from risk_assets.features.fraud_features import build_transaction_features
from risk_assets.ingestion.simulator import simulate
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.monitoring.config import MonitoringSetup
from risk_assets.monitoring.defs import build_monitoring_definitions
from risk_assets.monitoring.report import MONITORED_FEATURES
from risk_assets.registry.__main__ import main as registry_main
from risk_assets.registry.champion_challenger import average_precision
from risk_assets.registry.versions import load_version
from risk_assets.resources.storage import LocalStorageResource, ParquetIOManager
from risk_assets.resources.tracking import CHAMPION, build_mlflow_resource

pytestmark = pytest.mark.slow

N_DAYS = 42
DRIFT_DAY = 28
SCORING_START_DAY = 26
MODEL = "fraud_xgboost"


def day_key(setup: MonitoringSetup, index: int) -> str:
    return setup.day(index).date().isoformat()


def materializations(instance: dg.DagsterInstance, key: str) -> dict[str, dict]:
    """Latest materialization metadata of each partition of ``key``."""
    records = instance.fetch_materializations(dg.AssetKey(key), limit=1000, ascending=True)
    latest = {}
    for record in records.records:
        event = record.asset_materialization
        latest[event.partition] = {name: value.value for name, value in event.metadata.items()}
    return latest


def check_results(instance: dg.DagsterInstance, check: str) -> dict[str, dict]:
    """Outcome of ``check`` per partition of the drift report, from the run event logs."""
    outcomes = {}
    for run in instance.get_runs(filters=dg.RunsFilter(job_name="fraud_daily_scoring_job")):
        for entry in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.check_name == check:
                outcomes[run.tags["dagster/partition"]] = {
                    "passed": evaluation.passed,
                    "severity": evaluation.severity.value,
                    "description": evaluation.description,
                }
    return outcomes


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder: Path = tmp_path_factory.mktemp("monitoring")
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    raw_data = RawDataResource(
        seed=11, n_customers=200, n_terminals=400, n_days=N_DAYS, drift_day=DRIFT_DAY
    )
    setup = MonitoringSetup(n_days=N_DAYS, scoring_start_day=SCORING_START_DAY)
    storage = LocalStorageResource(base_dir=str(folder / "data"))
    defs = dg.Definitions.merge(
        build_monitoring_definitions(setup),
        dg.Definitions(
            resources={
                "storage": storage,
                "io_manager": ParquetIOManager(storage=storage),
                "mlflow": build_mlflow_resource(tracking_uri, "monitoring_test"),
                "raw_data": raw_data,
            }
        ),
    )
    feature_job = defs.resolve_job_def("fraud_daily_feature_job")
    scoring_job = defs.resolve_job_def("fraud_daily_scoring_job")
    retraining_job = defs.resolve_job_def("fraud_retraining_job")
    sensor = defs.resolve_sensor_def("fraud_drift_retraining_sensor")
    out: dict = {"setup": setup, "timings": {}}
    started = time.monotonic()

    (folder / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(folder / "dagster")) as instance:
        for index in range(N_DAYS):
            assert feature_job.execute_in_process(
                partition_key=day_key(setup, index), instance=instance
            ).success
        out["timings"]["features"] = time.monotonic() - started

        first = retraining_job.execute_in_process(
            partition_key=day_key(setup, SCORING_START_DAY), instance=instance
        )
        out["first_evaluation"] = first.output_for_node("fraud_champion_challenger_evaluation")

        for index in range(SCORING_START_DAY, N_DAYS):
            assert scoring_job.execute_in_process(
                partition_key=day_key(setup, index), instance=instance
            ).success
        out["timings"]["scoring"] = time.monotonic() - started
        out["reports"] = materializations(instance, "fraud_drift_report")
        out["ap_checks"] = check_results(instance, "fraud_ap_drop")
        out["drift_checks"] = check_results(instance, "fraud_feature_drift")

        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        out["run_requests"] = tick.run_requests
        request = tick.run_requests[0]
        retrained = retraining_job.execute_in_process(
            partition_key=request.partition_key, tags=request.tags, instance=instance
        )
        out["promotion"] = retrained.output_for_node("fraud_champion_challenger_evaluation")
        second_tick = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, definitions=defs, cursor=tick.cursor)
        )
        out["second_tick"] = second_tick

        weak = retraining_job.execute_in_process(
            partition_key=request.partition_key,
            instance=instance,
            run_config={
                "ops": {"fraud_challenger_model": {"config": {"max_depth": 1, "max_rounds": 1}}}
            },
        )
        out["rejection"] = weak.output_for_node("fraud_champion_challenger_evaluation")
        out["timings"]["retraining"] = time.monotonic() - started

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    out["tags_before_rollback"] = {
        str(version.version): dict(version.tags)
        for version in client.search_model_versions(f"name='{MODEL}'")
    }
    out["champion_before_rollback"] = str(
        client.get_model_version_by_alias(MODEL, CHAMPION).version
    )
    out["rollback_exit"] = registry_main(["rollback", MODEL, "--tracking-uri", tracking_uri])
    out["champion_after_rollback"] = str(client.get_model_version_by_alias(MODEL, CHAMPION).version)
    out["tags_after_rollback"] = {
        str(version.version): dict(version.tags)
        for version in client.search_model_versions(f"name='{MODEL}'")
    }

    # Ground truth on the drifted days after the retraining window, which neither
    # model saw: features of the whole simulated table, labels from the simulator.
    world = simulate(raw_data.simulation_config())
    features = build_transaction_features(world.transactions)
    last_labeled = pd.Timestamp(request.partition_key) - pd.Timedelta(days=setup.label_delay_days)
    unseen = features[features["timestamp"] >= last_labeled + pd.Timedelta(days=1)]
    out["unseen_rows"] = len(unseen)
    out["unseen_ap"] = {}
    for version in (out["promotion"]["champion_version"], out["promotion"]["challenger_version"]):
        scores = load_version(client, MODEL, version).predict(unseen)
        out["unseen_ap"][version] = average_precision(unseen["is_fraud"].to_numpy(float), scores)
    out["storage_dir"] = folder / "data"
    failed_ap_days = sorted(day for day, result in out["ap_checks"].items() if not result["passed"])
    figures = {
        "timings_s": {key: round(value, 1) for key, value in out["timings"].items()},
        "failed_ap_checks": failed_ap_days,
        "fraud_rate_ratio_last_day": out["reports"][day_key(setup, N_DAYS - 1)].get(
            "fraud_rate_ratio"
        ),
        "ap_drop_by_day": {
            day: round(report["ap_drop"], 3)
            for day, report in out["reports"].items()
            if "ap_drop" in report
        },
        "drifted_share_by_day": {
            day: round(report["drifted_share"], 2) for day, report in out["reports"].items()
        },
        "retrain_reason": request.tags["retrain_reason"],
        "promotion": {
            key: out["promotion"][key]
            for key in ("decision", "champion_ap", "challenger_ap", "ci_low", "ci_high")
        },
        "promotion_guardrails": out["promotion"]["challenger_guardrails"],
        "champion_guardrails": out["promotion"]["champion_guardrails"],
        "rejection": {
            key: out["rejection"][key] for key in ("decision", "ap_difference", "ci_low")
        },
        "unseen_ap": out["unseen_ap"],
        "unseen_rows": out["unseen_rows"],
    }
    logging.getLogger(__name__).info(
        "monitoring loop figures: %s", json.dumps(figures, default=str)
    )
    return out


def test_first_version_promoted_directly(scenario):
    first = scenario["first_evaluation"]
    assert first["decision"] == "promoted_first_version"
    assert first["champion_version"] == "1"


def test_no_drift_failure_before_drift_day(scenario):
    # Features whose window was cut off at the feed's start are left out, so the days
    # before the new fraud pattern do not fail the drift check.
    setup = scenario["setup"]
    for index in range(SCORING_START_DAY, DRIFT_DAY):
        report = scenario["reports"][day_key(setup, index)]
        assert report["drifted_share"] < setup.thresholds.drifted_share_fail, index


def test_drift_report_skips_unlabeled_days(scenario):
    setup = scenario["setup"]
    first_report = scenario["reports"][day_key(setup, SCORING_START_DAY)]
    assert first_report["performance_status"] == "skipped"
    assert "labels have not arrived" in first_report["performance_skip_reason"]


def test_drift_report_records_tests(scenario):
    setup = scenario["setup"]
    report = scenario["reports"][day_key(setup, N_DAYS - 1)]
    assert 0.0 <= report["drifted_share"] <= 1.0
    # The first champion learnt from days 3 to 16 of the feed, when windows of more
    # than 16 days were cut off at its start: those features are not tested.
    assert report["tested_features"] + report["untested_features"] == len(MONITORED_FEATURES)
    assert report["tested_features"] >= 5
    rows = {line.split(" | ")[0].strip("| "): line for line in report["feature_drift"].splitlines()}
    assert "not tested" in rows["amount_ratio_baseline"]
    assert "not tested" in rows["customer_tx_count_30d"]
    assert "not tested" not in rows["amount"]
    assert "| method" in report["feature_drift"]
    assert "threshold" in report["feature_drift"]
    assert report["prediction_drift_method"]
    assert Path(report["data_drift_html"]).is_file()
    assert Path(report["prediction_drift_html"]).is_file()


def test_ap_drop_fails_after_drift(scenario):
    setup = scenario["setup"]
    # The labeled window of day d ends at d - 7, so from DRIFT_DAY + 9 on it contains
    # at least three days of card testing.
    late = [day_key(setup, index) for index in range(DRIFT_DAY + 9, N_DAYS)]
    failed = [day for day in late if not scenario["ap_checks"][day]["passed"]]
    assert failed, {day: scenario["ap_checks"][day] for day in late}
    report = scenario["reports"][failed[0]]
    assert report["ap_drop"] >= setup.thresholds.ap_drop_fail
    assert report["performance_status"] == "computed"


def test_fraud_rate_rises_after_drift(scenario):
    last = scenario["reports"][day_key(scenario["setup"], N_DAYS - 1)]
    assert last["performance_status"] == "computed"
    assert last["fraud_rate_ratio"] > 1.5, last


def test_sensor_requests_one_retraining(scenario):
    requests = scenario["run_requests"]
    assert len(requests) == 1
    request = requests[0]
    assert request.partition_key == day_key(scenario["setup"], N_DAYS - 1)
    assert "performance_drop" in request.tags["retrain_reason"]
    assert request.tags["retrain_model"] == MODEL


def test_sensor_cursor_fires_once(scenario):
    assert not scenario["second_tick"].run_requests
    assert scenario["second_tick"].skip_message


def test_challenger_promoted_after_drift(scenario):
    promotion = scenario["promotion"]
    assert promotion["decision"] == "promoted", promotion["reasons"]
    assert promotion["ci_low"] > 0
    assert all(promotion["guardrails_passed"].values())
    assert scenario["champion_before_rollback"] == promotion["challenger_version"]
    tags = scenario["tags_before_rollback"][promotion["challenger_version"]]
    assert tags["evaluation_decision"] == "promoted"
    assert tags["previous_champion"] == promotion["champion_version"]
    assert "performance_drop" in tags["retrain_reason"]


def test_new_champion_better_on_unseen_drift_days(scenario):
    promotion = scenario["promotion"]
    old = scenario["unseen_ap"][promotion["champion_version"]]
    new = scenario["unseen_ap"][promotion["challenger_version"]]
    assert new > old + 0.1, scenario["unseen_ap"]


def test_weaker_challenger_not_promoted(scenario):
    rejection = scenario["rejection"]
    assert rejection["decision"] == "rejected"
    assert rejection["ci_low"] <= 0 or not all(rejection["guardrails_passed"].values())
    tags = scenario["tags_before_rollback"][rejection["challenger_version"]]
    assert tags["evaluation_decision"] == "rejected"
    assert scenario["champion_before_rollback"] == scenario["promotion"]["challenger_version"]


def test_rollback_restores_previous_champion(scenario):
    promotion = scenario["promotion"]
    assert scenario["rollback_exit"] == 0
    assert scenario["champion_after_rollback"] == promotion["champion_version"]
    tags = scenario["tags_after_rollback"][promotion["challenger_version"]]
    assert tags["rollback_reason"] == "manual rollback"
    assert "restored_at" in scenario["tags_after_rollback"][promotion["champion_version"]]
