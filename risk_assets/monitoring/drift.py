"""Column drift between a reference and a current sample, computed with Evidently.

Evidently 0.7.23 picks the statistical test of each column from the reference size and
the number of distinct values (``_get_default_stattest`` in its legacy stattest
registry). Above 1,000 reference rows it uses the normed Wasserstein distance, or the
Jensen-Shannon distance for columns with at most 5 values, with threshold 0.1. At
1,000 rows or fewer it uses the K-S test, or chi-square (Z-test for two values), with
a p-value threshold of 0.05. Every result therefore records its method and threshold.

Missing values are left out column by column, so a column is tested on the rows where
it has a value. A column with too few reference values (``MIN_REFERENCE_VALUES`` for
features), or none on the current side, is not tested; the result names it with the
reason. With no column tested the drifted share is NaN, which no check acts on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html import escape

import pandas as pd
from evidently import Report
from evidently.core.report import Snapshot
from evidently.presets import DataDriftPreset

logger = logging.getLogger(__name__)

# Minimum number of reference values for a feature column to be tested.
MIN_REFERENCE_VALUES = 100


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
        snapshot: The Evidently snapshot (``save_html`` writes the report); None when no
            column could be tested.
        skipped: Columns not tested, with the reason for each.
    """

    columns: list[ColumnDrift]
    reference_rows: int
    current_rows: int
    snapshot: Snapshot | None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [result.column for result in self.columns if result.drifted]

    @property
    def drifted_share(self) -> float:
        """Share of tested columns with drift; NaN when no column was tested."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else float("nan")

    def summary(self) -> dict:
        """Return the result as a JSON-serializable dict."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "tested_columns": len(self.columns),
            "drifted_columns": self.drifted_columns,
            "drifted_share": self.drifted_share,
            "columns": [asdict(result) for result in self.columns],
            "skipped_columns": dict(self.skipped),
        }

    def html(self) -> bytes:
        """Render the Evidently report as HTML, or a short page when nothing was tested."""
        if self.snapshot is None:
            items = "".join(
                f"<li>{escape(name)}: {escape(reason)}</li>"
                for name, reason in self.skipped.items()
            )
            return (
                f"<html><body><p>No column was tested.</p><ul>{items}</ul></body></html>".encode()
            )
        return self.snapshot.get_html_str(as_iframe=False).encode()

    def table(self) -> pd.DataFrame:
        """Return one row per column, drifted first, then the columns not tested."""
        tested = sorted(self.columns, key=lambda result: (not result.drifted, result.column))
        rows = [asdict(result) for result in tested]
        rows += [
            {"column": name, "method": f"not tested: {why}"} for name, why in self.skipped.items()
        ]
        return pd.DataFrame(rows, columns=list(ColumnDrift.__dataclass_fields__))


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
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    min_reference_values: int = 1,
) -> DriftResult:
    """Test each of ``columns`` for drift between ``reference`` and ``current``.

    Args:
        reference: Reference sample (the champion's training or held-out rows).
        current: Current sample.
        columns: Numeric columns to test; those missing from either frame are skipped.
        min_reference_values: Minimum number of non-missing reference values for a
            column to be tested; features use ``MIN_REFERENCE_VALUES``.

    Returns:
        One result per column tested, and the reason for each column that was not.

    Raises:
        ValueError: Either frame is empty, or the frames share none of ``columns``.
    """
    for name, frame in (("reference", reference), ("current", current)):
        if frame.empty:
            raise ValueError(f"the {name} sample is empty; drift needs rows on both sides")
    shared = shared_columns(reference, current, columns)
    reference_part = reference[shared].astype(float)
    current_part = current[shared].astype(float)
    skipped = {}
    for name in shared:
        known = int(reference_part[name].notna().sum())
        if known < min_reference_values:
            skipped[name] = (
                f"{known} reference values, fewer than {min_reference_values}; the "
                "reference has no comparable values (window not full, or too few days)"
            )
        elif not current_part[name].notna().any():
            skipped[name] = "no current value (window not full yet)"
    tested = [name for name in shared if name not in skipped]
    if skipped:
        logger.info("drift leaves out columns without enough values: %s", sorted(skipped))
    snapshot = None
    results: list[ColumnDrift] = []
    if tested:
        report = Report([DataDriftPreset(columns=tested)], include_tests=True)
        snapshot = report.run(
            current_data=current_part[tested], reference_data=reference_part[tested]
        )
        results = _parse_column_results(snapshot.dict())
    return DriftResult(
        columns=results,
        reference_rows=len(reference_part),
        current_rows=len(current_part),
        snapshot=snapshot,
        skipped=skipped,
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
