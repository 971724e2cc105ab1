"""Column drift between a reference and a current sample, computed with Evidently.

Evidently 0.7.23 picks the statistical test of each column from the reference size and
the number of distinct values (``_get_default_stattest`` in its legacy stattest
registry). Above 1,000 reference rows it uses the normed Wasserstein distance, or the
Jensen-Shannon distance for columns with at most 5 values, with threshold 0.1. At
1,000 rows or fewer it uses the K-S test, or chi-square (Z-test for two values), with
a p-value threshold of 0.05. Every result therefore records its method and threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd
from evidently import Report
from evidently.core.report import Snapshot
from evidently.presets import DataDriftPreset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColumnDrift:
    """Drift test result of one column.

    Attributes:
        column: Column name.
        method: Evidently's name of the test, such as ``K-S p_value``.
        threshold: Threshold of the test.
        score: The test's statistic. A p-value signals drift below the threshold,
            a distance at or above it; ``score_kind`` tells which.
        score_kind: ``p_value`` or ``distance``.
        drifted: Whether Evidently found drift in the column.
    """

    column: str
    method: str
    threshold: float
    score: float
    score_kind: str
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """Drift of a set of columns, with the Evidently snapshot for the HTML report.

    Attributes:
        columns: One result per tested column.
        reference_rows: Rows in the reference sample.
        current_rows: Rows in the current sample.
        snapshot: The Evidently snapshot (``save_html`` writes the report).
    """

    columns: list[ColumnDrift]
    reference_rows: int
    current_rows: int
    snapshot: Snapshot

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [result.column for result in self.columns if result.drifted]

    @property
    def drifted_share(self) -> float:
        """Share of tested columns with drift."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    def summary(self) -> dict:
        """Return the result as a JSON-serializable dict."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "tested_columns": len(self.columns),
            "drifted_columns": self.drifted_columns,
            "drifted_share": self.drifted_share,
            "columns": [asdict(result) for result in self.columns],
        }

    def html(self) -> bytes:
        """Render the Evidently report as HTML."""
        return self.snapshot.get_html_str(as_iframe=False).encode()

    def table(self) -> pd.DataFrame:
        """Return one row per column, drifted first."""
        frame = pd.DataFrame([asdict(result) for result in self.columns])
        return frame.sort_values(["drifted", "column"], ascending=[False, True], kind="stable")


def shared_columns(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str]
) -> list[str]:
    """Return the requested columns present in both frames, in request order.

    Raises:
        ValueError: No requested column is in both frames; the message lists the
            columns of each frame.
    """
    shared = [name for name in columns if name in reference.columns and name in current.columns]
    if not shared:
        raise ValueError(
            "the reference and the current data share none of the monitored columns "
            f"{sorted(columns)}; reference columns: {sorted(map(str, reference.columns))}; "
            f"current columns: {sorted(map(str, current.columns))}. Rebuild the reference "
            "from the same feature table that is scored."
        )
    missing = sorted(set(columns) - set(shared))
    if missing:
        logger.warning("drift skips columns missing from one of the frames: %s", missing)
    return shared


def compute_drift(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str]
) -> DriftResult:
    """Test each of ``columns`` for drift between ``reference`` and ``current``.

    Args:
        reference: Reference sample (the champion's training or held-out rows).
        current: Current sample.
        columns: Numeric columns to test; those missing from either frame are skipped.

    Returns:
        One result per column tested.

    Raises:
        ValueError: Either frame is empty, or the frames share none of ``columns``.
    """
    for name, frame in (("reference", reference), ("current", current)):
        if frame.empty:
            raise ValueError(f"the {name} sample is empty; drift needs rows on both sides")
    tested = shared_columns(reference, current, columns)
    reference_part = reference[tested].astype(float)
    current_part = current[tested].astype(float)
    report = Report([DataDriftPreset(columns=tested)], include_tests=True)
    snapshot = report.run(current_data=current_part, reference_data=reference_part)
    return DriftResult(
        columns=_parse_column_results(snapshot.dict()),
        reference_rows=len(reference_part),
        current_rows=len(current_part),
        snapshot=snapshot,
    )


def _parse_column_results(payload: dict) -> list[ColumnDrift]:
    """Read each ValueDrift metric and its test status from ``Snapshot.dict()``."""
    status_by_metric = {
        test["metric_config"]["metric_id"]: test["status"]
        for test in payload.get("tests", [])
        if test.get("id") == "drift"
    }
    results = []
    for metric in payload["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        method = str(config["method"])
        status = status_by_metric.get(metric["id"])
        if status is None:
            raise RuntimeError(
                f"Evidently returned no drift test for column {config['column']!r}; "
                "the report must run with include_tests=True"
            )
        results.append(
            ColumnDrift(
                column=str(config["column"]),
                method=method,
                threshold=float(config["threshold"]),
                score=float(metric["value"]),
                score_kind="p_value" if "p_value" in method else "distance",
                drifted=status == "FAIL",
            )
        )
    return results
