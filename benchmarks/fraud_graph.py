"""Benchmark the fraud graph GNN against non-graph baselines on two public data sets.

1. Handbook transactions (simulated card payments, ULB/Worldline Fraud Detection Handbook):
   terminal-level detection of compromised terminals. For each test cutoff ``T`` every model
   is trained with ``train_graph_model``'s point-in-time snapshots (only transactions before
   ``T``, labels known before ``T - 7 days``). The evaluated terminals are those with at
   least one transaction in ``[T, T + 7 days)``. A terminal is positive when one of those
   transactions is a scenario-2 fraud (the handbook's compromised-terminal scenario).
   Baselines: XGBoost and logistic regression on the terminal's own aggregate features
   from the same snapshots, with the same targets and the same held-out snapshot.
2. YelpChi reviews (user-product graph, no text, ratings or dates): user-level spam, where a
   user is positive when Yelp filtered at least one of their reviews. Users are split at
   random 60/20/20 (stratified). The GNN gets the user's own structural features and
   the graph, while the baselines get only the user's own features.

Usage:
    .venv/bin/python benchmarks/fraud_graph.py --data ../shared/datasets
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.model import HeteroGraphSAGE
from risk_assets.fraud.graph.snapshot import build_snapshot, prepare_transactions
from risk_assets.fraud.graph.training import (
    hide_future_labels,
    train_graph_model,
    training_snapshots,
)
from risk_assets.ingestion.loaders import load_table

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

HANDBOOK_CUTOFFS = ("2018-07-25", "2018-08-01", "2018-08-08")
COMPROMISED_TERMINAL_SCENARIO = 2
TEST_DAYS = 7
XGB_PARAMS = {
    "n_estimators": 500,
    "max_depth": 4,
    "learning_rate": 0.05,
    "tree_method": "hist",
    "early_stopping_rounds": 30,
    "eval_metric": "aucpr",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        required=True,
        type=Path,
        help="datasets root containing fraud/handbook_transactions and graph/yelpchi_reviews",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "fraud_graph.json",
        help="JSON file for the figures (default benchmarks/results/fraud_graph.json)",
    )
    parser.add_argument(
        "--seeds", default="0,1,2", help="comma-separated GNN seeds (default 0,1,2)"
    )
    parser.add_argument(
        "--cutoffs",
        default=",".join(HANDBOOK_CUTOFFS),
        help="comma-separated handbook test cutoffs, ISO dates",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1, which was fastest on a shared 2-core machine)",
    )
    parser.add_argument("--skip-yelp", action="store_true", help="run the handbook part only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    started = time.perf_counter()
    handbook_path = args.data / "fraud" / "handbook_transactions"
    yelp_path = args.data / "graph" / "yelpchi_reviews" / "metadata.gz"
    for path in (handbook_path, yelp_path):
        if not path.exists():
            raise SystemExit(f"missing data set {path}; pass the datasets root with --data")

    results: dict = {"hardware": "2-core CPU, no GPU", "torch_threads": args.threads}
    cutoffs = [pd.Timestamp(value) for value in args.cutoffs.split(",")]
    results["handbook"] = run_handbook(handbook_path, cutoffs, seeds)
    if not args.skip_yelp:
        results["yelpchi"] = run_yelp(yelp_path, seeds)
    results["seconds"] = round(time.perf_counter() - started, 1)

    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results))
    return results


def run_handbook(path: Path, cutoffs: list[pd.Timestamp], seeds: list[int]) -> dict:
    """Return terminal-level AP and AUC per cutoff for the GNN and both baselines."""
    loaded = load_table(path, "transactions", mapping="handbook_transactions")
    transactions = loaded.accepted
    print(f"handbook: {len(transactions)} transactions, {len(loaded.quarantine)} quarantined")
    config = GraphModelConfig()
    per_cutoff = []
    for cutoff in cutoffs:
        test = transactions.loc[
            (transactions["timestamp"] >= cutoff)
            & (transactions["timestamp"] < cutoff + pd.Timedelta(days=TEST_DAYS))
        ]
        population = pd.Index(test["terminal_id"].astype(str).unique())
        compromised = test.loc[
            test["fraud_scenario"] == COMPROMISED_TERMINAL_SCENARIO, "terminal_id"
        ].astype(str)
        target = population.isin(set(compromised)).astype(int)
        row = {
            "cutoff": str(cutoff.date()),
            "test_terminals": len(population),
            "compromised_terminals": int(target.sum()),
        }

        snapshots = training_snapshots(transactions, cutoff, config)
        prepared = hide_future_labels(
            prepare_transactions(transactions), cutoff, config.label_delay_days
        )
        current = build_snapshot(prepared, cutoff, config, list(snapshots[0].node_ids))
        current_features = current.features["terminal"]
        for name, scores in baseline_terminal_scores(snapshots, current_features).items():
            ranked = scores.reindex(population).fillna(-np.inf)
            row[f"{name}_ap"], row[f"{name}_auc"] = _ap_auc(target, ranked)

        gnn_ap, gnn_auc = [], []
        for seed in seeds:
            tick = time.perf_counter()
            trained = train_graph_model(transactions, cutoff, GraphModelConfig(seed=seed))
            with torch.no_grad():
                logits = trained.model(current.data.x_dict, current.adjacency)["terminal"]
            scores = pd.Series(logits.numpy(), index=current.node_ids["terminal"])
            ap, auc = _ap_auc(target, scores.reindex(population).fillna(-np.inf))
            gnn_ap.append(ap)
            gnn_auc.append(auc)
            print(
                f"  {cutoff.date()} seed {seed}: GNN AP {ap:.4f} AUC {auc:.4f} "
                f"({time.perf_counter() - tick:.0f} s, "
                f"{trained.metrics['epochs']:.0f} epochs)"
            )
        row.update(_seed_summary("gnn", gnn_ap, gnn_auc))
        print(f"handbook {row}")
        per_cutoff.append(row)

    summary = {"protocol": _handbook_protocol(config), "per_cutoff": per_cutoff}
    for key in ("gnn_ap", "gnn_auc", "xgboost_ap", "xgboost_auc", "logreg_ap", "logreg_auc"):
        summary[f"mean_{key}"] = round(float(np.mean([row[key] for row in per_cutoff])), 4)
    return summary


def baseline_terminal_scores(snapshots: list, current: pd.DataFrame) -> dict[str, pd.Series]:
    """Fit XGBoost and logistic regression on the terminals' own snapshot features."""
    train, validation = snapshots[1:] or snapshots, snapshots[0]
    features = pd.concat([snapshot.features["terminal"] for snapshot in train])
    target = np.concatenate([snapshot.data["terminal"].y.numpy() for snapshot in train])
    xgboost = XGBClassifier(**XGB_PARAMS, random_state=0)
    xgboost.fit(
        features.to_numpy(),
        target,
        eval_set=[
            (validation.features["terminal"].to_numpy(), validation.data["terminal"].y.numpy())
        ],
        verbose=False,
    )
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logreg.fit(features.to_numpy(), target)
    return {
        "xgboost": pd.Series(xgboost.predict_proba(current.to_numpy())[:, 1], index=current.index),
        "logreg": pd.Series(logreg.predict_proba(current.to_numpy())[:, 1], index=current.index),
    }


