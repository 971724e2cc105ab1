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


def _mid_p_deviate(failures: float, calls: float, rate: float) -> float:
    return norm.isf(binom.sf(failures, calls, rate) + 0.5 * binom.pmf(failures, calls, rate))


def test_bursty_failures_are_scaled_down():
    # Minute-to-minute failure rates vary far more than a binomial count would, so the
    # deviate is divided by the square root of the baseline's Pearson dispersion.
    rng = np.random.default_rng(5)
    calls = np.full(MINUTES, 400)
    rates = 0.03 * rng.lognormal(-0.5, 1.0, MINUTES)
    failed = rng.binomial(calls, np.clip(rates, 0, 1)).astype(float)
    failed[70] = np.round(np.quantile(failed[:60], 0.95))
    wide = pivot_metrics(pd.concat(_service("bursty", calls, failed), ignore_index=True))
    deviations = metric_deviations(wide, ["bursty"], INCIDENT, BASELINE, WINDOW)
    z = deviations.set_index("metric").at["availability", "z"]

    rate = (failed[:60].sum() + 0.5) / (calls[:60].sum() + 1)
    expected = failed[:60] - calls[:60] * rate
    dispersion = np.sum(expected**2 / (calls[:60] * rate * (1 - rate))) / 59
    assert dispersion > 5.0
    peak = max(_mid_p_deviate(f, 400, rate) for f in failed[60:])
    assert z == pytest.approx(peak / np.sqrt(dispersion), rel=1e-6)
    assert z < 3.0
    assert _mid_p_deviate(failed[70], 400, rate) > 3.0


def test_uneven_traffic_keeps_sign_of_change():
    # Quiet minutes (1 failure in 10 calls) pull the mean availability down to 95 %,
    # so against that mean a busy minute with 20 failures in 1,000 looks better. Its
    # failed calls are judged against the pooled rate of about 0.1 % instead, scaled
    # down by the dispersion of the quiet minutes' failures.
    minutes = np.arange(MINUTES)
    calls = np.where(minutes % 2 == 0, 10.0, 1000.0)
    failed = np.where(minutes % 2 == 0, 1.0, 0.0)
    calls[60:] = 1000.0
    failed[60:] = 0.0
    failed[70] = 20.0
    wide = pivot_metrics(pd.concat(_service("s", calls, failed), ignore_index=True))
    counted = metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW).set_index("metric")
    spread = metric_deviations(
        wide, ["s"], INCIDENT, BASELINE, WINDOW, failure_counts=False
    ).set_index("metric")
    assert spread.at["availability", "z"] < 0
    assert counted.at["availability", "z"] > 1.0


@pytest.mark.parametrize(
    ("calls", "availability", "least_z"),
    [
        # The request counter stops being scraped during the incident.
        (
            np.r_[np.full(60, 1000.0), np.full(30, np.nan)],
            np.r_[np.full(60, 100.0), np.full(30, 20.0)],
            10.0,
        ),
        # The counter starts with the incident, so no normal rate can be measured.
        (
            np.r_[np.full(60, np.nan), np.full(30, 1000.0)],
            np.r_[np.full(60, 99.9), np.full(30, 90.0)],
            1.0,
        ),
    ],
)
def test_missing_counts_fall_back_to_spread(calls, availability, least_z):
    frame = pd.concat(
        [
            pd.DataFrame({"timestamp": TIMES, "service": "s", "metric": name, "value": values})
            for name, values in (("availability", availability), ("requests", calls))
        ],
        ignore_index=True,
    )
    wide = pivot_metrics(frame)
    counted = metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW)
    spread = metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW, failure_counts=False)
    z = counted.set_index("metric").at["availability", "z"]
    assert z == pytest.approx(spread.set_index("metric").at["availability", "z"])
    assert z > least_z


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


def test_quiet_service_failures_outrank_noisy(shop_topology):
    graph = build_dependency_graph(shop_topology)
    first_with_counts = first_by_spread = 0
    for seed in range(10):
        args = (graph, "site", "availability", _shop_metrics(seed), INCIDENT, BASELINE, WINDOW)
        first_with_counts += rank_of(rank_root_causes(*args), "listings") == 1
        spread_only = rank_root_causes(*args, settings=RankingSettings(failure_counts=False))
        first_by_spread += rank_of(spread_only, "listings") == 1
    # The search service's bursts sometimes peak above 3 standard deviations and move
    # the site's availability with them, so it can still come first. Judged by spread
    # alone, a service that never failed has no spread to compare with, so it never does.
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


def _one_service(**metrics: np.ndarray) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"timestamp": TIMES, "service": "s", "metric": name, "value": values})
            for name, values in metrics.items()
        ],
        ignore_index=True,
    )


def test_total_request_metric_is_chosen():
    availability = np.r_[np.full(60, 100.0), np.full(30, 99.5)]
    calls = np.full(MINUTES, 1000.0)
    plain = _one_service(availability=availability, requests=calls)
    named = _one_service(
        availability=availability, requests_total=calls, requests_failed=np.full(MINUTES, 1.0)
    )
    expected = metric_deviations(pivot_metrics(plain), ["s"], INCIDENT, BASELINE, WINDOW)
    chosen = metric_deviations(pivot_metrics(named), ["s"], INCIDENT, BASELINE, WINDOW)
    availability_z = chosen.set_index("metric").at["availability", "z"]
    assert availability_z == pytest.approx(expected.set_index("metric").at["availability", "z"])


