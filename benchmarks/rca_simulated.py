"""Root-cause ranking on incidents of the built-in simulator: top-1 and top-3 accuracy.

Usage:
    python benchmarks/rca_simulated.py [--seeds 1 2 3 4 5] [--incidents 8] [--out FILE]

The simulator needs no data folder, so this script takes no ``--data``. For each seed
it simulates 24 hours of service metrics and logs with the given number of incidents,
mines log templates with the ``default`` log source, and builds the incident reports
with the default ``ReportSettings``, once as they are and once with failure counts
off (availability and error rates judged by their spread alone), side by side.
This is the development set (with the PetShop train split) on which the ranking
settings were chosen.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

from risk_assets.ingestion.simulator import SimulationConfig, simulate
from risk_assets.rca.knowledge import load_knowledge_base
from risk_assets.rca.log_config import get_log_source
from risk_assets.rca.log_templates import mine_service_logs
from risk_assets.rca.reports import ReportSettings, build_incident_reports
from risk_assets.rca.topology import build_dependency_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1, 2, 3, 4, 5],
        help="simulator seeds, one simulated world each (default: 1 to 5)",
    )
    parser.add_argument("--incidents", type=int, default=8, help="incidents per seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "rca_simulated.json",
        help="JSON file for the figures (default: benchmarks/results/rca_simulated.json)",
    )
    args = parser.parse_args()
    started = time.perf_counter()

    knowledge = load_knowledge_base()
    default = ReportSettings()
    variants = {
        "failure_counts": default,
        "spread_only": dataclasses.replace(
            default, ranking=dataclasses.replace(default.ranking, failure_counts=False)
        ),
    }
    per_seed = {name: {} for name in variants}
    for seed in args.seeds:
        world = simulate(
            SimulationConfig(
                seed=seed, n_customers=20, n_terminals=20, n_days=14, n_incidents=args.incidents
            )
        )
        graph = build_dependency_graph(world.service_topology)
        templates = mine_service_logs(world.service_logs, get_log_source("default"))
        for name, settings in variants.items():
            _, summary = build_incident_reports(
                world.incidents, graph, world.service_metrics, templates, knowledge, settings
            )
            per_seed[name][seed] = summary
            print(
                f"seed {seed} {name:14s}: {summary['with_ground_truth']} incidents, "
                f"top1 {summary['top1']:.3f}, top3 {summary['top3']:.3f}",
                file=sys.stderr,
            )

    results = {}
    print(f"\n{'settings':14s} {'incidents':>9s} {'top1':>6s} {'top3':>6s}")
    for name, seeds in per_seed.items():
        total = sum(summary["with_ground_truth"] for summary in seeds.values())
        top1 = sum(s["top1"] * s["with_ground_truth"] for s in seeds.values()) / total
        top3 = sum(s["top3"] * s["with_ground_truth"] for s in seeds.values()) / total
        results[name] = {"incidents": total, "top1": round(top1, 4), "top3": round(top3, 4)}
        print(f"{name:14s} {total:9d} {top1:6.3f} {top3:6.3f}")

    figures = {
        "benchmark": "rca_simulated_incidents",
        "results": results,
        "per_seed": per_seed,
        "settings": default.ranking.as_dict(),
        "history_minutes": default.history.total_seconds() / 60,
        "seconds": round(time.perf_counter() - started, 1),
        "hardware": f"{platform.processor() or platform.machine()}, 2-core CPU",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
