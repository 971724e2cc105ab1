"""Availability judged by failed calls against each service's normal failure rate."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm

from risk_assets.rca.errors import RcaError
from risk_assets.rca.knowledge import load_knowledge_base
from risk_assets.rca.metric_evidence import (
    metric_deviations,
    pivot_metrics,
    reference_failures,
    reference_scales,
)
from risk_assets.rca.ranking import RankingSettings, rank_of, rank_root_causes
from risk_assets.rca.reports import ReportSettings, build_incident_reports
from risk_assets.rca.topology import build_dependency_graph

START = pd.Timestamp("2025-03-01 10:00")
MINUTES = 90
INCIDENT = START + pd.Timedelta("60min")
BASELINE = pd.Timedelta("60min")
WINDOW = pd.Timedelta("30min")
TIMES = START + pd.to_timedelta(np.arange(MINUTES), unit="min")


def _service(service: str, calls: np.ndarray, failed: np.ndarray, times=TIMES) -> list:
    """Availability (percent) and request count of one service, in the long layout."""
    availability = 100.0 * (1.0 - failed / np.maximum(calls, 1))
    return [
        pd.DataFrame({"timestamp": times, "service": service, "metric": metric, "value": values})
        for metric, values in (("availability", availability), ("requests", calls.astype(float)))
    ]


def _quiet_with_burst(calls_per_minute: int, burst: dict[int, int]) -> tuple:
    """Calls and failures of a service that never fails except at the given minutes."""
    calls = np.full(MINUTES, calls_per_minute)
    failed = np.zeros(MINUTES)
    for minute, count in burst.items():
        failed[minute] = count
    return calls, failed


def test_deviate_matches_binomial_tail():
    # No failure in 60 baseline minutes of 100 calls; 3 of 136 calls fail at minute 70.
    calls, failed = _quiet_with_burst(100, {70: 3})
    calls[60:] = 136
    wide = pivot_metrics(pd.concat(_service("quiet", calls, failed), ignore_index=True))
    deviations = metric_deviations(wide, ["quiet"], INCIDENT, BASELINE, WINDOW)
    z = deviations.set_index("metric").at["availability", "z"]
    rate = 0.5 / (6000 + 1)
    mid_p = binom.sf(3, 136, rate) + 0.5 * binom.pmf(3, 136, rate)
    assert z == pytest.approx(norm.isf(mid_p), rel=1e-6)
    assert z > 3.0


def test_reference_period_sets_normal_rate():
    calls, failed = _quiet_with_burst(100, {70: 3})
    wide = pivot_metrics(pd.concat(_service("quiet", calls, failed), ignore_index=True))
    reference = pd.DataFrame(
        {"failures": [0.0], "requests": [80_000.0]},
        index=pd.MultiIndex.from_tuples([("quiet", "availability")]),
    )
    alone = metric_deviations(wide, ["quiet"], INCIDENT, BASELINE, WINDOW)
    pooled = metric_deviations(wide, ["quiet"], INCIDENT, BASELINE, WINDOW, failures=reference)
    # 86,000 calls without a failure make three failures far less likely than 6,000 do.
    assert pooled["z"].max() > alone["z"].max() + 1.0
    rate = 0.5 / (86_000 + 1)
    mid_p = binom.sf(3, 100, rate) + 0.5 * binom.pmf(3, 100, rate)
    assert pooled.set_index("metric").at["availability", "z"] == pytest.approx(norm.isf(mid_p))


def test_reference_failures_adds_up_calls():
    calls = np.array([100, 200, 50] * 30)
    failed = np.array([1, 0, 2] * 30)
    counts = reference_failures(pd.concat(_service("s", calls, failed), ignore_index=True))
    assert counts.loc[("s", "availability"), "failures"] == 90
    assert counts.loc[("s", "availability"), "requests"] == 350 * 30
    # A request count is not itself a failure share.
    assert ("s", "requests") not in counts.index


def test_expected_failures_are_not_evidence():
    # A service failing 2 % of its calls keeps doing so during the incident.
    rng = np.random.default_rng(3)
    calls = rng.poisson(500, MINUTES)
    failed = rng.binomial(calls, 0.02)
    wide = pivot_metrics(pd.concat(_service("s", calls, failed), ignore_index=True))
    deviations = metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW, statistic="mean")
    assert abs(deviations.set_index("metric").at["availability", "z"]) < 1.0


def test_bursty_failures_are_judged_by_spread():
    # Minute-to-minute failure rates vary far more than a binomial count would, so a
    # minute at the high end of the usual range is not a significant change.
    rng = np.random.default_rng(5)
    calls = np.full(MINUTES, 400)
    rates = 0.03 * rng.lognormal(-0.5, 1.0, MINUTES)
    failed = rng.binomial(calls, np.clip(rates, 0, 1)).astype(float)
    failed[70] = np.quantile(failed[:60], 0.95)
    wide = pivot_metrics(pd.concat(_service("bursty", calls, failed), ignore_index=True))
    spread = reference_scales(wide.iloc[:60])
    deviations = metric_deviations(wide, ["bursty"], INCIDENT, BASELINE, WINDOW, spread)
    row = deviations.set_index("metric").loc["availability"]
    usual = spread[("bursty", "availability")]
    assert row["z"] <= (row["baseline_value"] - row["incident_value"]) / usual + 1e-9
    assert row["z"] < 3.0
    # The failed calls alone, against the baseline's pooled rate, would call it an outlier.
    rate = (failed[:60].sum() + 0.5) / (calls[:60].sum() + 1)
    count = failed[70]
    count_z = norm.isf(binom.sf(count, 400, rate) + 0.5 * binom.pmf(count, 400, rate))
    assert count_z > 3.0


@pytest.fixture
def shop_topology() -> pd.DataFrame:
    return pd.DataFrame(
        [("site", "listings"), ("site", "search"), ("listings", "db"), ("search", "db")],
        columns=["caller", "callee"],
    )


def _shop_metrics(seed: int) -> pd.DataFrame:
    """A rarely failing listings service fails a few calls, and the site with it.

    The search service fails about 0.5 % of its calls in bursts, before and during the
    incident; the database never fails.
    """
    rng = np.random.default_rng(seed)
    listings_calls = rng.poisson(130, MINUTES)
    listings_failed = np.zeros(MINUTES)
    listings_failed[[62, 63, 65, 66]] = [4, 5, 4, 6]
    search_calls = rng.poisson(300, MINUTES)
    search_failed = rng.binomial(
        search_calls, np.clip(0.005 * rng.lognormal(-0.3, 0.8, MINUTES), 0, 1)
    )
    site_calls = rng.poisson(480, MINUTES)
    site_failed = listings_failed + search_failed
    db_calls = rng.poisson(400, MINUTES)
    frames = (
        _service("listings", listings_calls, listings_failed)
        + _service("search", search_calls, search_failed.astype(float))
        + _service("site", site_calls, site_failed)
        + _service("db", db_calls, np.zeros(MINUTES))
    )
    return pd.concat(frames, ignore_index=True)


def test_few_failures_of_a_quiet_service_outrank_a_noisy_one(shop_topology):
    graph = build_dependency_graph(shop_topology)
    first_with_counts = first_by_spread = 0
    for seed in range(10):
        args = (graph, "site", "availability", _shop_metrics(seed), INCIDENT, BASELINE, WINDOW)
        first_with_counts += rank_of(rank_root_causes(*args), "listings") == 1
        spread_only = rank_root_causes(*args, settings=RankingSettings(failure_counts=False))
        first_by_spread += rank_of(spread_only, "listings") == 1
    # The search service's bursts sometimes peak above 3 standard deviations and move
    # the site's availability with them, so it can still come first; judged by spread
    # alone, a service that never failed has no spread to compare with and never does.
    assert first_with_counts >= 8
    assert first_by_spread == 0


def _history_incidents() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "incident_id": ["I1", "I2"],
            "start": [START + pd.Timedelta("2h"), START + pd.Timedelta("6h")],
            "end": [START + pd.Timedelta("2h20min"), START + pd.Timedelta("6h20min")],
            "alerted_service": ["site", "site"],
            "alerted_metric": ["availability", "availability"],
            "root_cause_service": ["listings", "listings"],
        }
    )


def test_report_history_skips_earlier_incidents(shop_topology):
    # Eight hours of a listings service that fails only during the two incidents.
    minutes = 8 * 60
    times = START + pd.to_timedelta(np.arange(minutes), unit="min")
    calls = np.full(minutes, 130)
    failed = np.zeros(minutes)
    for begin in (120, 360):
        failed[begin + 2 : begin + 8] = 4
    site_failed = failed.copy()

    frames = (
        _service("listings", calls, failed, times)
        + _service("search", np.full(minutes, 300), np.zeros(minutes), times)
        + _service("site", np.full(minutes, 480), site_failed, times)
        + _service("db", np.full(minutes, 400), np.zeros(minutes), times)
    )
    metrics = pd.concat(frames, ignore_index=True)
    graph = build_dependency_graph(shop_topology)
    no_logs = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])
    settings = ReportSettings(history=pd.Timedelta("8h"))
    report, summary = build_incident_reports(
        _history_incidents(), graph, metrics, no_logs, load_knowledge_base(), settings
    )
    assert summary["top1"] == 1.0

    second = report[(report["incident_id"] == "I2") & (report["service"] == "listings")]
    # Were the first incident's 24 failures counted as normal, four more would be less
    # surprising. Left out with its 30-minute window, the normal rate rests on the 270
    # other minutes of history and the 60 of the baseline, all without a failure.
    rate = 0.5 / (130 * (270 + 60) + 1)
    expected = norm.isf(binom.sf(4, 130, rate) + 0.5 * binom.pmf(4, 130, rate))
    assert second["metric_z"].iloc[0] == pytest.approx(expected, rel=1e-6)

    short = dataclasses.replace(settings, history=pd.Timedelta(0))
    report_short, _ = build_incident_reports(
        _history_incidents(), graph, metrics, no_logs, load_knowledge_base(), short
    )
    second_short = report_short[
        (report_short["incident_id"] == "I2") & (report_short["service"] == "listings")
    ]
    assert second_short["metric_z"].iloc[0] < second["metric_z"].iloc[0]


def test_negative_history_rejected():
    with pytest.raises(RcaError, match="history=-1 days"):
        ReportSettings(history=pd.Timedelta("-1min"))
