"""MLflow pyfunc model of the churn survival model, logged as "models from code".

MLflow runs this file when the model is loaded, so nothing is pickled: the fitted
parameters come from the JSON artifact ``churn_model``. Other modules must not import
this file, because importing it registers the model with ``mlflow.models.set_model``.

The serving environment needs the ``risk_assets`` package installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from risk_assets.churn.predictions import predict_churn
from risk_assets.churn.training import TrainingResult


class ChurnSurvivalModel(PythonModel):
    """Scores customer 360 rows with the stored survival model."""

    def load_context(self, context) -> None:
        """Read the fitted parameters from the ``churn_model`` JSON artifact."""
        payload = json.loads(Path(context.artifacts["churn_model"]).read_text())
        self.result = TrainingResult.from_dict(payload)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Return horizon probabilities, remaining lifetime and value per customer."""
        return predict_churn(self.result.model, self.result.encoder, model_input)


mlflow.models.set_model(ChurnSurvivalModel())
