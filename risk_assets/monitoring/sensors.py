"""Sensor that requests retraining when the drift report shows drift or an AP drop.

The sensor reads the materialization metadata of ``fraud_drift_report`` in storage
order. An event of a kind (``data_drift`` or ``performance_drop``) opens on the first
report whose value reaches the failure threshold. It closes only on a report below the
warning threshold, so a value that hovers around the failure threshold does not open
a new event every few days. Each opened event requests retraining once. All events
opened in one evaluation share one run, as of the newest report day, so that it learns
from the latest labels. The cursor stores the last record read and the open events.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from risk_assets.monitoring.config import DriftThresholds
from risk_assets.registry.assets import RETRAIN_REASON_TAG

TRIGGER_KINDS = ("data_drift", "performance_drop")


@dataclass(frozen=True)
class DriftEvent:
    """An event that opened on one report.

    Attributes:
        kind: ``data_drift`` or ``performance_drop``.
        partition: Day of the report that opened it.
        value: Drifted share or AP drop.
        threshold: Failure threshold it reached.
    """

    kind: str
    partition: str
    value: float
    threshold: float

    def describe(self) -> str:
        """Return a one-line reason for run tags."""
        label = "share of drifted features" if self.kind == "data_drift" else "AP drop"
        return f"{self.kind} on {self.partition}: {label} {self.value:.3f} >= {self.threshold}"


@dataclass
class SensorState:
    """State that the sensor keeps in its cursor between evaluations.

    Attributes:
        records_cursor: Cursor of the last materialization record read.
        open_events: Kind -> day the still-open event started.
    """

    records_cursor: str | None = None
    open_events: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_cursor(cls, cursor: str | None) -> SensorState:
        """Read the state from the sensor cursor (empty on the first evaluation)."""
        if not cursor:
            return cls()
        payload = json.loads(cursor)
        return cls(payload.get("records_cursor"), dict(payload.get("open_events", {})))

    def to_cursor(self) -> str:
        """Serialize the state for ``context.update_cursor``."""
        return json.dumps({"records_cursor": self.records_cursor, "open_events": self.open_events})


def trigger_values(
    metadata: dict, thresholds: DriftThresholds
) -> dict[str, tuple[float, float, float]]:
    """Return kind -> (value, warning threshold, failure threshold) from a report.

    ``performance_drop`` is absent when the report skipped performance, and
    ``data_drift`` when it tested no feature.
    """
    values = {}
    # A report that tested no feature has a NaN share, which neither opens nor closes
    # an event.
    drifted_share = float(metadata["drifted_share"])
    if math.isfinite(drifted_share):
        values["data_drift"] = (
            drifted_share,
            thresholds.drifted_share_warn,
            thresholds.drifted_share_fail,
        )
    ap_drop = metadata.get("ap_drop")
    if metadata.get("performance_status") == "computed" and ap_drop is not None:
        if math.isfinite(float(ap_drop)):
            values["performance_drop"] = (
                float(ap_drop),
                thresholds.ap_drop_warn,
                thresholds.ap_drop_fail,
            )
    return values


def update_events(
    state: SensorState,
    reports: list[tuple[str, dict]],
    thresholds: DriftThresholds,
    kinds: tuple[str, ...] = TRIGGER_KINDS,
) -> list[DriftEvent]:
    """Advance the open events over ``reports`` and return the events that opened.

    Args:
        state: Open events before these reports; updated in place.
        reports: (day, metadata) of each new drift report, in storage order.
        thresholds: Failure thresholds open events, warning thresholds close them.
        kinds: Event kinds that request retraining.
    """
    opened = []
    for partition, metadata in reports:
        for kind, (value, warn, fail) in trigger_values(metadata, thresholds).items():
            if kind not in kinds:
                continue
            if value >= fail and kind not in state.open_events:
                state.open_events[kind] = partition
                opened.append(DriftEvent(kind, partition, value, fail))
            elif value < warn and kind in state.open_events:
                del state.open_events[kind]
    return opened


def read_new_reports(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, cursor: str | None
) -> tuple[list[tuple[str, dict]], str | None]:
    """Return (day, metadata) of the reports stored after ``cursor`` and the new cursor."""
    reports = []
    while True:
        result = instance.fetch_materializations(
            asset_key, limit=200, cursor=cursor, ascending=True
        )
        for record in result.records:
            materialization = record.asset_materialization
            if materialization is None or materialization.partition is None:
                continue
            metadata = {key: value.value for key, value in materialization.metadata.items()}
            reports.append((materialization.partition, metadata))
        cursor = result.cursor or cursor
        if not result.has_more:
            return reports, cursor


def build_retraining_sensor(
    retraining_job: Any,
    report_key: dg.AssetKey,
    model_name: str,
    thresholds: DriftThresholds,
) -> dg.SensorDefinition:
    """Build the sensor that launches ``retraining_job`` on new drift events.

    Args:
        retraining_job: The partitioned job from ``define_asset_job`` that retrains.
        report_key: Asset key of the drift report whose materializations are read.
        model_name: Registered model that the job retrains.
        thresholds: Thresholds that open and close events.
    """

    @dg.sensor(
        name="fraud_drift_retraining_sensor",
        job=retraining_job,
        minimum_interval_seconds=60,
        description=(
            f"Requests retraining of {model_name} once per new data drift or AP drop event "
            "in fraud_drift_report."
        ),
    )
    def fraud_drift_retraining_sensor(context: dg.SensorEvaluationContext):
        state = SensorState.from_cursor(context.cursor)
        reports, state.records_cursor = read_new_reports(
            context.instance, report_key, state.records_cursor
        )
        opened = update_events(state, reports, thresholds)
        context.update_cursor(state.to_cursor())
        if not opened:
            return dg.SkipReason(
                f"{len(reports)} new drift reports and no new event; "
                f"open events: {state.open_events or 'none'}"
            )
        # NOTE: an event requests one run. If that challenger is rejected because too
        # few drifted labels had arrived, nothing retries until the event closes.
        as_of = max(partition for partition, _ in reports)
        reason = "; ".join(event.describe() for event in opened)
        context.log.info(f"requesting retraining of {model_name} as of {as_of}: {reason}")
        return dg.RunRequest(
            run_key=f"{model_name}:{as_of}:{'+'.join(event.kind for event in opened)}",
            partition_key=as_of,
            tags={
                RETRAIN_REASON_TAG: reason,
                "retrain_model": model_name,
                "retrain_trigger_days": ",".join(event.partition for event in opened),
            },
        )

    return fraud_drift_retraining_sensor
