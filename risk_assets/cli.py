"""Command line: run the whole risk lifecycle, or a selection, and print a summary.

Examples::

    python -m risk_assets.cli demo
    python -m risk_assets.cli materialize \
        --source transactions=../shared/datasets/fraud/handbook_transactions \
        --mapping transactions=handbook_transactions \
        --select '+key:fraud_model_evaluation' --train-start 2018-07-25
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

import dagster as dg
import pandas as pd
from dagster._core.errors import DagsterError

from risk_assets.ingestion.sources import SOURCE_TABLES
from risk_assets.monitoring.assets import DRIFT_CHECK
from risk_assets.monitoring.sensors import SensorState, read_new_reports
from risk_assets.registry.assets import RETRAIN_REASON_TAG
from risk_assets.settings import load_settings
from risk_assets.sources_config import raw_data_from_environment

SUMMARY_KEYS = {
    "fraud_model_evaluation": ("auc_roc", "average_precision", "card_precision_at_100"),
    "fraud_model": ("model_version", "best_rounds"),
    "fraud_decisions": ("decisions_approve", "decisions_review", "decisions_decline"),
    "fraud_rings": ("dagster/row_count", "largest_ring_size", "total_amount"),
    "transaction_outlier_scores": ("roc_auc_ensemble", "alert_rate"),
    "churn_model_evaluation": ("c_index",),
    "churn_crm_export": ("customers_to_call",),
    "churn_predictions": ("total_value_at_risk",),
    "service_metric_anomalies": ("anomalous_points",),
    "incident_reports": ("top1_accuracy", "top3_accuracy", "incidents"),
}


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        table, sep, target = value.partition("=")
        if not sep or not table or not target:
            raise SystemExit(f"{flag} {value!r} is invalid; write TABLE=VALUE")
        if table not in SOURCE_TABLES:
            raise SystemExit(
                f"{flag} {value!r} names unknown table {table!r}; use one of {SOURCE_TABLES}"
            )
        pairs[table] = target
    return pairs


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _resolve_selection(defs: dg.Definitions, selection: str) -> list[dg.AssetKey]:
    """Return the asset keys that ``selection`` names; exit with a message when none."""
    if not selection.strip():
        raise SystemExit("--select is empty; name assets, such as 'fraud_model'.")
    try:
        chosen = dg.AssetSelection.from_string(selection).required_multi_asset_neighbors()
        keys = chosen.resolve(defs.resolve_asset_graph())
    except (DagsterError, ValueError) as error:
        raise SystemExit(f"--select {selection!r} is invalid: {error}") from None
    in_job = set(_job_asset_keys(defs))
    partitioned = sorted(key.to_user_string() for key in keys if key not in in_job)
    keys = [key for key in keys if key in in_job]
    if partitioned and not keys:
        raise SystemExit(
            f"--select {selection!r} names only daily-partitioned monitoring assets "
            f"{partitioned}. `make demo` runs them over the whole feed; in the UI, run "
            "fraud_daily_feature_job, fraud_daily_scoring_job or fraud_retraining_job for a day."
        )
    if not keys:
        raise SystemExit(
            f"--select {selection!r} matches no asset of risk_lifecycle_job. Name assets as in "
            "the UI, such as 'fraud_model' or '+key:incident_reports'."
        )
    return keys


def _job_asset_keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    """Return the asset keys that ``risk_lifecycle_job`` materializes."""
    job = defs.resolve_job_def("risk_lifecycle_job")
    return list(job.asset_layer.selected_asset_keys)


def _figures(events: list) -> dict:
    """Return the summary figures of each materialization that has some."""
    summary: dict = {}
    for event in events:
        key = event.asset_key.to_user_string()
        metadata = event.materialization.metadata
        summary_keys = SUMMARY_KEYS.get(key, ())
        figures = {name: metadata[name].value for name in summary_keys if name in metadata}
        if figures:
            summary[key] = figures
    return summary


def _failure_messages(result) -> list[str]:
    """Return one line per failed step with the innermost error message."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            lines.append(f"failed step {event.step_key}: {error.message.strip()}")
    return lines


