"""Microservices behind the card platform: topology, per-minute metrics, logs, incidents.

An incident starts at one service (its root cause) and spreads to every service that
depends on it, directly or through others, weaker and later at each hop. The alert
fires on the entry service whose metric moved the most: the first alert an on-call
engineer receives.

Traffic differs by service, from a rarely called notifications service to busy caches,
and the error rate is a count of failed calls over the minute's requests. A few
services fail some calls all the time, in bursts (their failure rate changes from
minute to minute); the others almost never fail. An error burst can be small (1 % of
calls), so on a rarely called service it is only a handful of failures, as on the
services this simulator imitates.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from risk_assets.ingestion.simulator.config import SimulationConfig

# caller -> callee: the caller depends on the callee.
TOPOLOGY = (
    ("web-frontend", "api-gateway"),
    ("mobile-bff", "api-gateway"),
    ("api-gateway", "auth-service"),
    ("api-gateway", "payments-service"),
    ("api-gateway", "accounts-service"),
    ("payments-service", "risk-scoring"),
    ("payments-service", "ledger-service"),
    ("payments-service", "kafka-events"),
    ("risk-scoring", "feature-cache"),
    ("risk-scoring", "model-server"),
    ("accounts-service", "accounts-db"),
    ("ledger-service", "ledger-db"),
    ("auth-service", "session-cache"),
    ("auth-service", "accounts-db"),
    ("notifications-service", "kafka-events"),
    ("kafka-events", "notifications-service"),
)
KINDS = {
    "web-frontend": "web",
    "mobile-bff": "web",
    "api-gateway": "gateway",
    "auth-service": "service",
    "payments-service": "service",
    "accounts-service": "service",
    "risk-scoring": "service",
    "ledger-service": "service",
    "notifications-service": "service",
    "model-server": "service",
    "kafka-events": "queue",
    "feature-cache": "cache",
    "session-cache": "cache",
    "accounts-db": "database",
    "ledger-db": "database",
}
ENTRY_SERVICES = ("web-frontend", "mobile-bff")
METRICS = ("latency_ms", "error_rate", "cpu", "requests")
INCIDENT_COLUMNS = (
    "incident_id",
    "start",
    "end",
    "root_cause_service",
    "alerted_service",
    "alerted_metric",
    "kind",
)
INCIDENT_KINDS = ("saturation", "error_burst", "slow_queries")
# Calls per minute at the daily mean.
REQUEST_RATES = {
    "web-frontend": 300.0,
    "mobile-bff": 200.0,
    "api-gateway": 500.0,
    "auth-service": 450.0,
    "payments-service": 120.0,
    "accounts-service": 250.0,
    "risk-scoring": 120.0,
    "ledger-service": 120.0,
    "notifications-service": 6.0,
    "model-server": 120.0,
    "kafka-events": 130.0,
    "feature-cache": 1500.0,
    "session-cache": 900.0,
    "accounts-db": 700.0,
    "ledger-db": 120.0,
}
# Normal share of failed calls; services not listed fail 1 call in 20,000.
NOISY_FAILURE_RATES = {"model-server": 0.02, "kafka-events": 0.01, "feature-cache": 0.005}
QUIET_FAILURE_RATE = 5e-5
# Added share of failed calls at the root cause, per incident kind (low, high).
INCIDENT_FAILURE_RATES = {
    "saturation": (0.02, 0.05),
    "error_burst": (0.01, 0.08),
    "slow_queries": (0.0, 0.01),
}
# Latency multiplier at the root cause is 1 + this times the effect.
INCIDENT_LATENCY_GAIN = {"saturation": 3.0, "error_burst": 0.3, "slow_queries": 3.0}
BASE_LATENCY = {
    "web": 120.0,
    "gateway": 60.0,
    "service": 35.0,
    "queue": 8.0,
    "cache": 2.0,
    "database": 12.0,
}

NORMAL_LOGS = {
    "web": ("GET /home 200 in {ms} ms", "GET /static/app.js 304"),
    "gateway": (
        "route /v1/payments -> payments-service 200 in {ms} ms",
        "route /v1/accounts -> accounts-service 200 in {ms} ms",
    ),
    "service": ("handled request id={id} in {ms} ms", "health check ok"),
    "queue": ("partition {id} lag {n} messages", "consumer group rebalanced"),
    "cache": ("hit ratio {pct} percent", "evicted {n} keys"),
    "database": ("checkpoint complete: wrote {n} buffers", "autovacuum on table t{n}"),
}
FAULT_LOGS = {
    "saturation": "thread pool exhausted: active={n} max={n} queued={n}",
    "error_burst": "request id={id} failed: internal error code {n}",
    "slow_queries": "slow query took {ms} ms: select from table t{n}",
}
UPSTREAM_LOG = "call to {callee} timed out after {ms} ms"


def topology_frame() -> pd.DataFrame:
    """Return the service dependency edges with the kind of each end."""
    frame = pd.DataFrame(TOPOLOGY, columns=["caller", "callee"])
    frame["caller_kind"] = frame["caller"].map(KINDS)
    frame["callee_kind"] = frame["callee"].map(KINDS)
    return frame


def _fill(template: str, rng: np.random.Generator, **extra: str) -> str:
    values = {
        "ms": str(int(rng.integers(3, 900))),
        "id": str(int(rng.integers(1000, 99999))),
        "n": str(int(rng.integers(1, 500))),
        "pct": str(int(rng.integers(70, 99))),
        **extra,
    }
    return template.format(**values)


def simulate_services(
    config: SimulationConfig, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate metrics, logs and incidents over ``config.service_hours``.

    Returns:
        service_topology, service_metrics, service_logs and incidents frames.
    """
    topology = topology_frame()
    graph = nx.DiGraph(TOPOLOGY)
    services = sorted(KINDS)
    minutes = config.service_hours * 60
    start = pd.Timestamp(config.start_date) + pd.Timedelta(days=config.n_days - 1)
    times = start + pd.to_timedelta(np.arange(minutes), unit="min")
    daily = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(minutes) / 1440 - 0.25))

    # Effect multipliers per service and minute: 0 means healthy. Failure and latency
    # changes are the effect times the incident's own size.
    effect = {service: np.zeros(minutes) for service in services}
    added_failures = {service: np.zeros(minutes) for service in services}
    latency_gain = {service: np.zeros(minutes) for service in services}
    incident_rows = []
    gap = minutes // (config.n_incidents + 1) if config.n_incidents else minutes
    for k in range(config.n_incidents):
        root = str(rng.choice([s for s in services if s not in ENTRY_SERVICES]))
        kind = str(rng.choice(INCIDENT_KINDS))
        begin = int(gap * (k + 1) + rng.integers(-gap // 4, gap // 4 + 1))
        duration = int(rng.integers(15, 45))
        failure_rate = float(rng.uniform(*INCIDENT_FAILURE_RATES[kind]))
        # Every service that reaches the root through calls is affected.
        affected = {root: 0} | {
            s: nx.shortest_path_length(graph, s, root)
            for s in services
            if s != root and nx.has_path(graph, s, root)
        }
        for service, hops in affected.items():
            lag = 2 * hops
            strength = 0.55**hops
            lo, hi = min(begin + lag, minutes), min(begin + lag + duration, minutes)
            effect[service][lo:hi] = np.maximum(effect[service][lo:hi], strength)
            added_failures[service][lo:hi] = np.maximum(
                added_failures[service][lo:hi], failure_rate * strength
            )
            latency_gain[service][lo:hi] = np.maximum(
                latency_gain[service][lo:hi], INCIDENT_LATENCY_GAIN[kind] * strength
            )
        entries = [s for s in ENTRY_SERVICES if s in affected] or [root]
        alerted = min(entries, key=lambda s: affected[s])
        incident_rows.append(
            {
                "incident_id": f"INC{k + 1:03d}",
                "start": times[begin],
                "end": times[min(begin + duration, minutes - 1)],
                "root_cause_service": root,
                "alerted_service": alerted,
                "alerted_metric": "error_rate" if kind == "error_burst" else "latency_ms",
                "kind": kind,
                "_affected": affected,
            }
        )

    metric_frames = []
    for service in services:
        kind = KINDS[service]
        e = effect[service]
        base = BASE_LATENCY[kind]
        requests = rng.poisson(REQUEST_RATES[service] * daily * (1 - 0.3 * e))
        normal_rate = NOISY_FAILURE_RATES.get(service, QUIET_FAILURE_RATE)
        # Noisy services fail in bursts: their rate varies from minute to minute.
        spread = 0.8 if service in NOISY_FAILURE_RATES else 0.0
        failure_rate = normal_rate * rng.lognormal(-(spread**2) / 2, spread, minutes)
        failed = rng.binomial(requests, np.clip(failure_rate + added_failures[service], 0, 1))
        series = {
            "latency_ms": base
            * daily
            * (1 + latency_gain[service])
            * rng.lognormal(0, 0.08, minutes),
            "error_rate": failed / np.maximum(requests, 1),
            "cpu": np.clip(35 * daily + 45 * e + rng.normal(0, 3, minutes), 0, 100),
            "requests": requests.astype(float),
        }
        for metric, values in series.items():
            metric_frames.append(
                pd.DataFrame(
                    {"timestamp": times, "service": service, "metric": metric, "value": values}
                )
            )
    metrics = pd.concat(metric_frames, ignore_index=True)
    logs = _simulate_logs(services, times, effect, incident_rows, graph, rng)
    incidents = pd.DataFrame(
        [{k: v for k, v in row.items() if k != "_affected"} for row in incident_rows]
    )
    if incidents.empty:
        incidents = pd.DataFrame(columns=list(INCIDENT_COLUMNS))
    return topology, metrics, logs, incidents


def _simulate_logs(services, times, effect, incident_rows, graph, rng) -> pd.DataFrame:
    rows = []
    for service in services:
        kind = KINDS[service]
        healthy = NORMAL_LOGS[kind]
        for minute in np.flatnonzero(rng.random(len(times)) < 0.5):
            rows.append((times[minute], service, "INFO", _fill(str(rng.choice(healthy)), rng)))
    for incident in incident_rows:
        for service, hops in incident["_affected"].items():
            active = np.flatnonzero(effect[service] > 0)
            active = active[(times[active] >= incident["start"])]
            for minute in active[:60]:
                for _ in range(int(rng.integers(1, 4))):
                    if hops == 0:
                        message = _fill(FAULT_LOGS[incident["kind"]], rng)
                        rows.append((times[minute], service, "ERROR", message))
                    else:
                        callee = next(iter(graph.successors(service)))
                        on_path = [
                            c for c in graph.successors(service) if c in incident["_affected"]
                        ]
                        callee = on_path[0] if on_path else callee
                        message = _fill(UPSTREAM_LOG, rng, callee=callee)
                        rows.append((times[minute], service, "WARN", message))
    logs = pd.DataFrame(rows, columns=["timestamp", "service", "level", "message"])
    return logs.sort_values(["timestamp", "service"], kind="stable").reset_index(drop=True)
