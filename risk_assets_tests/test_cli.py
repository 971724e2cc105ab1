"""The command line: the demo materializes every asset, and bad requests fail clearly."""

import json

import pytest

from risk_assets.cli import main
from risk_assets.definitions import build_definitions
from risk_assets.settings import load_settings
from risk_assets.sources_config import raw_data_from_environment

pytestmark = pytest.mark.slow

SMALL_WORLD = {
    "RISK_SIM_SEED": "5",
    "RISK_SIM_CUSTOMERS": "200",
    "RISK_SIM_TERMINALS": "400",
    "RISK_SIM_DAYS": "45",
}


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RISK_PROFILE", "local")
    monkeypatch.setenv("RISK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for name, value in SMALL_WORLD.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_demo_materializes_every_asset(environment, capsys):
    assert main(["demo"]) == 0
    printed = _last_json(capsys.readouterr().out)
    defs = build_definitions(load_settings(), raw_data_from_environment())
    every_asset = defs.resolve_asset_graph().get_all_asset_keys()
    assert printed["assets"] == len(every_asset)
    loop = printed["summary"]["fraud_monitoring"]
    assert loop["days_featurized"] == 45
    assert loop["days_scored"] == 45 - 45 // 2
    assert loop["champion_challenger"] in {"promoted", "rejected"}
    assert loop["challenger_version"] != loop["champion_version"]
    assert loop["retrain_reason"]


def test_selection_matching_nothing_rejected(environment):
    with pytest.raises(SystemExit, match="'key:nope' matches no asset"):
        main(["materialize", "--select", "key:nope"])


def test_misspelled_asset_rejected(environment):
    with pytest.raises(SystemExit, match="did you mean"):
        main(["materialize", "--select", "fraud_modle"])


def test_failure_prints_the_cause(environment, capsys):
    missing = environment / "absent.csv"
    code = main(["materialize", "--source", f"transactions={missing}", "--select", "transactions"])
    assert code == 1
    out = capsys.readouterr().out
    assert "failed step" in out
    assert f"cannot read {missing}: file not found" in out


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("", "--select is empty"),
        ("key:fraud_model and", "is invalid: Invalid selection string"),
        ("fraud_drift_report", "names only daily-partitioned monitoring assets"),
    ],
)
def test_bad_selection_explained(environment, selection, message):
    with pytest.raises(SystemExit, match=message):
        main(["materialize", "--select", selection])


@pytest.mark.parametrize("value", ["2025-13-45", "2025-01-10T12:00:00+05:00", "yesterday"])
def test_bad_train_start_named(environment, value):
    with pytest.raises(SystemExit, match="--train-start .* is invalid"):
        main(["materialize", "--train-start", value])


def test_too_short_feed_named(environment, monkeypatch):
    monkeypatch.setenv("RISK_SIM_DAYS", "1")
    with pytest.raises(SystemExit, match=r"n_days=1 is too small.*14 days"):
        main(["demo"])


def test_quarantined_rows_listed(environment, capsys):
    incidents = environment / "incidents.csv"
    incidents.write_text(
        "incident_id,start,alerted_service,alerted_metric\n"
        "I1,2025-01-01,web-frontend,latency_ms\n"
        "I2,05/01/2025,web-frontend,latency_ms\n"
    )
    code = main(["materialize", "--source", f"incidents={incidents}", "--select", "incidents"])
    assert code == 0
    printed = _last_json(capsys.readouterr().out)
    assert printed["warnings"] == ["incidents: 1 rows quarantined, see incidents_quarantine"]