def _data_warnings(events: list, results: list) -> list[str]:
    """Return one line per asset check that failed and per table with quarantined rows."""
    failed: dict[tuple[str, str], list[str]] = {}
    for result in results:
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                key = (check.asset_key.to_user_string(), check.check_name)
                failed.setdefault(key, []).append(check.description or "")
    lines = []
    for (asset, name), descriptions in sorted(failed.items()):
        line = f"check {name} on {asset} failed {len(descriptions)} time(s)"
        lines.append(f"{line}: {descriptions[-1]}" if descriptions[-1] else line)
    for event in events:
        table = event.asset_key.to_user_string()
        quarantined = event.materialization.metadata.get("quarantined_rows")
        # The quarantine outputs carry the same counts, so only the tables are listed.
        if quarantined is not None and quarantined.value and not table.endswith("_quarantine"):
            lines.append(f"{table}: {quarantined.value} rows quarantined, see {table}_quarantine")
    return lines


def _run_monitoring(defs: dg.Definitions, instance: dg.DagsterInstance) -> tuple[list, dict]:
    """Run the monitoring loop over the whole simulated feed, as its schedules would.

    Every day's features are computed, every scored day gets predictions and a drift
    report, and the retraining sensor is evaluated once. The run it requests trains a
    challenger. Without a request, one challenger is trained on the last day, as a
    periodic retraining would. The champion-challenger evaluation then decides.

    Returns:
        The results of the runs, in order, and the loop's summary figures.
    """
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    # The sensor starts after the reports already stored, such as an earlier demo's, so
    # that it acts on this loop's reports only.
    _, records_cursor = read_new_reports(instance, dg.AssetKey("fraud_drift_report"), None)
    feature_job = defs.resolve_job_def("fraud_daily_feature_job")
    scoring_job = defs.resolve_job_def("fraud_daily_scoring_job")
    retraining_job = defs.resolve_job_def("fraud_retraining_job")
    results = []
    for job in (feature_job, scoring_job):
        for key in job.partitions_def.get_partition_keys():
            result = job.execute_in_process(
                partition_key=key, instance=instance, run_config=quiet, raise_on_error=False
            )
            results.append(result)
            if not result.success:
                return results, {}
    scored_days = scoring_job.partitions_def.get_partition_keys()

    sensor = defs.resolve_sensor_def("fraud_drift_retraining_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        definitions=defs,
        cursor=SensorState(records_cursor=records_cursor).to_cursor(),
    )
    tick = sensor.evaluate_tick(context)
    if tick.run_requests:
        request = tick.run_requests[0]
        partition, tags = request.partition_key, dict(request.tags)
    else:
        partition = scored_days[-1]
        tags = {RETRAIN_REASON_TAG: "periodic retraining: the sensor found no drift event"}
    result = retraining_job.execute_in_process(
        partition_key=partition,
        tags=tags,
        instance=instance,
        run_config=quiet,
        raise_on_error=False,
    )
    results.append(result)
    if not result.success:
        return results, {}

    drift_failed = sum(
        1
        for run in results
        for check in run.get_asset_check_evaluations()
        if check.check_name == DRIFT_CHECK and not check.passed
    )
    evaluation = result.output_for_node("fraud_champion_challenger_evaluation")
    summary = {
        "fraud_monitoring": {
            "days_featurized": len(feature_job.partitions_def.get_partition_keys()),
            "days_scored": len(scored_days),
            "drift_check_failures": drift_failed,
            "retraining_as_of": partition,
            "retrain_reason": tags[RETRAIN_REASON_TAG],
            "champion_challenger": evaluation["decision"],
            "champion_version": evaluation["champion_version"],
            "challenger_version": evaluation["challenger_version"],
        }
    }
    return results, summary


