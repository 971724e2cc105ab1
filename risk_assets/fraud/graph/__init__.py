"""Fraud-ring graph models: a GNN over customers, terminals and devices.

The public functions work on the canonical transactions table and never look past the
cutoff they are given: ``train_graph_model`` fits the GNN, ``score_nodes`` scores every
node, ``add_graph_risk_features`` joins the scores onto transactions and
``find_fraud_rings`` groups linked high-risk entities.
"""

from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.rings import find_fraud_rings
from risk_assets.fraud.graph.scoring import (
    RISK_FEATURE_COLUMNS,
    add_graph_risk_features,
    score_nodes,
    score_nodes_over_time,
    weekly_cutoffs,
)
from risk_assets.fraud.graph.training import TrainedGraphModel, train_graph_model

__all__ = [
    "RISK_FEATURE_COLUMNS",
    "GraphModelConfig",
    "TrainedGraphModel",
    "add_graph_risk_features",
    "find_fraud_rings",
    "score_nodes",
    "score_nodes_over_time",
    "train_graph_model",
    "weekly_cutoffs",
]
