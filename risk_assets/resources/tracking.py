"""MLflow tracking and model registration for training assets.

Runs are tracked through dagster-mlflow's ``mlflow_tracking`` resource (resource key
``mlflow``): it opens one MLflow run per Dagster run, tagged with the Dagster run id.
Each training asset logs a nested run of its own with ``log_training_run`` and
registers a new model version, tagged with the Dagster run id and the data version.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
from dagster_mlflow import mlflow_tracking
from dagster_mlflow.resources import MlFlow
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


def build_mlflow_resource(
    tracking_uri: str, experiment_name: str, artifact_location: str | None = None
) -> dg.ResourceDefinition:
    """Configure dagster-mlflow's tracking for one tracking server.

    Args:
        tracking_uri: MLflow tracking URI (``sqlite:///...`` locally, a server in AWS).
        experiment_name: Experiment that every training run goes to.
        artifact_location: Where a new experiment keeps its artifacts. For a SQLite
            store it defaults to ``mlartifacts`` beside the database file, because
            MLflow would otherwise write them to ``./mlruns`` of the working directory.
            A tracking server uses its own artifact root when this is None.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if artifact_location is None and tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri[len("sqlite:///") :])
        artifact_location = (database.parent / "mlartifacts").resolve().as_uri()

    @dg.resource(
        config_schema=mlflow_tracking.config_schema,
        description="dagster-mlflow run tracking: one MLflow run per Dagster run.",
    )
    def mlflow_run_tracking(init_context):
        _end_leftover_runs()
        if artifact_location:
            client = MlflowClient(tracking_uri)
            if client.get_experiment_by_name(experiment_name) is None:
                client.create_experiment(experiment_name, artifact_location=artifact_location)
        tracker = MlFlow(init_context)
        yield tracker
        tracker.cleanup_on_error()

    return mlflow_run_tracking.configured(
        {
            "experiment_name": experiment_name,
            "mlflow_tracking_uri": tracking_uri,
            "env": {"MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_REGISTRY_URI": tracking_uri},
        }
    )


def _end_leftover_runs() -> None:
    """End MLflow runs that earlier Dagster runs in this process left active.

    MLflow keeps the active run in process-global state. When an in-process Dagster run
    did not end its MLflow run (no ``end_mlflow_on_run_finished`` hook), the next run's
    tracking would log into that stale run, possibly on another tracking store.
    """
    while mlflow.active_run() is not None:
        stale = mlflow.active_run().info.run_id
        try:
            mlflow.end_run()
        except mlflow.exceptions.MlflowException as error:
            # end_run pops the run before it marks it finished, so the loop advances.
            logger.warning("could not mark stale MLflow run %s finished: %s", stale, error)


