"""MLflow pyfunc wrapper of the fraud graph GNN, logged as "model from code".

MLflow stores this file's source instead of a pickle of the model object. The weights are
a separate ``state_dict`` artifact read with ``torch.load(weights_only=True)``, and the
network shape and settings are a JSON artifact, so loading the model runs no pickled code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.model import model_from_bytes
from risk_assets.fraud.graph.scoring import score_nodes
from risk_assets.fraud.graph.training import TrainedGraphModel

STATE_DICT_ARTIFACT = "state_dict"
SPEC_ARTIFACT = "spec"


class GraphRiskPyfunc(mlflow.pyfunc.PythonModel):
    """Score nodes of a transactions table with a saved fraud graph model.

    ``predict`` takes a canonical transactions table and an optional ``cutoff`` parameter
    (ISO timestamp, default the training cutoff) and returns ``score_nodes`` output.
    """

    def load_context(self, context: Any) -> None:
        """Rebuild the network from the spec and state_dict artifacts."""
        spec = json.loads(Path(context.artifacts[SPEC_ARTIFACT]).read_text())
        weights = Path(context.artifacts[STATE_DICT_ARTIFACT]).read_bytes()
        self.trained = TrainedGraphModel(
            model=model_from_bytes(spec["model"], weights),
            config=GraphModelConfig(**spec["config"]),
            cutoff=pd.Timestamp(spec["cutoff"]),
            spec=spec["model"],
        )

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Return per-node risk scores for ``model_input`` at the requested cutoff."""
        cutoff = (params or {}).get("cutoff")
        return score_nodes(self.trained, model_input, cutoff)


mlflow.models.set_model(GraphRiskPyfunc())
