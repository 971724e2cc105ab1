"""Benchmark the hybrid fraud score on fraud scenarios the supervised model never saw.

For each fraud scenario in turn, its frauds are recorded as genuine before the
features are built, so neither the training labels nor the label-based features
know it. The XGBoost model (risk_assets.fraud.training) and the pyod detectors
(risk_assets.fraud.hybrid) are trained on the training window. The test window is
then scored, and the benchmark reports the recall of the held-out scenario at a fixed
alert rate (default 1 % of test transactions) for the supervised score alone, the
detectors alone and the blends.

Data sets:
- the built-in simulator (default SimulationConfig, seed 7), scenarios 1-4, with a
  21-day training window, a 7-day label delay and the last 14 days as test;
- the Fraud Detection Handbook transactions in ``--data``, scenarios 1-3, with the
  handbook's baseline split (train 2018-07-25..07-31, test 2018-08-08..08-14).

The test window is not filtered for already-known compromised customers, because the
held-out scenario's customers are by construction not known.

Usage:
    python benchmarks/fraud_hybrid.py --data PATH_TO_HANDBOOK_FOLDER [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fraud_data import (  # noqa: E402
    HANDBOOK_SPLIT,
    load_handbook,
    simulator_transactions,
    without_nan,
)

from risk_assets.fraud.evaluation import TimeSplit  # noqa: E402
from risk_assets.fraud.hybrid import (  # noqa: E402
    BLENDED,
    DETECTORS,
    SUPERVISED,
    UNSUPERVISED,
    HybridConfig,
    run_holdout_experiment,
    summarize_holdout,
)
from risk_assets.fraud.training import XGBoostParams  # noqa: E402

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "fraud_hybrid.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="Folder (or Parquet file) of the handbook transactions.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file.")
    parser.add_argument(
        "--alert-rate",
        type=float,
        default=0.01,
        help="Share of test transactions alerted on (default 0.01 = 1 %%).",
    )
    parser.add_argument(
        "--supervised-weight",
        type=float,
        default=0.5,
        help="Weight of the supervised side in the headline blend, in [0, 1].",
    )
    parser.add_argument(
        "--blend-method",
        choices=["fisher", "mean"],
        default="fisher",
        help="Headline blend: fisher (weighted tail scores) or mean (weighted percentiles).",
    )
    parser.add_argument(
        "--detectors",
        default="iforest,pca",
        help=f"Comma-separated detectors, from: {', '.join(DETECTORS)}.",
    )
    parser.add_argument(
        "--max-rounds",
        type=int,
        default=400,
        help="Maximum XGBoost boosting rounds; early stopping picks fewer.",
    )
    parser.add_argument("--skip-simulator", action="store_true", help="Run only the handbook data.")
    parser.add_argument(
        "--skip-handbook", action="store_true", help="Run only the simulator (ignores --data)."
    )
    parser.add_argument(
        "--simulator-seed", type=int, default=7, help="Seed of the simulated world (default 7)."
    )
    return parser.parse_args(argv)


def run_dataset(
    name: str,
    transactions: pd.DataFrame,
    split: TimeSplit,
    config: HybridConfig,
    params: XGBoostParams,
) -> dict[str, object]:
    """Run the held-out experiment for every fraud scenario of one data set."""
    scenarios = sorted(int(value) for value in transactions["fraud_scenario"].dropna().unique())
    scenarios = [scenario for scenario in scenarios if scenario > 0]
    print(f"{name}: {len(transactions)} transactions, scenarios {scenarios}, {split.describe()}")
    results: dict[str, object] = {}
    for scenario in scenarios:
        started = time.perf_counter()
        scores = run_holdout_experiment(transactions, scenario, split, config, params)
        summary = summarize_holdout(scores, config)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        metrics = summary["metrics"]
        print(
            f"  held out {scenario}: {summary['test_scenario_frauds']} test frauds of it, "
            f"recall supervised {metrics[SUPERVISED]['scenario_recall']:.3f}, "
            f"blended {metrics[BLENDED]['scenario_recall']:.3f} "
            f"({summary['seconds']} s)"
        )
        results[str(scenario)] = summary
    return {"split": split.describe(), "transactions": len(transactions), "scenarios": results}


def format_cell(value: float) -> str:
    return "   nan" if math.isnan(value) else f"{value:6.3f}"


def print_table(datasets: dict[str, dict[str, object]]) -> None:
    columns = [SUPERVISED, UNSUPERVISED, BLENDED]
    print()
    print("Recall of the held-out scenario at the alert rate (all-fraud recall in brackets)")
    header = f"{'data set':<10} {'held out':>8} {'frauds':>6} " + " ".join(
        f"{column:>17}" for column in columns
    )
    print(header)
    for dataset, result in datasets.items():
        for scenario, summary in result["scenarios"].items():
            metrics = summary["metrics"]
            cells = [
                f"{format_cell(metrics[column]['scenario_recall'])} "
                f"({format_cell(metrics[column]['fraud_recall'])})"
                for column in columns
            ]
            print(
                f"{dataset:<10} {scenario:>8} {summary['test_scenario_frauds']:>6} "
                + " ".join(f"{cell:>17}" for cell in cells)
            )


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    config = HybridConfig(
        detectors=tuple(name.strip() for name in args.detectors.split(",") if name.strip()),
        supervised_weight=args.supervised_weight,
        blend_method=args.blend_method,
        alert_rate=args.alert_rate,
    )
    params = XGBoostParams(max_rounds=args.max_rounds)
    started = time.perf_counter()
    datasets: dict[str, dict[str, object]] = {}

    if not args.skip_simulator:
        transactions, split = simulator_transactions(args.simulator_seed)
        datasets["simulator"] = run_dataset("simulator", transactions, split, config, params)

    if not args.skip_handbook:
        transactions = load_handbook(args.data)
        datasets["handbook"] = run_dataset("handbook", transactions, HANDBOOK_SPLIT, config, params)

    print_table(datasets)
    figures = without_nan(
        {
            "benchmark": "fraud_hybrid",
            "hardware": "2-core CPU, no GPU",
            "config": {
                "simulator_seed": args.simulator_seed,
                "detectors": list(config.detectors),
                "supervised_weight": config.supervised_weight,
                "blend_method": config.blend_method,
                "alert_rate": config.alert_rate,
                "xgboost_tree_method": params.tree_method,
                "xgboost_max_rounds": params.max_rounds,
            },
            "datasets": datasets,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