def test_ambiguous_request_metrics_rejected():
    frame = _one_service(
        availability=np.full(MINUTES, 100.0),
        requests_in=np.full(MINUTES, 10.0),
        requests_out=np.full(MINUTES, 10.0),
    )
    with pytest.raises(RcaError, match="several request metrics"):
        metric_deviations(pivot_metrics(frame), ["s"], INCIDENT, BASELINE, WINDOW)


@pytest.mark.parametrize(
    ("metric", "bad", "message"),
    [
        ("availability", -1.0, "availability of service 's' is -1.0"),
        ("availability", 150.0, "availability of service 's' is 150.0"),
        ("requests", -5.0, "requests of service 's' is -5.0"),
    ],
)
def test_out_of_range_values_rejected(metric, bad, message):
    values = {"availability": np.full(MINUTES, 99.9), "requests": np.full(MINUTES, 100.0)}
    values[metric] = values[metric].copy()
    values[metric][70] = bad
    wide = pivot_metrics(_one_service(**values))
    with pytest.raises(RcaError, match=message):
        metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW)


@pytest.mark.parametrize(
    ("failures", "requests", "message"),
    [(5e5, 1e5, "failures=500000.0"), (-5.0, 1e5, "failures=-5.0"), (np.nan, 1e5, "nan")],
)
def test_invalid_reference_counts_rejected(failures, requests, message):
    wide = pivot_metrics(
        _one_service(availability=np.full(MINUTES, 100.0), requests=np.full(MINUTES, 1e3))
    )
    reference = pd.DataFrame(
        {"failures": [failures], "requests": [requests]},
        index=pd.MultiIndex.from_tuples([("s", "availability")]),
    )
    with pytest.raises(RcaError, match=message):
        metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW, failures=reference)


def test_reference_counts_calls_only_with_share():
    # Availability every fifth minute, requests every minute.
    availability = np.full(MINUTES, np.nan)
    availability[::5] = 99.0
    counts = reference_failures(
        _one_service(availability=availability, requests=np.full(MINUTES, 1000.0))
    )
    assert counts.loc[("s", "availability"), "requests"] == 1000.0 * 18
    assert counts.loc[("s", "availability"), "failures"] == 10.0 * 18


def test_percent_unit_follows_the_longer_data(shop_topology):
    # An error rate in percent that is 0.2 % in the history reads as a fraction on the
    # history alone, so the report decides the unit on all the metrics instead.
    minutes = 8 * 60
    times = START + pd.to_timedelta(np.arange(minutes), unit="min")
    error_rate = np.full(minutes, 0.2)
    error_rate[362:380] = 4.0
    frames = []
    for service in ("site", "listings", "search", "db"):
        rate = error_rate if service in ("site", "db", "listings") else np.full(minutes, 0.2)
        for name, values in (("error_rate", rate), ("requests", np.full(minutes, 1000.0))):
            frames.append(
                pd.DataFrame(
                    {"timestamp": times, "service": service, "metric": name, "value": values}
                )
            )
    incidents = (
        _history_incidents().iloc[[1]].assign(alerted_metric="error_rate", root_cause_service="db")
    )
    no_logs = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])
    report, _ = build_incident_reports(
        incidents,
        build_dependency_graph(shop_topology),
        pd.concat(frames, ignore_index=True),
        no_logs,
        load_knowledge_base(),
        ReportSettings(history=pd.Timedelta("6h")),
    )
    db = report[report["service"] == "db"].iloc[0]
    assert db["metric_z"] > 10.0
    assert db["rank"] == 1


def test_share_zero_throughout_leaves_unit_open():
    # A service that failed every call in the normal period (availability 0) and
    # recovers to 100 % in the incident: the reference cannot tell the unit.
    normal = _one_service(availability=np.zeros(MINUTES), requests=np.full(MINUTES, 10.0))
    counts = reference_failures(normal)
    assert np.isnan(counts.loc[("s", "availability"), "unit"])
    availability = np.r_[np.zeros(60), np.full(30, 100.0)]
    wide = pivot_metrics(_one_service(availability=availability, requests=np.full(MINUTES, 10.0)))
    deviations = metric_deviations(wide, ["s"], INCIDENT, BASELINE, WINDOW, failures=counts)
    assert deviations.set_index("metric").at["availability", "z"] < 0


def test_conflicting_duplicate_rows_rejected():
    frame = _one_service(availability=np.full(MINUTES, 100.0))
    assert pivot_metrics(pd.concat([frame, frame])).shape == (MINUTES, 1)
    changed = frame.assign(value=99.0)
    with pytest.raises(RcaError, match="with different values"):
        pivot_metrics(pd.concat([frame, changed]))


def test_time_zone_mismatch_names_incident(shop_topology):
    metrics = _shop_metrics(0)
    incidents = pd.DataFrame(
        {
            "incident_id": ["I9"],
            "start": [INCIDENT.tz_localize("UTC")],
            "alerted_service": ["site"],
            "alerted_metric": ["availability"],
        }
    )
    no_logs = pd.DataFrame(columns=["timestamp", "service", "level", "template_id", "template"])
    with pytest.raises(RcaError, match="incident I9: start="):
        build_incident_reports(
            incidents,
            build_dependency_graph(shop_topology),
            metrics,
            no_logs,
            load_knowledge_base(),
        )