@dataclass(frozen=True)
class RegisteredModel:
    """A model version registered by a training asset.

    Attributes:
        name: Registered model name.
        version: Version number as a string, as MLflow returns it.
        run_id: MLflow run that logged the model.
        model_uri: ``models:/NAME/VERSION``.
        aliases: Aliases set on this version when it was registered.
    """

    name: str
    version: str
    run_id: str
    model_uri: str
    aliases: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serializable dict."""
        return {**asdict(self), "aliases": list(self.aliases)}


def log_training_run(
    context: dg.AssetExecutionContext,
    *,
    model_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    log_model: Callable[[], Any],
    data_version: str,
    tags: Mapping[str, str] | None = None,
    artifacts: Mapping[str, str] | None = None,
) -> RegisteredModel:
    """Log one training run as a nested MLflow run and register a model version.

    The new version gets the alias ``challenger``. When the registered model has no
    ``champion`` yet, the first version also becomes champion, with the reason
    recorded as a version tag, because there is nothing to compare it against.

    Args:
        context: The running asset's context; it must have the ``mlflow`` resource.
        model_name: Registered model name, such as ``fraud_xgboost``.
        params: Training parameters.
        metrics: Evaluation metrics (non-finite values are skipped with a warning).
        log_model: Called inside the run; logs the model with ``name="model"`` using an
            MLflow flavor and returns the ``ModelInfo``.
        data_version: Identifier of the training data (a content hash or window).
        tags: Extra tags for the run and the model version.
        artifacts: Local files to attach to the run, by artifact folder.

    Returns:
        The registered version.
    """
    tracker = context.resources.mlflow
    run_tags = {
        "dagster_run_id": context.run_id,
        "dagster_asset": context.asset_key.to_user_string(),
        "data_version": data_version,
        **(tags or {}),
    }
    with tracker.start_run(run_name=model_name, nested=True, tags=run_tags) as run:
        _log_params_and_metrics(context, params, metrics)
        for folder, path in (artifacts or {}).items():
            mlflow.log_artifact(path, artifact_path=folder)
        model_info = log_model()
        run_id = run.info.run_id

    client = MlflowClient()
    version = mlflow.register_model(model_info.model_uri, model_name, tags=run_tags)
    aliases = [CHALLENGER]
    client.set_registered_model_alias(model_name, CHALLENGER, version.version)
    if current_alias_version(client, model_name, CHAMPION) is None:
        client.set_registered_model_alias(model_name, CHAMPION, version.version)
        client.set_model_version_tag(
            model_name, version.version, "promotion_reason", "first version: no champion yet"
        )
        aliases.append(CHAMPION)
        context.log.info(f"{model_name} v{version.version} is the first version: now champion")
    context.log.info(
        f"registered {model_name} v{version.version} (run {run_id}) as {', '.join(aliases)}"
    )
    return RegisteredModel(
        name=model_name,
        version=str(version.version),
        run_id=run_id,
        model_uri=f"models:/{model_name}/{version.version}",
        aliases=tuple(aliases),
    )


def log_detector_run(
    context: dg.AssetExecutionContext,
    *,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    data_version: str,
    artifact_folders: Mapping[str, Path] | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log the fitting of unsupervised detectors as a nested MLflow run, without registering.

    Detectors are refitted on every materialization and scored in the same step, so
    there is no version to promote. The run records what was fitted, on which data and
    with which settings and results, and the files of detectors with a safe format.

    Args:
        context: The running asset's context; it must have the ``mlflow`` resource.
        run_name: Name of the run, such as the asset's name.
        params: Detector settings.
        metrics: Results (non-finite values are skipped with a warning).
        data_version: Identifier of the data the detectors were fitted on.
        artifact_folders: Local folders to attach, by artifact folder name.
        tags: Extra tags for the run.

    Returns:
        The MLflow run id.
    """
    run_tags = {
        "dagster_run_id": context.run_id,
        "dagster_asset": context.asset_key.to_user_string(),
        "data_version": data_version,
        **(tags or {}),
    }
    with context.resources.mlflow.start_run(run_name=run_name, nested=True, tags=run_tags) as run:
        _log_params_and_metrics(context, params, metrics)
        for name, folder in (artifact_folders or {}).items():
            mlflow.log_artifacts(str(folder), artifact_path=name)
        run_id = run.info.run_id
    context.log.info(f"logged {run_name} to MLflow run {run_id}")
    return run_id


def _log_params_and_metrics(
    context: dg.AssetExecutionContext, params: Mapping[str, Any], metrics: Mapping[str, float]
) -> None:
    """Log params (as text) and the finite metrics into the active MLflow run."""
    mlflow.log_params({key: _param_text(value) for key, value in params.items()})
    finite = {}
    for key, value in metrics.items():
        if value is None or not math.isfinite(value):
            context.log.warning(f"metric {key}={value} is not finite; not logged to MLflow")
            continue
        finite[key] = float(value)
    mlflow.log_metrics(finite)


def current_alias_version(client: MlflowClient, model_name: str, alias: str) -> str | None:
    """Return the version that ``alias`` points to, or None when it is not set."""
    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except mlflow.exceptions.MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."