def run_yelp(path: Path, seeds: list[int]) -> dict:
    """Return user-level spam AP and AUC on the test users for the GNN and baselines."""
    with gzip.open(path, "rt") as handle:
        reviews = pd.read_csv(
            handle, sep=" ", header=None, names=["user", "product", "rating", "label", "date"]
        )
    users = pd.Index(np.sort(reviews["user"].unique()))
    products = pd.Index(np.sort(reviews["product"].unique()))
    spam_users = set(reviews.loc[reviews["label"] == -1, "user"])
    target = users.isin(spam_users).astype(np.float32)
    print(
        f"yelpchi: {len(reviews)} reviews, {len(users)} users, {len(products)} products, "
        f"{target.mean():.3f} spam users"
    )

    own = _yelp_user_features(reviews, users)
    index = np.arange(len(users))
    train, rest = train_test_split(index, test_size=0.4, stratify=target, random_state=0)
    validation, test = train_test_split(rest, test_size=0.5, stratify=target[rest], random_state=0)
    result: dict = {
        "protocol": "users split 60/20/20 at random (stratified, seed 0); positive = at least "
        "one filtered review; features from the graph structure only",
        "test_users": int(len(test)),
        "test_spam_users": int(target[test].sum()),
    }

    xgboost = XGBClassifier(**XGB_PARAMS, random_state=0)
    xgboost.fit(
        own[train], target[train], eval_set=[(own[validation], target[validation])], verbose=False
    )
    result["xgboost_ap"], result["xgboost_auc"] = _ap_auc(
        target[test], xgboost.predict_proba(own[test])[:, 1]
    )
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logreg.fit(own[train], target[train])
    result["logreg_ap"], result["logreg_auc"] = _ap_auc(
        target[test], logreg.predict_proba(own[test])[:, 1]
    )

    graph = _yelp_graph(reviews, users, products, own)
    gnn_ap, gnn_auc = [], []
    for seed in seeds:
        tick = time.perf_counter()
        scores = _train_yelp_gnn(graph, target, train, validation, seed)
        ap, auc = _ap_auc(target[test], scores[test])
        gnn_ap.append(ap)
        gnn_auc.append(auc)
        print(
            f"  yelpchi seed {seed}: GNN AP {ap:.4f} AUC {auc:.4f} "
            f"({time.perf_counter() - tick:.0f} s)"
        )
    result.update(_seed_summary("gnn", gnn_ap, gnn_auc))
    return result


