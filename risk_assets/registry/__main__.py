"""Command line for the model registry.

Usage::

    python -m risk_assets.registry rollback fraud_xgboost [--reason TEXT]

The tracking server is ``--tracking-uri`` or, by default, the one the deployment
settings name (``MLFLOW_TRACKING_URI``, or the local SQLite store).
"""

from __future__ import annotations

import argparse
import os
import sys

from mlflow.tracking import MlflowClient

from risk_assets.registry.aliases import rollback_champion
from risk_assets.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the registry command."""
    parser = argparse.ArgumentParser(prog="python -m risk_assets.registry")
    commands = parser.add_subparsers(dest="command", required=True)
    rollback = commands.add_parser(
        "rollback", help="point the champion alias back at the version it replaced"
    )
    rollback.add_argument("model_name", help="registered model name, such as fraud_xgboost")
    rollback.add_argument("--reason", default="manual rollback", help="reason recorded as a tag")
    rollback.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI; default: the deployment settings' URI",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the registry command; return the process exit code."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    args = build_parser().parse_args(argv)
    tracking_uri = args.tracking_uri or load_settings().mlflow_tracking_uri
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        move = rollback_champion(client, args.model_name, args.reason)
    except LookupError as error:
        print(f"rollback failed: {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(  # noqa: T201
        f"{move.model_name}: champion rolled back from v{move.from_version} to v{move.to_version}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
