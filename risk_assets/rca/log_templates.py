"""Log template mining with drain3, template counts over time, and log evidence.

Templates are mined separately for each service, so two services never share a
template id. A template that appears after an alert but never in the baseline
window is *new*; one whose rate rises well above its baseline rate is *spiking*.
Both become evidence that the service itself is misbehaving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from drain3 import TemplateMiner

from risk_assets.rca.errors import RcaError
from risk_assets.rca.log_config import LogSourceConfig
from risk_assets.rca.timing import align_time, check_periods

logger = logging.getLogger(__name__)

TEMPLATE_COLUMNS = ["timestamp", "service", "level", "template_id", "template"]


def mine_templates(messages: Iterable[str], source: LogSourceConfig) -> pd.DataFrame:
    """Cluster log messages into templates with one drain3 miner.

    Args:
        messages: Message texts in arrival order (headers already removed).
        source: Masking and parser settings.

    Returns:
        One row per message with ``cluster_id`` (int, 1-based, in order of creation) and
        ``template`` (the cluster's final template after all messages were seen).
    """
    miner = TemplateMiner(config=source.to_miner_config())
    cluster_ids = [int(miner.add_log_message(str(message))["cluster_id"]) for message in messages]
    final_templates = {
        cluster.cluster_id: cluster.get_template() for cluster in miner.drain.clusters
    }
    return pd.DataFrame(
        {
            "cluster_id": pd.Series(cluster_ids, dtype="int64"),
            "template": [final_templates[cluster_id] for cluster_id in cluster_ids],
        }
    )


def parse_log_lines(lines: Iterable[str], source: LogSourceConfig) -> pd.DataFrame:
    """Split raw log lines into message and cluster them.

    Args:
        lines: Raw lines of one log file.
        source: Settings whose ``line_pattern`` splits header from message.

    Returns:
        One row per line with ``line_number`` (1-based), ``content``, ``cluster_id`` and
        ``template``.

    Raises:
        RcaError: A non-empty line does not match the source's line pattern.
    """
    contents = []
    for number, line in enumerate(lines, start=1):
        content = source.extract_content(line)
        if content is None:
            raise RcaError(
                f"Line {number} does not match the line_pattern of log source "
                f"{source.name!r}: {line[:120]!r}. Fix the pattern in the log source file."
            )
        contents.append(content)
    result = mine_templates(contents, source)
    result.insert(0, "content", contents)
    result.insert(0, "line_number", np.arange(1, len(contents) + 1))
    return result


def mine_service_logs(service_logs: pd.DataFrame, source: LogSourceConfig) -> pd.DataFrame:
    """Mine templates per service from the canonical ``service_logs`` table.

    Args:
        service_logs: Columns ``timestamp``, ``service``, ``level``, ``message``.
        source: Masking and parser settings applied to every service's messages.

    Returns:
        ``service_logs`` rows in time order with ``template_id`` (``"<service>#<n>"``) and
        ``template`` added, columns as in ``TEMPLATE_COLUMNS``.

    Raises:
        RcaError: A required column is missing, or a row has no timestamp, service or
            message.
    """
    missing = {"timestamp", "service", "level", "message"} - set(service_logs.columns)
    if missing:
        raise RcaError(
            f"service_logs is missing columns {sorted(missing)}; expected timestamp, service, "
            "level and message."
        )
    if service_logs.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in TEMPLATE_COLUMNS})
    incomplete = service_logs[["timestamp", "service", "message"]].isna().any(axis=1)
    if incomplete.any():
        raise RcaError(
            f"service_logs has {int(incomplete.sum())} rows without a timestamp, service or "
            f"message, such as row {incomplete.idxmax()}; load logs with load_table, which "
            "quarantines them, or remove them."
        )
    ordered = service_logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    parts = []
    for service, rows in ordered.groupby("service", sort=True):
        mined = mine_templates(rows["message"].astype(str), source)
        part = rows[["timestamp", "service", "level"]].reset_index(drop=True)
        part["template_id"] = [f"{service}#{cluster_id}" for cluster_id in mined["cluster_id"]]
        part["template"] = mined["template"].to_numpy()
        parts.append(part)
        logger.debug("Mined %d templates for service %s", mined["cluster_id"].nunique(), service)
    return pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable")


def template_counts(templates: pd.DataFrame, freq: str = "5min") -> pd.DataFrame:
    """Count template occurrences per service and time bucket.

    Args:
        templates: Output of ``mine_service_logs``.
        freq: Bucket width as a pandas offset alias.

    Returns:
        Columns ``service``, ``bucket`` (bucket start), ``template_id``, ``template``,
        ``count``.
    """
    try:
        width = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError) as error:
        raise RcaError(
            f"freq={freq!r} is not a fixed bucket width; use an alias such as '5min'."
        ) from error
    if width <= pd.Timedelta(0):
        raise RcaError(f"freq={freq!r} is invalid; use a positive width such as '5min'.")
    if templates.empty:
        return pd.DataFrame(columns=["service", "bucket", "template_id", "template", "count"])
    frame = templates.assign(bucket=pd.to_datetime(templates["timestamp"]).dt.floor(freq))
    return (
        frame.groupby(["service", "bucket", "template_id", "template"], observed=True)
        .size()
        .rename("count")
        .reset_index()
    )


def log_evidence(
    templates: pd.DataFrame,
    alert_time: pd.Timestamp,
    baseline: pd.Timedelta = pd.Timedelta("60min"),
    window: pd.Timedelta = pd.Timedelta("30min"),
    spike_ratio: float = 3.0,
) -> pd.DataFrame:
    """Score each service by new and spiking templates around an alert.

    The baseline is ``[alert_time - baseline, alert_time)`` and the incident window is
    ``[alert_time, alert_time + window)``. A template is spiking when its count in the
    window is at least ``spike_ratio`` times the count its baseline rate predicts for the
    window. The baseline count gets one extra occurrence, so a template seen once before
    does not spike on two lines.

    Args:
        templates: Output of ``mine_service_logs``.
        alert_time: Time of the alert.
        baseline: Length of the reference period before the alert.
        window: Length of the period after the alert that is searched for evidence.
        spike_ratio: Minimum rate ratio for a spiking template.

    Returns:
        One row per service with ``new_templates``, ``spiking_templates`` (ints),
        ``new_lines`` (lines of new templates in the window), ``error_lines`` (WARN or ERROR
        lines in the window), ``log_score`` in [0, 1] and ``top_templates`` (up to three
        template texts, new ones first).
    """
    columns = [
        "service",
        "new_templates",
        "spiking_templates",
        "new_lines",
        "error_lines",
        "log_score",
        "top_templates",
    ]
    check_periods(baseline=baseline, window=window)
    if not (np.isfinite(spike_ratio) and spike_ratio > 0):
        raise RcaError(f"spike_ratio={spike_ratio} is invalid; use a positive number.")
    if templates.empty:
        return pd.DataFrame(columns=columns)
    missing = sorted(set(TEMPLATE_COLUMNS) - set(templates.columns))
    if missing:
        raise RcaError(
            f"templates is missing columns {missing}; pass the output of mine_service_logs."
        )
    times = pd.to_datetime(templates["timestamp"])
    alert_time = align_time(alert_time, pd.DatetimeIndex(times), "alert_time")
    before = templates[(times >= alert_time - baseline) & (times < alert_time)]
    during = templates[(times >= alert_time) & (times < alert_time + window)]
    baseline_minutes = baseline / pd.Timedelta("1min")
    window_minutes = window / pd.Timedelta("1min")
    rows = []
    for service in sorted(templates["service"].unique()):
        before_counts = before.loc[before["service"] == service, "template_id"].value_counts()
        service_during = during[during["service"] == service]
        during_counts = service_during["template_id"].value_counts()
        texts = service_during.drop_duplicates("template_id").set_index("template_id")["template"]
        new_ids = [tid for tid in during_counts.index if tid not in before_counts.index]
        spiking_ids = []
        for tid, count in during_counts.items():
            if tid in new_ids:
                continue
            expected = (before_counts[tid] + 1) / baseline_minutes * window_minutes
            if count >= spike_ratio * expected:
                spiking_ids.append(tid)
        new_lines = int(during_counts[new_ids].sum()) if new_ids else 0
        spiking_lines = int(during_counts[spiking_ids].sum()) if spiking_ids else 0
        error_lines = int(service_during["level"].isin(["WARN", "ERROR"]).sum())
        total = max(len(service_during), 1)
        # Share of window lines that are unusual, so a chatty service is not favoured.
        log_score = min(1.0, (new_lines + spiking_lines) / total)
        ranked = new_ids + sorted(spiking_ids, key=lambda tid: -during_counts[tid])
        rows.append(
            {
                "service": service,
                "new_templates": len(new_ids),
                "spiking_templates": len(spiking_ids),
                "new_lines": new_lines,
                "error_lines": error_lines,
                "log_score": float(log_score),
                "top_templates": [str(texts[tid]) for tid in ranked[:3]],
            }
        )
    return pd.DataFrame(rows, columns=columns)