def _yelp_user_features(reviews: pd.DataFrame, users: pd.Index) -> np.ndarray:
    per_pair = reviews.groupby(["user", "product"]).size()
    grouped = per_pair.groupby(level="user")
    frame = pd.DataFrame(
        {
            "log_reviews": np.log1p(grouped.sum()),
            "log_products": np.log1p(grouped.size()),
            "max_reviews_one_product": grouped.max(),
        }
    ).reindex(users)
    return frame.to_numpy(dtype=np.float32)


def _yelp_graph(
    reviews: pd.DataFrame, users: pd.Index, products: pd.Index, own: np.ndarray
) -> dict:
    pairs = reviews[["user", "product"]].drop_duplicates()
    user_index = torch.tensor(users.get_indexer(pairs["user"]), dtype=torch.long)
    product_index = torch.tensor(products.get_indexer(pairs["product"]), dtype=torch.long)
    # Products carry their degree plus a one-hot identity, so the GNN can learn how much
    # spam each product attracts from the training users' labels.
    degree = np.log1p(reviews.groupby("product").size().reindex(products).to_numpy())
    product_x = np.hstack([degree[:, None], np.eye(len(products))]).astype(np.float32)
    forward = torch.sparse_coo_tensor(
        torch.stack([product_index, user_index]),
        torch.ones(len(pairs)),
        (len(products), len(users)),
    ).to_sparse_csr()
    backward = torch.sparse_coo_tensor(
        torch.stack([user_index, product_index]),
        torch.ones(len(pairs)),
        (len(users), len(products)),
    ).to_sparse_csr()
    return {
        "x": {"user": torch.tensor(own), "product": torch.tensor(product_x)},
        "edges": {
            ("user", "reviews", "product"): forward,
            ("product", "rev_reviews", "user"): backward,
        },
    }


def _train_yelp_gnn(
    graph: dict, target: np.ndarray, train: np.ndarray, validation: np.ndarray, seed: int
) -> np.ndarray:
    torch.manual_seed(seed)
    model = HeteroGraphSAGE(
        ["user", "product"],
        list(graph["edges"]),
        {name: x.shape[1] for name, x in graph["x"].items()},
        hidden_dim=32,
        n_layers=2,
        dropout=0.2,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    labels = torch.tensor(target)
    best_ap, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, 301):
        model.train()
        optimizer.zero_grad()
        logits = model(graph["x"], graph["edges"])["user"]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[train], labels[train])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            scores = model(graph["x"], graph["edges"])["user"].numpy()
        ap = average_precision_score(target[validation], scores[validation])
        if ap > best_ap:
            best_ap, best_epoch = ap, epoch
            best_state = {key: value.clone() for key, value in model.state_dict().items()}
        elif epoch - best_epoch >= 30:
            break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        return model(graph["x"], graph["edges"])["user"].numpy()


def _ap_auc(target: np.ndarray, scores: np.ndarray | pd.Series) -> tuple[float, float]:
    values = np.asarray(scores, dtype=float)
    return (
        round(float(average_precision_score(target, values)), 4),
        round(float(roc_auc_score(target, values)), 4),
    )


def _seed_summary(prefix: str, aps: list[float], aucs: list[float]) -> dict:
    return {
        f"{prefix}_ap": round(float(np.mean(aps)), 4),
        f"{prefix}_ap_std": round(float(np.std(aps)), 4),
        f"{prefix}_auc": round(float(np.mean(aucs)), 4),
        f"{prefix}_auc_std": round(float(np.std(aucs)), 4),
        f"{prefix}_seeds": len(aps),
    }


def _handbook_protocol(config: GraphModelConfig) -> str:
    return (
        f"train at cutoff T on transactions before T, labels known before "
        f"T - {config.label_delay_days} d; {config.n_snapshots} snapshots every "
        f"{config.snapshot_step_days} d, {config.lookback_days} d lookback, "
        f"{config.horizon_days} d target horizon; test terminals: at least one transaction "
        f"in [T, T + {TEST_DAYS} d); positive: a scenario-2 fraud in that window"
    )


def print_table(results: dict) -> None:
    print()
    print(f"{'data set':<24}{'model':<10}{'AP':>10}{'AUC':>10}")
    for row in results["handbook"]["per_cutoff"]:
        for model in ("gnn", "xgboost", "logreg"):
            name = f"handbook {row['cutoff']}"
            print(f"{name:<24}{model:<10}{row[f'{model}_ap']:>10.4f}{row[f'{model}_auc']:>10.4f}")
    for model in ("gnn", "xgboost", "logreg"):
        handbook = results["handbook"]
        print(
            f"{'handbook mean':<24}{model:<10}{handbook[f'mean_{model}_ap']:>10.4f}"
            f"{handbook[f'mean_{model}_auc']:>10.4f}"
        )
    if "yelpchi" in results:
        for model in ("gnn", "xgboost", "logreg"):
            yelp = results["yelpchi"]
            print(
                f"{'yelpchi users':<24}{model:<10}{yelp[f'{model}_ap']:>10.4f}"
                f"{yelp[f'{model}_auc']:>10.4f}"
            )


if __name__ == "__main__":
    main()
