"""Simulator: determinism, contracts and the behaviours the models rely on."""

import pandas as pd
import pytest

from risk_assets.ingestion.schemas import SCHEMAS
from risk_assets.ingestion.simulator import SimulationConfig, simulate
from risk_assets.ingestion.simulator.payments import LARGE_AMOUNT
from risk_assets.ingestion.validation import validate

CONFIG = SimulationConfig(
    seed=11,
    n_customers=150,
    n_terminals=300,
    n_days=40,
    drift_day=30,
    service_hours=6,
    n_incidents=3,
)


@pytest.fixture(scope="module")
def world():
    return simulate(CONFIG)


def test_same_seed_same_tables(world):
    simulate.cache_clear()
    again = simulate(CONFIG)
    for name in (
        "transactions",
        "customers",
        "customer_activity",
        "service_metrics",
        "service_logs",
        "incidents",
    ):
        pd.testing.assert_frame_equal(world.table(name), again.table(name))


def test_other_seed_other_tables(world):
    other = simulate(SimulationConfig(**{**CONFIG.__dict__, "seed": 12}))
    assert not world.transactions["amount"].equals(other.transactions["amount"])


def test_every_table_meets_its_contract(world):
    for name, schema in SCHEMAS.items():
        result = validate(world.table(name), schema)
        assert result.quarantine.empty, f"{name}: {result.reason_counts()}"


def test_all_fraud_scenarios_present(world):
    scenarios = set(world.transactions["fraud_scenario"].unique())
    assert scenarios == {0, 1, 2, 3, 4, 5}


def test_large_amounts_are_fraud(world):
    tx = world.transactions
    assert (tx.loc[tx["amount"] > LARGE_AMOUNT, "is_fraud"] == 1).all()


def test_takeover_changes_device(world):
    tx = world.transactions
    takeover = tx[tx["fraud_scenario"] == 3]
    assert takeover["device_id"].str.startswith("X").all()


def test_rings_share_devices_across_customers(world):
    ring = world.transactions[world.transactions["fraud_scenario"] == 4]
    customers_per_device = ring.groupby("device_id")["customer_id"].nunique()
    assert customers_per_device.max() >= 2


def test_card_testing_starts_at_drift_day(world):
    tx = world.transactions
    first = tx.loc[tx["fraud_scenario"] == 5, "timestamp"].min()
    assert first >= pd.Timestamp(CONFIG.start_date) + pd.Timedelta(days=CONFIG.drift_day)


def test_churn_depends_on_contract(world):
    rates = world.customers.groupby("contract")["churned"].mean()
    assert rates["month_to_month"] > rates["two_year"]


def test_incident_spreads_to_callers(world):
    incident = world.incidents.iloc[0]
    metrics = world.service_metrics
    during = metrics["timestamp"].between(incident["start"], incident["end"])
    root = metrics[
        (metrics["service"] == incident["root_cause_service"]) & (metrics["metric"] == "latency_ms")
    ]
    assert root.loc[during, "value"].mean() > 2 * root.loc[~during, "value"].mean()
    assert incident["alerted_service"] in (
        "web-frontend",
        "mobile-bff",
        incident["root_cause_service"],
    )


def test_too_small_config_rejected():
    with pytest.raises(ValueError, match="n_days=3 is too small"):
        SimulationConfig(n_days=3)
