"""Log source settings, drain3 template mining, log evidence and grouping accuracy."""

from pathlib import Path

import pandas as pd
import pytest

from risk_assets.rca.errors import LogSourceConfigError, RcaError
from risk_assets.rca.grouping import grouping_accuracy
from risk_assets.rca.log_config import (
    DEFAULT_SOURCE,
    LogSourceConfig,
    MaskingRule,
    get_log_source,
    load_log_sources,
)
from risk_assets.rca.log_templates import (
    log_evidence,
    mine_service_logs,
    mine_templates,
    parse_log_lines,
    template_counts,
)
from risk_assets_tests.support import dataset_path

SHORT_LOG = [
    "2025-03-01 10:00:01 INFO Connected to db-1 in 12 ms",
    "2025-03-01 10:00:02 INFO Connected to db-2 in 7 ms",
    "2025-03-01 10:00:03 WARN Retrying request 8812 after timeout",
    "2025-03-01 10:00:04 INFO Connected to db-1 in 31 ms",
    "2025-03-01 10:00:05 WARN Retrying request 9120 after timeout",
    "2025-03-01 10:00:06 ERROR Disk /var/data is full",
]
SHORT_LOG_EVENTS = ["connect", "connect", "retry", "connect", "retry", "disk"]
LINE_PATTERN = r"^(?P<date>\S+) (?P<time>\S+) (?P<level>[A-Z]+) (?P<content>.*)$"


def test_grouping_accuracy_hand_case():
    true_events = ["a", "a", "b", "b", "c"]
    # Group 1 contains exactly event a; group 2 merges b and c, so those 3 lines are wrong.
    assert grouping_accuracy(true_events, [1, 1, 2, 2, 2]) == pytest.approx(2 / 5)
    # Splitting event a over two groups makes both of its lines wrong.
    assert grouping_accuracy(true_events, [1, 9, 2, 2, 3]) == pytest.approx(3 / 5)
    assert grouping_accuracy(true_events, ["x", "x", "y", "y", "z"]) == 1.0


def test_grouping_accuracy_rejects_mismatch():
    with pytest.raises(RcaError, match="3 lines but predicted_groups has 2"):
        grouping_accuracy(["a", "b", "c"], [1, 2])
    with pytest.raises(RcaError, match="at least one line"):
        grouping_accuracy([], [])


def test_drain3_clusters_short_log():
    source = LogSourceConfig(
        name="test",
        line_pattern=LINE_PATTERN,
        masking=(MaskingRule(r"(?<![\w/])/\S+", "PATH"),),
        sim_th=0.5,
    )
    parsed = parse_log_lines(SHORT_LOG, source)
    assert list(parsed["content"].iloc[:1]) == ["Connected to db-1 in 12 ms"]
    assert parsed["cluster_id"].nunique() == 3
    assert grouping_accuracy(SHORT_LOG_EVENTS, parsed["cluster_id"]) == 1.0
    templates = set(parsed["template"])
    assert "Connected to <*> in <*> ms" in templates
    assert "Disk <PATH> is full" in templates


def test_unmatched_line_rejected():
    source = LogSourceConfig(name="test", line_pattern=LINE_PATTERN)
    with pytest.raises(RcaError, match="Line 2 does not match the line_pattern"):
        parse_log_lines([SHORT_LOG[0], "no header here"], source)


def test_shipped_sources_load():
    sources = load_log_sources()
    assert {DEFAULT_SOURCE, "hdfs", "bgl", "openstack", "apache", "zookeeper"} <= set(sources)
    assert get_log_source("HDFS").masking[0].mask_with == "BLOCKS"
    assert sources[DEFAULT_SOURCE].line_pattern is None


def test_unknown_source_rejected():
    with pytest.raises(LogSourceConfigError, match="Unknown log source 'nginx'"):
        get_log_source("nginx")


def test_source_without_content_group_rejected(tmp_path: Path):
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  mine:\n    line_pattern: '^(?P<msg>.*)$'\n", encoding="utf-8")
    with pytest.raises(LogSourceConfigError, match="no named group 'content'"):
        load_log_sources(config)


def test_invalid_threshold_rejected():
    with pytest.raises(LogSourceConfigError, match="sim_th=1.5 is invalid"):
        LogSourceConfig(name="x", sim_th=1.5)


def _service_logs() -> pd.DataFrame:
    start = pd.Timestamp("2025-03-01 10:00")
    rows = []
    for minute in range(90):
        time = start + pd.Timedelta(minutes=minute)
        rows.append((time, "api", "INFO", f"handled request id={1000 + minute} in 12 ms"))
        rows.append((time, "db", "INFO", f"checkpoint complete: wrote {minute} buffers"))
        if minute >= 60:
            rows.append((time, "db", "ERROR", f"slow query took {300 + minute} ms on t1"))
    return pd.DataFrame(rows, columns=["timestamp", "service", "level", "message"])


def test_log_evidence_flags_new_template():
    logs = _service_logs()
    templates = mine_service_logs(logs, get_log_source(DEFAULT_SOURCE))
    assert len(templates) == len(logs)
    assert templates["template_id"].str.startswith(("api#", "db#")).all()
    evidence = log_evidence(templates, pd.Timestamp("2025-03-01 11:00")).set_index("service")
    assert evidence.loc["db", "new_templates"] == 1
    assert evidence.loc["db", "log_score"] == pytest.approx(0.5)
    assert evidence.loc["db", "error_lines"] == 30
    assert "slow query" in evidence.loc["db", "top_templates"][0]
    assert evidence.loc["api", "log_score"] == 0.0


def test_template_counts_per_bucket():
    templates = mine_service_logs(_service_logs(), get_log_source(DEFAULT_SOURCE))
    counts = template_counts(templates, freq="30min")
    api = counts[counts["service"] == "api"]
    assert api["count"].tolist() == [30, 30, 30]
    assert counts["count"].sum() == len(templates)


def test_mine_templates_numbers_cluster():
    mined = mine_templates(["took 5 ms", "took 17 ms", "cache miss"], get_log_source("default"))
    assert mined["cluster_id"].tolist()[0] == mined["cluster_id"].tolist()[1]
    assert mined["cluster_id"].nunique() == 2


def test_hdfs_settings_meet_published_accuracy():
    folder = dataset_path("logs/loghub_2k/HDFS")
    with (folder / "HDFS_2k.log").open(encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    truth = pd.read_csv(folder / "HDFS_2k.log_structured.csv")["EventId"]
    parsed = parse_log_lines(lines, get_log_source("hdfs"))
    # Drain's published grouping accuracy on this file is 0.9975.
    assert grouping_accuracy(truth, parsed["cluster_id"]) >= 0.9975
