"""Grouping accuracy of drain3 template mining on Loghub-2k.

Usage:
    python benchmarks/loghub.py --data PATH/TO/logs/loghub_2k [--out FILE] [--config YAML]

For each of HDFS, BGL, OpenStack, Apache and Zookeeper it parses the raw
``<System>_2k.log`` with the source's settings from the log source YAML, clusters
the messages with drain3 and scores the clusters against the true event ids.
Scores are given against the original Loghub templates (the ones Drain's published
figures use) and against the ICSE'22 corrected templates when that folder exists.

It reports three settings:
  * per-source: each system's own entry in the YAML file;
  * default: the YAML's ``defaults`` block (same masking and parser for all five);
  * leave-one-system-out: for each system, the default masking with the sim_th and
    depth that have the best mean accuracy on the other four systems, which
    estimates how the shared setting does on a system it was not chosen on.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from risk_assets.rca.grouping import grouping_accuracy
from risk_assets.rca.log_config import DEFAULT_SOURCE, LogSourceConfig, load_log_sources
from risk_assets.rca.log_templates import parse_log_lines

SYSTEMS = ["HDFS", "BGL", "OpenStack", "Apache", "Zookeeper"]
# Drain's grouping accuracy on Loghub-2k as published in logparser's Drain README.
PUBLISHED_DRAIN = {
    "HDFS": 0.9975,
    "BGL": 0.9625,
    "OpenStack": 0.7325,
    "Apache": 1.0,
    "Zookeeper": 0.9665,
}
SIM_GRID = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
DEPTH_GRID = [4, 5]


def read_system(data: Path, system: str) -> tuple[list[str], pd.Series, pd.Series | None]:
    """Read one system's raw lines, original event ids and corrected event ids."""
    log_path = data / system / f"{system}_2k.log"
    if not log_path.exists():
        raise SystemExit(f"Missing {log_path}; pass --data pointing at the loghub_2k folder.")
    # newline="" keeps "\r" inside lines so splitlines() handles CRLF and LF alike.
    with log_path.open(encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    original = pd.read_csv(data / system / f"{system}_2k.log_structured.csv")["EventId"]
    corrected_path = (
        data / "corrected_ICSE22" / system / f"{system}_2k.log_structured_corrected.csv"
    )
    corrected = pd.read_csv(corrected_path)["EventId"] if corrected_path.exists() else None
    if len(lines) != len(original):
        raise SystemExit(
            f"{system}: {len(lines)} log lines but {len(original)} labelled lines; "
            "the files do not belong together."
        )
    return lines, original, corrected


def score(lines, original, corrected, source: LogSourceConfig) -> dict:
    """Cluster the lines with one setting and score them against both ground truths."""
    started = time.perf_counter()
    parsed = parse_log_lines(lines, source)
    seconds = time.perf_counter() - started
    result = {
        "accuracy_original": round(grouping_accuracy(original, parsed["cluster_id"]), 4),
        "accuracy_corrected": None,
        "templates": int(parsed["cluster_id"].nunique()),
        "true_events": int(original.nunique()),
        "seconds": round(seconds, 3),
    }
    if corrected is not None:
        result["accuracy_corrected"] = round(grouping_accuracy(corrected, parsed["cluster_id"]), 4)
    return result


def with_parser(source: LogSourceConfig, sim_th: float, depth: int) -> LogSourceConfig:
    """Copy a source config with another similarity threshold and tree depth."""
    return LogSourceConfig(
        name=source.name,
        line_pattern=source.line_pattern,
        masking=source.masking,
        sim_th=sim_th,
        depth=depth,
        max_children=source.max_children,
        extra_delimiters=source.extra_delimiters,
        parametrize_numeric_tokens=source.parametrize_numeric_tokens,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="loghub_2k folder")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "loghub.json",
        help="JSON file for the figures (default: benchmarks/results/loghub.json)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="log source YAML (default: the shipped one)"
    )
    args = parser.parse_args()

    sources = load_log_sources(args.config)
    default = sources[DEFAULT_SOURCE]
    data = {system: read_system(args.data, system) for system in SYSTEMS}

    per_source, default_scores = {}, {}
    for system in SYSTEMS:
        own = sources[system.lower()]
        per_source[system] = score(*data[system], own)
        default_scores[system] = score(*data[system], own.with_settings_of(default))
        print(
            f"{system:10s} per-source {per_source[system]['accuracy_original']:.4f}  "
            f"default {default_scores[system]['accuracy_original']:.4f}",
            file=sys.stderr,
        )

    # Accuracy of the default masking for every grid point, for the leave-one-out choice.
    grid = {}
    for sim_th in SIM_GRID:
        for depth in DEPTH_GRID:
            for system in SYSTEMS:
                own = sources[system.lower()].with_settings_of(default)
                result = score(*data[system], with_parser(own, sim_th, depth))
                grid[(sim_th, depth, system)] = result["accuracy_original"]
    held_out = {}
    for system in SYSTEMS:
        others = [name for name in SYSTEMS if name != system]
        best = max(
            ((sim_th, depth) for sim_th in SIM_GRID for depth in DEPTH_GRID),
            key=lambda point: (
                sum(grid[(point[0], point[1], name)] for name in others),
                -abs(point[0] - default.sim_th),
            ),
        )
        held_out[system] = {
            "sim_th": best[0],
            "depth": best[1],
            "accuracy_original": grid[(best[0], best[1], system)],
        }

    print()
    header = (
        f"{'system':10s} {'Drain pub.':>10s} {'per-source':>10s} {'corrected':>10s} "
        f"{'default':>8s} {'corrected':>10s} {'held-out':>9s}"
    )
    print(header)
    for system in SYSTEMS:
        own, shared = per_source[system], default_scores[system]
        print(
            f"{system:10s} {PUBLISHED_DRAIN[system]:10.4f} {own['accuracy_original']:10.4f} "
            f"{own['accuracy_corrected'] or float('nan'):10.4f} "
            f"{shared['accuracy_original']:8.4f} "
            f"{shared['accuracy_corrected'] or float('nan'):10.4f} "
            f"{held_out[system]['accuracy_original']:9.4f}"
        )

    def mean(values):
        return round(sum(values) / len(values), 4)

    figures = {
        "benchmark": "loghub_2k_grouping_accuracy",
        "ground_truth": "original Loghub-2k templates; *_corrected uses the ICSE'22 corrections",
        "published_drain": PUBLISHED_DRAIN,
        "per_source": per_source,
        "default": default_scores,
        "default_setting": {
            "sim_th": default.sim_th,
            "depth": default.depth,
            "masks": [rule.mask_with for rule in default.masking],
        },
        "leave_one_system_out": held_out,
        "mean_per_source": mean([per_source[s]["accuracy_original"] for s in SYSTEMS]),
        "mean_default": mean([default_scores[s]["accuracy_original"] for s in SYSTEMS]),
        "mean_leave_one_system_out": mean([held_out[s]["accuracy_original"] for s in SYSTEMS]),
        "per_source_meets_published": all(
            per_source[s]["accuracy_original"] >= PUBLISHED_DRAIN[s] for s in SYSTEMS
        ),
        "hardware": f"{platform.processor() or platform.machine()}, 2-core CPU",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