def _run(
    selection: str | None,
    sources: dict,
    mappings: dict,
    run_config: dict,
    monitoring: bool = False,
) -> int:
    try:
        settings = load_settings()
    except ValueError as error:
        raise SystemExit(str(error)) from None
    environ = dict(os.environ)
    environ.update({f"RISK_SOURCE_{table.upper()}": path for table, path in sources.items()})
    environ.update({f"RISK_MAPPING_{table.upper()}": name for table, name in mappings.items()})
    try:
        raw_data = raw_data_from_environment(environ)
        # Imported here: the module builds the code location from the environment,
        # which --help must not need.
        from risk_assets.definitions import build_definitions

        defs = build_definitions(settings, raw_data)
    except ValueError as error:
        raise SystemExit(f"cannot build the code location: {error}") from None
    job = defs.resolve_job_def("risk_lifecycle_job")
    asset_selection = _resolve_selection(defs, selection) if selection is not None else None

    instance = _instance()
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        run_config=run_config,
        asset_selection=asset_selection,
        raise_on_error=False,
    )
    events = result.get_asset_materialization_events()
    summary = _figures(events)
    failures = _failure_messages(result)
    runs: list = []
    if monitoring and result.success:
        if "transactions" in raw_data.sources:
            print(
                "monitoring loop skipped: its daily partitions follow the simulator's "
                "calendar, and the transactions come from "
                f"{raw_data.sources['transactions']}"
            )
        else:
            runs, loop_summary = _run_monitoring(defs, instance)
            for run in runs:
                events += run.get_asset_materialization_events()
                failures += _failure_messages(run)
            summary.update(loop_summary)
    elapsed = time.monotonic() - started
    success = not failures
    assets = len({event.asset_key for event in events})
    warnings = _data_warnings(events, [result, *runs])

    print(
        f"\nrun {result.run_id}: {'succeeded' if success else 'FAILED'} "
        f"in {elapsed:.0f} s, {len(events)} materializations of {assets} assets"
    )
    for key, figures in summary.items():
        text = ", ".join(
            f"{name}={value:.4f}" if isinstance(value, float) else f"{name}={value}"
            for name, value in figures.items()
        )
        print(f"  {key}: {text}")
    print(f"profile: {settings.profile}")
    print(f"outputs: {settings.data_dir if settings.profile == 'local' else settings.s3_bucket}")
    print(f"MLflow tracking URI: {settings.mlflow_tracking_uri}")
    if warnings:
        print("warnings:")
        for line in warnings:
            print(f"  {line}")
    if not success:
        for line in failures:
            print(f"  {line}")
        return 1
    print(
        json.dumps(
            {
                "run_id": result.run_id,
                "assets": assets,
                "materializations": len(events),
                "summary": summary,
                "warnings": warnings,
            },
            default=str,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the command."""
    parser = argparse.ArgumentParser(prog="risk_assets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="materialize the whole asset graph on simulated data, then run the daily "
        "monitoring loop over the feed",
    )
    run = commands.add_parser("materialize", help="materialize a selection on chosen data")
    run.add_argument(
        "--source",
        action="append",
        default=[],
        help="TABLE=PATH: read a table from a CSV/Parquet file, folder or s3 URI",
    )
    run.add_argument(
        "--mapping",
        action="append",
        default=[],
        help="TABLE=NAME: column mapping (shipped name or YAML path)",
    )
    run.add_argument(
        "--select",
        default=None,
        help="Dagster asset selection, such as '+key:fraud_model_evaluation'",
    )
    run.add_argument(
        "--train-start", default="", help="first training day of the fraud model (ISO date)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.command == "demo":
        return _run(None, {}, {}, {}, monitoring=True)
    run_config = {}
    if args.train_start:
        try:
            day = pd.Timestamp(args.train_start)
        except ValueError as error:
            raise SystemExit(
                f"--train-start {args.train_start!r} is invalid ({error}); give an ISO date "
                "such as 2018-07-25"
            ) from None
        if day.tz is not None or day != day.normalize():
            raise SystemExit(
                f"--train-start {args.train_start!r} is invalid; give a date without time or "
                "offset, such as 2018-07-25"
            )
        run_config = {"ops": {"fraud_model": {"config": {"train_start": args.train_start}}}}
    return _run(
        args.select,
        _pairs(args.source, "--source"),
        _pairs(args.mapping, "--mapping"),
        run_config,
    )


if __name__ == "__main__":
    sys.exit(main())
