"""Benchmark the tabular outlier detectors on the 17 ODDS sets that PyOD ships.

Protocol, as in PyOD's own benchmark: each seed draws a 60 % / 40 % split. Features are
standardized with the training part's mean and standard deviation, every detector is
fitted on the training part, and ROC AUC is computed on the test part. Figures are means
over the seeds. The ensemble variants combine the same fitted members, so they differ
only in how member scores are normalized.

Usage:
    python benchmarks/odds.py --data PATH_TO_ODDS_FOLDER [--seeds 5] [--out FILE]
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
import torch
from scipy.io import loadmat
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk_assets.anomaly.tabular import (  # noqa: E402
    NORMALIZATIONS,
    default_detectors,
    fit_normalizer,
)

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# One intra-op thread: on a 2-core machine shared with other jobs, torch's thread pool
# spends more time waiting than computing (measured about 3x slower wall time).
torch.set_num_threads(1)

SETS = [
    "arrhythmia", "cardio", "glass", "ionosphere", "letter", "lympho", "mnist", "musk",
    "optdigits", "pendigits", "pima", "satellite", "satimage-2", "shuttle", "vertebral",
    "vowels", "wbc",
]  # fmt: skip
SINGLE = ["iforest", "lof", "autoencoder"]
PUBLISHED_COLUMNS = {"iforest": "IForest", "lof": "LOF", "autoencoder": "AutoEncoder"}


def load_set(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one ODDS ``.mat`` file as (features, labels with 1 = outlier)."""
    path = folder / f"{name}.mat"
    if not path.is_file():
        raise FileNotFoundError(f"ODDS set {name!r} not found at {path}; check --data.")
    content = loadmat(path)
    return np.asarray(content["X"], dtype=float), np.asarray(content["y"]).ravel().astype(int)


def evaluate_seed(features: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    """Fit every detector on one split and return the test ROC AUC of each variant."""
    x_train, x_test, _, y_test = train_test_split(
        features, labels, test_size=0.4, random_state=seed
    )
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train)
    x_test = scaler.transform(x_test)

    roc: dict[str, float] = {}
    train_scores: dict[str, np.ndarray] = {}
    test_scores: dict[str, np.ndarray] = {}
    for detector in default_detectors(random_state=seed):
        detector.fit(x_train)
        train_scores[detector.name] = detector.training_scores_
        test_scores[detector.name] = detector.score(x_test)
        roc[detector.name] = roc_auc_score(y_test, test_scores[detector.name])

    for method in NORMALIZATIONS:
        combined = np.mean(
            [fit_normalizer(train_scores[name], method)(test_scores[name]) for name in SINGLE],
            axis=0,
        )
        roc[f"ensemble_{method}"] = roc_auc_score(y_test, combined)
    return roc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="ODDS folder with *.mat files")
    parser.add_argument("--seeds", type=int, default=5, help="number of random splits per set")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "odds.json",
        help="JSON output file",
    )
    parser.add_argument("--sets", nargs="*", default=SETS, help="subset of set names to run")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")

    published = pd.read_csv(args.data / "benchmark_tables" / "roc_extended_notebooks.csv")
    published = published.set_index("Data")
    started = time.time()
    rows = []
    for name in args.sets:
        features, labels = load_set(args.data, name)
        set_started = time.time()
        per_seed = [evaluate_seed(features, labels, seed) for seed in range(args.seeds)]
        mean = pd.DataFrame(per_seed).mean().to_dict()
        mean["set"] = name
        for ours, theirs in PUBLISHED_COLUMNS.items():
            mean[f"published_{ours}"] = float(published.loc[name, theirs])
        rows.append(mean)
        print(
            f"{name:12s} n={len(labels):6d} d={features.shape[1]:4d} "
            f"{time.time() - set_started:6.1f}s  "
            + " ".join(f"{key}={mean[key]:.3f}" for key in SINGLE + ["ensemble_rank"]),
            flush=True,
        )

    table = pd.DataFrame(rows).set_index("set")
    variants = SINGLE + [f"ensemble_{method}" for method in NORMALIZATIONS]
    print()
    columns = variants + [f"published_{name}" for name in SINGLE]
    print(table[columns].round(4).to_string())

    means = table[variants].mean()
    ranked_single = means[SINGLE].sort_values(ascending=False)
    best_single, second_single = ranked_single.index[0], ranked_single.index[1]
    summary: dict[str, object] = {
        "seeds": args.seeds,
        "n_sets": len(table),
        "runtime_s": round(time.time() - started, 1),
        "mean_roc": {key: round(float(value), 4) for key, value in means.items()},
        "published_mean_roc": {
            name: round(float(table[f"published_{name}"].mean()), 4) for name in SINGLE
        },
        "best_single": best_single,
        "second_best_single": second_single,
        "per_set_roc": {
            name: {key: round(float(table.loc[name, key]), 4) for key in columns}
            for name in table.index
        },
    }
    for method in NORMALIZATIONS:
        column = f"ensemble_{method}"
        summary[f"{column}_sets_at_least_second_best"] = int(
            (table[column] >= table[second_single]).sum()
        )
        summary[f"{column}_beats_best_mean"] = bool(means[column] >= means[best_single])
        # Per set, the second-highest ROC AUC among the three single detectors.
        per_set_second = table[SINGLE].apply(lambda row: row.nlargest(2).iloc[-1], axis=1)
        summary[f"{column}_sets_at_least_per_set_second"] = int(
            (table[column] >= per_set_second).sum()
        )
    print()
    print(f"mean ROC AUC: {summary['mean_roc']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
