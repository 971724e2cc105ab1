"""Readers for the PetShop root-cause data set (Hardt et al., arXiv 2311.04806).

Layout of one scenario folder (for example ``dataset/low_traffic``):

* ``graph.csv``: adjacency matrix; a 1 at row A, column B means service A calls B.
* ``noissue/metrics.csv``: normal operation, 5-minute rows.
* ``train|test/issue_k/metrics.csv`` and ``target.json``: one injected issue, five
  5-minute rows; the alert time falls inside row 1, so rows 0-1 precede the alert.

Metrics files have a three-row header (service, metric, statistic) and a
``unix_timestamp`` index column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SCENARIOS = ("low_traffic", "high_traffic")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class PetShopIssue:
    """One injected issue with its alert and the true root-cause service."""

    scenario: str
    split: str
    name: str
    metrics: pd.DataFrame
    alerted_service: str
    alerted_metric: str
    alert_time: pd.Timestamp
    root_cause: str
    command: str


def read_metrics(path: Path, statistics: tuple[str, ...]) -> pd.DataFrame:
    """Read a PetShop metrics file into the canonical long layout.

    Args:
        path: A ``metrics.csv`` file.
        statistics: Statistics to keep (for example ``("Average", "Sum")``); the metric
            name becomes ``<metric>_<statistic>``, such as ``latency_Average``.

    Returns:
        Columns ``timestamp`` (naive UTC), ``service``, ``metric``, ``value``.
    """
    wide = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    keep = [column for column in wide.columns if column[2] in statistics]
    wide = wide[keep]
    wide.index = pd.to_datetime(wide.index.astype(float), unit="s")
    wide.index.name = "timestamp"
    wide.columns = pd.MultiIndex.from_tuples(
        [(service, f"{metric}_{statistic}") for service, metric, statistic in wide.columns],
        names=["service", "metric"],
    )
    long = wide.stack(["service", "metric"], future_stack=True).rename("value").reset_index()
    return long.dropna(subset=["value"])[["timestamp", "service", "metric", "value"]]


def read_topology(path: Path) -> pd.DataFrame:
    """Read ``graph.csv`` into caller/callee rows."""
    matrix = pd.read_csv(path, index_col=0)
    rows = [
        (caller, callee)
        for caller in matrix.index
        for callee in matrix.columns
        if matrix.loc[caller, callee] == 1
    ]
    return pd.DataFrame(rows, columns=["caller", "callee"])


def read_issues(scenario_dir: Path, split: str, statistics: tuple[str, ...]) -> list[PetShopIssue]:
    """Read every issue of one split of one scenario, ordered by issue number."""
    folders = sorted(
        (scenario_dir / split).glob("issue_*"), key=lambda path: int(path.name.split("_")[1])
    )
    issues = []
    for folder in folders:
        target = json.loads((folder / "target.json").read_text(encoding="utf-8"))
        alert = target["target"]
        issues.append(
            PetShopIssue(
                scenario=scenario_dir.name,
                split=split,
                name=folder.name,
                metrics=read_metrics(folder / "metrics.csv", statistics),
                alerted_service=alert["node"],
                alerted_metric=f"{alert['metric']}_{alert['agg']}",
                alert_time=pd.to_datetime(alert["timestamp"], unit="s"),
                root_cause=target["root_cause"]["node"],
                command=target.get("metadata", {}).get("reproducibility", {}).get("command", ""),
            )
        )
    return issues
