"""Registered fraud model versions in MLflow: loading them and their drift references.

A version is an XGBoost booster logged with ``mlflow.xgboost`` in JSON format. Versions
trained by the retraining job also carry two Parquet artifacts in their run. The
training rows under ``reference/`` are the data drift reference. The held-out rows with
the model's scores under ``holdout/`` are the reference for prediction drift and give
the AP that performance monitoring compares against.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.tracking import MlflowClient

from risk_assets.resources.tracking import CHAMPION, current_alias_version

logger = logging.getLogger(__name__)

REFERENCE_FOLDER = "reference"
REFERENCE_FILE = "reference_features.parquet"
HOLDOUT_FOLDER = "holdout"
HOLDOUT_FILE = "holdout_scores.parquet"


class ModelVersionNotFoundError(LookupError):
    """A registered model has no version under the requested alias or number."""


@dataclass
class LoadedModel:
    """A registered booster ready to score.

    Attributes:
        name: Registered model name.
        version: Version number, as a string.
        run_id: MLflow run that logged the model.
        booster: The XGBoost booster.
        feature_names: Feature columns the booster expects, in order.
    """

    name: str
    version: str
    run_id: str
    booster: xgb.Booster
    feature_names: list[str]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Return the fraud probability of each row.

        Raises:
            ValueError: ``features`` lacks columns the booster was trained on.
        """
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ValueError(
                f"{self.name} v{self.version} needs feature columns {missing} that the "
                "scored frame lacks; build the features with the same feature code as training"
            )
        matrix = xgb.DMatrix(
            features[self.feature_names].astype(float), feature_names=self.feature_names
        )
        return self.booster.predict(matrix)


def load_version(client: MlflowClient, name: str, version: str) -> LoadedModel:
    """Load version ``version`` of the registered model ``name``."""
    details = client.get_model_version(name, version)
    booster = mlflow.xgboost.load_model(f"models:/{name}/{version}")
    if not isinstance(booster, xgb.Booster):
        booster = booster.get_booster()
    if not booster.feature_names:
        raise ValueError(
            f"{name} v{version} was saved without feature names; log the booster "
            "trained on a DMatrix with feature_names so that scoring can select columns"
        )
    return LoadedModel(
        name=name,
        version=str(details.version),
        run_id=str(details.run_id),
        booster=booster,
        feature_names=list(booster.feature_names),
    )


def champion_version(client: MlflowClient, name: str) -> str:
    """Return the version that the ``champion`` alias points to.

    Raises:
        ModelVersionNotFoundError: No champion is set yet.
    """
    version = current_alias_version(client, name, CHAMPION)
    if version is None:
        raise ModelVersionNotFoundError(
            f"registered model {name!r} has no {CHAMPION!r} alias yet; train a first "
            "version (the retraining job does), which becomes champion directly"
        )
    return version


def load_champion(client: MlflowClient, name: str) -> LoadedModel:
    """Load the version that the ``champion`` alias points to."""
    return load_version(client, name, champion_version(client, name))


def save_reference_artifacts(
    reference_features: pd.DataFrame, holdout_scores: pd.DataFrame, folder: Path
) -> dict[str, str]:
    """Write the drift references as Parquet files for ``log_training_run``.

    Returns:
        Local paths by artifact folder, the form ``log_training_run(artifacts=...)``
        takes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    reference_path = folder / REFERENCE_FILE
    holdout_path = folder / HOLDOUT_FILE
    reference_features.to_parquet(reference_path, index=False)
    holdout_scores.to_parquet(holdout_path, index=False)
    return {REFERENCE_FOLDER: str(reference_path), HOLDOUT_FOLDER: str(holdout_path)}


def load_reference_artifacts(model: LoadedModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Download the training reference and the held-out scores of a model version.

    Raises:
        FileNotFoundError: The version's run has no reference artifacts, so it was
            not trained by the retraining job.
    """
    frames = []
    with tempfile.TemporaryDirectory() as scratch:
        for folder, file_name in (
            (REFERENCE_FOLDER, REFERENCE_FILE),
            (HOLDOUT_FOLDER, HOLDOUT_FILE),
        ):
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=model.run_id, artifact_path=f"{folder}/{file_name}", dst_path=scratch
                )
            except (OSError, mlflow.exceptions.MlflowException) as error:
                raise FileNotFoundError(
                    f"{model.name} v{model.version} (run {model.run_id}) has no artifact "
                    f"{folder}/{file_name}; monitoring needs a champion trained by the "
                    "retraining job, which logs its drift reference"
                ) from error
            frames.append(pd.read_parquet(path))
    return frames[0], frames[1]
