"""Deployment profile, paths and environment variables.

One switch, ``RISK_PROFILE``, selects where data and models live:

- ``local`` (default): Parquet files under ``RISK_DATA_DIR`` (default ``.risk_data``
  in the project root) and an MLflow SQLite store in the same folder.
- ``aws``: Parquet objects in ``s3://$RISK_S3_BUCKET/$RISK_S3_PREFIX`` through
  dagster-aws's S3 resource, and the MLflow server named by ``MLFLOW_TRACKING_URI``.

Only ``definitions.py`` reads these settings; asset code never branches on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("local", "aws")


class SettingsError(ValueError):
    """An environment variable is missing or has an invalid value."""


@dataclass(frozen=True)
class Settings:
    """Resolved deployment settings.

    Attributes:
        profile: ``local`` or ``aws``.
        data_dir: Local folder for Parquet outputs and the MLflow store.
        mlflow_tracking_uri: Where MLflow runs and registered models go.
        s3_bucket: Bucket for the ``aws`` profile.
        s3_prefix: Key prefix inside the bucket.
        s3_endpoint_url: S3 endpoint for S3-compatible servers; AWS when empty.
        mlflow_experiment: Experiment that training runs are logged to.
        mlflow_artifact_location: Where a new experiment keeps its artifacts; None
            leaves it to the tracking server.
    """

    profile: str
    data_dir: Path
    mlflow_tracking_uri: str
    s3_bucket: str | None
    s3_prefix: str
    s3_endpoint_url: str | None
    mlflow_experiment: str
    mlflow_artifact_location: str | None = None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the deployment settings from the environment.

    Args:
        environ: Mapping to read instead of ``os.environ`` (tests pass their own).

    Returns:
        The resolved settings.

    Raises:
        SettingsError: The profile is unknown, or the ``aws`` profile lacks its bucket
            or tracking URI.
    """
    env = os.environ if environ is None else environ
    profile = env.get("RISK_PROFILE", "local").strip().lower()
    if profile not in PROFILES:
        raise SettingsError(
            f"RISK_PROFILE={profile!r} is not a known profile; set it to one of {PROFILES}"
        )
    data_dir = Path(env.get("RISK_DATA_DIR", PROJECT_ROOT / ".risk_data")).resolve()
    experiment = env.get("RISK_MLFLOW_EXPERIMENT", "risk_assets")

    if profile == "local":
        tracking_uri = env.get("MLFLOW_TRACKING_URI")
        artifacts = None
        if not tracking_uri:
            # A SQLite store has no artifact root, so artifacts would go to ./mlruns of
            # whatever folder the command runs in.
            tracking_uri = f"sqlite:///{data_dir / 'mlflow.db'}"
            artifacts = (data_dir / "mlartifacts").as_uri()
        return Settings(
            profile="local",
            data_dir=data_dir,
            mlflow_tracking_uri=tracking_uri,
            s3_bucket=None,
            s3_prefix="",
            s3_endpoint_url=None,
            mlflow_experiment=experiment,
            mlflow_artifact_location=artifacts,
        )

    bucket = env.get("RISK_S3_BUCKET", "").strip()
    if not bucket:
        raise SettingsError("RISK_PROFILE=aws needs RISK_S3_BUCKET, the bucket for asset data")
    tracking_uri = env.get("MLFLOW_TRACKING_URI", "").strip()
    if not tracking_uri:
        raise SettingsError(
            "RISK_PROFILE=aws needs MLFLOW_TRACKING_URI, for example "
            "postgresql://user@host/mlflow or https://mlflow.example.com"
        )
    return Settings(
        profile="aws",
        data_dir=data_dir,
        mlflow_tracking_uri=tracking_uri,
        s3_bucket=bucket,
        s3_prefix=env.get("RISK_S3_PREFIX", "risk_assets").strip("/"),
        s3_endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
        mlflow_experiment=experiment,
    )
