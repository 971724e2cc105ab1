"""Dagster definitions of the fraud graph package, merged by the code location."""

import dagster as dg

from risk_assets.fraud.graph.assets import fraud_graph_model, fraud_rings, graph_risk_scores

defs = dg.Definitions(assets=[fraud_graph_model, graph_risk_scores, fraud_rings])
