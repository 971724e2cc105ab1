"""Fraud model on the Fraud Detection Handbook transactions, with its published protocol.

Loads the data through the platform's loader and column mapping, builds the
point-in-time features and trains on 2018-07-25..07-31, with a 7-day label delay,
testing on 2018-08-08..08-14 with customers already known as compromised removed.

Two models are measured side by side:

- ``handbook_features``: the handbook's own feature set (amount, weekend, night,
  customer counts and means over 1/7/30 days, terminal counts and delayed fraud rates)
  with the handbook's XGBoost settings, to check the protocol reproduces its figures.
- ``platform``: every platform feature, with hyperparameters chosen on a validation
  split that ends before the test window (the same protocol shifted 7 days earlier).
- ``platform_graph``: the same plus the GNN's customer, terminal and device risk
  scores, from models retrained weekly on data before each cutoff. Whether the graph
  features are kept is decided by validation AP, like the hyperparameters.

Usage: python benchmarks/fraud_handbook.py --data ../shared/datasets/fraud/handbook_transactions
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import pandas as pd

from risk_assets.features.fraud_features import FEATURE_COLUMNS, build_transaction_features
from risk_assets.fraud.evaluation import TimeSplit, evaluate_scores, filter_known_compromised
from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.scoring import (
    RISK_FEATURE_COLUMNS,
    add_graph_risk_features,
    score_nodes_over_time,
    weekly_cutoffs,
)
from risk_assets.fraud.training import XGBoostParams, train_fraud_model
from risk_assets.ingestion.loaders import load_table

PUBLISHED = {
    "xgboost": {"auc_roc": 0.862, "average_precision": 0.639, "card_precision_at_100": 0.273},
    "random_forest": {
        "auc_roc": 0.867,
        "average_precision": 0.658,
        "card_precision_at_100": 0.287,
    },
    "logistic_regression": {
        "auc_roc": 0.871,
        "average_precision": 0.606,
        "card_precision_at_100": 0.291,
    },
}
TEST_SPLIT = TimeSplit(pd.Timestamp("2018-07-25"))
VALIDATION_SPLIT = TimeSplit(pd.Timestamp("2018-07-18"))
HANDBOOK_FEATURES = ["amount", "is_weekend", "is_night"] + [
    name
    for name in FEATURE_COLUMNS
    if name.startswith(("customer_tx_count", "customer_avg_amount", "terminal_"))
]
GRID = {
    "max_depth": (4, 6),
    "learning_rate": (0.05, 0.1),
    "scale_pos_weight": (1.0, 5.0),
    "tree_method": ("hist", "exact"),
}
GRAPH_FEATURES = list(RISK_FEATURE_COLUMNS.values())


def score(features: pd.DataFrame, split: TimeSplit, names: list[str], params) -> dict:
    """Train on ``split`` and return the protocol's figures on its test window."""
    model = train_fraud_model(features, split, names, params)
    test = filter_known_compromised(features, split)
    result = evaluate_scores(test.assign(score=model.predict(test)), k=100)
    result.pop("per_day")
    result["best_rounds"] = model.best_rounds
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder or file of the handbook data")
    parser.add_argument("--out", default="benchmarks/results/fraud_handbook.json")
    args = parser.parse_args()

    started = time.monotonic()
    loaded = load_table(args.data, "transactions", "handbook_transactions")
    features = build_transaction_features(loaded.accepted)
    print(f"loaded {loaded.input_rows} rows, {len(loaded.quarantine)} quarantined")

    baseline_params = XGBoostParams(max_rounds=100, validation_days=0, tree_method="exact")
    baseline = score(features, TEST_SPLIT, HANDBOOK_FEATURES, baseline_params)
    print(f"handbook features: {baseline}")

    search = []
    for values in itertools.product(*GRID.values()):
        chosen = dict(zip(GRID, values, strict=True))
        params = XGBoostParams(**chosen)
        figures = score(features, VALIDATION_SPLIT, FEATURE_COLUMNS, params)
        search.append({**chosen, **figures})
        print(f"validation {chosen}: AP {figures['average_precision']:.4f}")
    best = max(search, key=lambda row: row["average_precision"])
    best_params = {key: best[key] for key in GRID}
    platform = score(features, TEST_SPLIT, FEATURE_COLUMNS, XGBoostParams(**best_params))
    print(f"platform (chosen on validation {best_params}): {platform}")

    graph_config = GraphModelConfig()
    cutoffs = weekly_cutoffs(loaded.accepted, graph_config)
    graph_scores, _ = score_nodes_over_time(loaded.accepted, cutoffs, graph_config)
    with_graph = add_graph_risk_features(features, graph_scores)
    graph_names = FEATURE_COLUMNS + GRAPH_FEATURES
    graph_validation = score(
        with_graph, VALIDATION_SPLIT, graph_names, XGBoostParams(**best_params)
    )
    platform_graph = score(with_graph, TEST_SPLIT, graph_names, XGBoostParams(**best_params))
    keep_graph = graph_validation["average_precision"] > best["average_precision"]
    print(
        f"platform + graph: validation AP {graph_validation['average_precision']:.4f}, "
        f"test {platform_graph}; kept: {keep_graph}"
    )
    chosen = platform_graph if keep_graph else platform

    keys = ("auc_roc", "average_precision", "card_precision_at_100")
    result = {
        **{key: round(chosen[key], 4) for key in keys},
        "chosen_params": best_params,
        "graph_features_kept": bool(keep_graph),
        "validation_average_precision": round(best["average_precision"], 4),
        "validation_average_precision_graph": round(graph_validation["average_precision"], 4),
        "platform": {key: round(platform[key], 4) for key in keys},
        "platform_graph": {key: round(platform_graph[key], 4) for key in keys},
        "graph_cutoffs": len(cutoffs),
        "handbook_features": {key: round(baseline[key], 4) for key in keys},
        "published": PUBLISHED,
        "test_transactions": platform["test_transactions"],
        "test_frauds": platform["test_frauds"],
        "seconds": round(time.monotonic() - started, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
