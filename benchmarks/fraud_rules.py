"""Benchmark the shipped fraud rules and the layered decisions on labeled test data.

For each data set, the XGBoost fraud model (risk_assets.fraud.training) is trained on
the training window, the test window is scored, and then:
- ``decide`` runs the shipped rules with the given thresholds, and the benchmark
  reports decisions per action and the fraud recall and precision of each action;
- ``backtest_rules`` reports hits, precision, recall and model overlap per rule;
- the latency of ``decide_one`` (one record, the real-time path) and the throughput
  of ``decide`` (whole test window) are timed.

Data sets: the built-in simulator (default SimulationConfig, seed 7; 21 training days,
7 days label delay, last 14 days as test) and the Fraud Detection Handbook
transactions in ``--data`` (train 2018-07-25..07-31, test 2018-08-08..08-14).

Usage:
    python benchmarks/fraud_rules.py --data PATH_TO_HANDBOOK_FOLDER [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fraud_data import (  # noqa: E402
    HANDBOOK_SPLIT,
    load_handbook,
    simulator_transactions,
    without_nan,
)

from risk_assets.features.fraud_features import (  # noqa: E402
    FEATURE_COLUMNS,
    build_transaction_features,
)
from risk_assets.fraud.evaluation import TimeSplit, in_window  # noqa: E402
from risk_assets.fraud.rules import (  # noqa: E402
    DecisionThresholds,
    backtest_rules,
    decide,
    decide_one,
    default_rules_path,
    load_rules,
    summarize_decisions,
)
from risk_assets.fraud.training import train_fraud_model  # noqa: E402

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "fraud_rules.json"
SINGLE_RECORD_CALLS = 300


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="Folder (or Parquet file) of the handbook data."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file.")
    parser.add_argument(
        "--rules", type=Path, default=None, help="Rule file (default: the shipped rules)."
    )
    parser.add_argument(
        "--review-threshold",
        type=float,
        default=0.5,
        help="Fraud score at or above which a transaction goes to review.",
    )
    parser.add_argument(
        "--decline-threshold",
        type=float,
        default=0.9,
        help="Fraud score at or above which a transaction is declined.",
    )
    parser.add_argument("--skip-simulator", action="store_true", help="Run only the handbook data.")
    parser.add_argument(
        "--skip-handbook", action="store_true", help="Run only the simulator (ignores --data)."
    )
    return parser.parse_args(argv)


def scored_test_window(transactions: pd.DataFrame, split: TimeSplit) -> pd.DataFrame:
    """Train the fraud model on the training window and score the test window."""
    features = build_transaction_features(transactions)
    model = train_fraud_model(features, split, FEATURE_COLUMNS)
    test = features[in_window(features, split.test_start, split.test_end)].copy()
    test["fraud_score"] = model.predict(test)
    return test


def action_quality(scored: pd.DataFrame, decisions: pd.DataFrame) -> dict[str, dict]:
    """Return, per action, its transactions, frauds, precision and share of all frauds."""
    fraud = scored["is_fraud"].fillna(0).to_numpy(dtype=int) == 1
    total = int(fraud.sum())
    quality: dict[str, dict] = {}
    for action in ("approve", "step_up", "review", "decline"):
        chosen = (decisions["decision"] == action).to_numpy()
        count = int(chosen.sum())
        caught = int((chosen & fraud).sum())
        quality[action] = {
            "transactions": count,
            "frauds": caught,
            "precision": caught / count if count else float("nan"),
            "fraud_share": caught / total if total else float("nan"),
        }
    return quality


def time_decisions(scored: pd.DataFrame, rules, thresholds) -> dict[str, float]:
    """Time ``decide`` on the whole frame and ``decide_one`` on single records."""
    started = time.perf_counter()
    decide(scored, rules, thresholds)
    batch_seconds = time.perf_counter() - started

    records = scored.sample(n=min(SINGLE_RECORD_CALLS, len(scored)), random_state=0).to_dict(
        "records"
    )
    decide_one(records[0], rules, thresholds)  # warm-up call, left out of the timing
    latencies = []
    for record in records:
        started = time.perf_counter()
        decide_one(record, rules, thresholds)
        latencies.append(time.perf_counter() - started)
    return {
        "batch_rows": len(scored),
        "batch_seconds": round(batch_seconds, 3),
        "batch_rows_per_second": round(len(scored) / batch_seconds),
        "single_calls": len(latencies),
        "single_median_ms": round(1000 * float(np.median(latencies)), 3),
        "single_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 3),
    }


def run_dataset(name, transactions, split, rules, thresholds) -> dict[str, object]:
    print(f"{name}: {len(transactions)} transactions, {split.describe()}")
    scored = scored_test_window(transactions, split)
    decisions = decide(scored, rules, thresholds)
    summary = summarize_decisions(decisions)
    table = backtest_rules(scored, rules, review_threshold=thresholds.review)
    timing = time_decisions(scored, rules, thresholds)
    quality = action_quality(scored, decisions)

    print(f"  test rows {len(scored)}, frauds {int((scored['is_fraud'] == 1).sum())}")
    for action, figures in quality.items():
        print(
            f"  {action:<8} {figures['transactions']:>7} transactions, "
            f"{figures['frauds']:>5} frauds ({figures['fraud_share']:.3f} of all frauds)"
        )
    shown = ["rule", "hits", "precision", "recall", "model_overlap", "frauds_missed_by_model"]
    print(table[shown].to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    print(
        f"  decide: {timing['batch_rows_per_second']} rows/s; decide_one median "
        f"{timing['single_median_ms']} ms, p95 {timing['single_p95_ms']} ms"
    )
    return {
        "split": split.describe(),
        "test_rows": len(scored),
        "test_frauds": int((scored["is_fraud"] == 1).sum()),
        "decisions": summary,
        "action_quality": quality,
        "rules": table.astype({"priority": "float64"}).to_dict(orient="records"),
        "timing": timing,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    rules = load_rules(args.rules or default_rules_path())
    thresholds = DecisionThresholds(review=args.review_threshold, decline=args.decline_threshold)
    started = time.perf_counter()
    datasets: dict[str, object] = {}

    if not args.skip_simulator:
        transactions, split = simulator_transactions()
        datasets["simulator"] = run_dataset("simulator", transactions, split, rules, thresholds)

    if not args.skip_handbook:
        transactions = load_handbook(args.data)
        datasets["handbook"] = run_dataset(
            "handbook", transactions, HANDBOOK_SPLIT, rules, thresholds
        )

    figures = without_nan(
        {
            "benchmark": "fraud_rules",
            "hardware": "2-core CPU, no GPU",
            "rules_file": str(args.rules or default_rules_path()),
            "thresholds": {"review": thresholds.review, "decline": thresholds.decline},
            "datasets": datasets,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
    print(json.dumps(figures, default=str))
    return figures


if __name__ == "__main__":
    main()
