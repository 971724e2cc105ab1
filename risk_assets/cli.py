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

from risk_assets.definitions import build_definitions
from risk_assets.ingestion.sources import SOURCE_TABLES
from risk_assets.settings import load_settings
from risk_assets.sources_config import raw_data_from_environment

SUMMARY_KEYS = {
    "fraud_model_evaluation": ("auc_roc", "average_precision", "card_precision_at_100"),
    "fraud_model": ("model_version", "best_rounds"),
    "fraud_decisions": ("decisions_approve", "decisions_review", "decisions_decline"),
    "fraud_rings": ("dagster/row_count", "largest_ring_size", "total_amount"),
    "transaction_outlier_scores": ("roc_auc_ensemble", "alert_rate"),
    "churn_model_evaluation": ("c_index",),
    "churn_crm_export": ("customers_to_call", "total_value_at_risk"),
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


def _run(selection: str | None, sources: dict, mappings: dict, run_config: dict) -> int:
    settings = load_settings()
    environ = dict(os.environ)
    environ.update({f"RISK_SOURCE_{table.upper()}": path for table, path in sources.items()})
    environ.update({f"RISK_MAPPING_{table.upper()}": name for table, name in mappings.items()})
    raw_data = raw_data_from_environment(environ)
    defs = build_definitions(settings, raw_data)
    job = defs.resolve_job_def("risk_lifecycle_job")

    asset_selection = None
    if selection:
        graph = defs.resolve_asset_graph()
        chosen = dg.AssetSelection.from_string(selection).required_multi_asset_neighbors()
        asset_selection = list(chosen.resolve(graph))
    started = time.monotonic()
    result = job.execute_in_process(
        instance=_instance(),
        run_config=run_config,
        asset_selection=asset_selection,
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started

    events = result.get_asset_materialization_events()
    summary: dict = {}
    for event in events:
        key = event.asset_key.to_user_string()
        metadata = event.materialization.metadata
        summary_keys = SUMMARY_KEYS.get(key, ())
        figures = {name: metadata[name].value for name in summary_keys if name in metadata}
        if figures:
            summary[key] = figures

    print(
        f"\nrun {result.run_id}: {'succeeded' if result.success else 'FAILED'} "
        f"in {elapsed:.0f} s, {len(events)} assets materialized"
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
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"  failed step {event.step_key}: {event.event_specific_data.error.message}")
        return 1
    print(
        json.dumps(
            {"run_id": result.run_id, "assets": len(events), "summary": summary}, default=str
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the command."""
    parser = argparse.ArgumentParser(prog="risk_assets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="materialize the whole asset graph on simulated data")
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
        return _run(None, {}, {}, {})
    run_config = {}
    if args.train_start:
        run_config = {"ops": {"fraud_model": {"config": {"train_start": args.train_start}}}}
    return _run(
        args.select,
        _pairs(args.source, "--source"),
        _pairs(args.mapping, "--mapping"),
        run_config,
    )


if __name__ == "__main__":
    sys.exit(main())
