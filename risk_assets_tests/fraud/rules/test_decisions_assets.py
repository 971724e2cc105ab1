"""Dagster materialization of fraud_decisions, fraud_rule_backtest and their check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from risk_assets.features.fraud_features import build_transaction_features
from risk_assets.fraud.rules import default_rules_path, load_rules
from risk_assets.fraud.rules.assets import (
    RulesConfig,
    fraud_decisions,
    fraud_decisions_have_reason_codes,
    fraud_rule_backtest,
)
from risk_assets.fraud.rules.defs import defs
from risk_assets.ingestion.simulator import SimulationConfig, simulate
from risk_assets.resources.storage import LocalStorageResource, ParquetIOManager

SMALL_WORLD = SimulationConfig(
    seed=3, n_customers=100, n_terminals=200, n_days=20, service_hours=2, n_incidents=0
)


def scored_transactions() -> pd.DataFrame:
    """Simulated transactions with real features and a noisy score that tracks the label."""
    features = build_transaction_features(simulate(SMALL_WORLD).transactions)
    rng = np.random.default_rng(0)
    labels = features["is_fraud"].fillna(0).to_numpy(dtype=float)
    noise = rng.normal(0.0, 0.2, len(features))
    features["fraud_score"] = np.clip(0.15 + 0.6 * labels + noise, 0.0, 1.0)
    return features


@dg.asset(name="fraud_predictions", group_name="fraud")
def fraud_predictions_input() -> pd.DataFrame:
    return scored_transactions()


def materialize(tmp_path: Path, run_config: dict | None = None, raise_on_error: bool = True):
    storage = LocalStorageResource(base_dir=str(tmp_path / "storage"))
    return dg.materialize(
        [fraud_predictions_input, fraud_decisions, fraud_rule_backtest],
        resources={"io_manager": ParquetIOManager(storage=storage)},
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def materialization_metadata(result, asset_name: str) -> dict:
    events = result.asset_materializations_for_node(asset_name)
    assert len(events) == 1
    return events[0].metadata


def test_assets_materialize_with_defaults(tmp_path: Path):
    result = materialize(tmp_path)

    assert result.success
    decisions = result.output_for_node("fraud_decisions")
    predictions = result.output_for_node("fraud_predictions")
    assert len(decisions) == len(predictions)
    assert decisions["transaction_id"].tolist() == predictions["transaction_id"].tolist()

    metadata = materialization_metadata(result, "fraud_decisions")
    counts = [metadata[f"decisions_{action}"].value for action in ("approve", "review")]
    assert all(count > 0 for count in counts)
    total = sum(
        metadata[f"decisions_{action}"].value
        for action in ("approve", "step_up", "review", "decline")
    )
    assert total == len(decisions)
    assert "| reason_code | count |" in metadata["reason_codes"].value
    assert metadata["rules_path"].value == str(default_rules_path())

    stored = tmp_path / "storage" / "assets" / "fraud_decisions.parquet"
    reloaded = pd.read_parquet(stored)
    assert len(reloaded) == len(decisions)
    assert list(reloaded.loc[decisions.index[0], "reason_codes"]) == list(
        decisions.iloc[0]["reason_codes"]
    )


def test_backtest_asset_covers_enabled_rules(tmp_path: Path):
    result = materialize(tmp_path)

    table = result.output_for_node("fraud_rule_backtest")
    enabled = [rule.name for rule in load_rules(default_rules_path()).rules if rule.enabled]
    assert sorted(table["rule"].tolist()) == sorted([*enabled, "model_review_threshold"])
    predictions = result.output_for_node("fraud_predictions")
    metadata = materialization_metadata(result, "fraud_rule_backtest")
    assert metadata["frauds"].value == int((predictions["is_fraud"] == 1).sum())
    assert metadata["labeled_rows"].value == int(predictions["is_fraud"].notna().sum())


def test_config_sets_rules_and_thresholds(tmp_path: Path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n"
        "  - {name: everything, layer: hard, action: decline, reason_code: ALL, priority: 1,\n"
        "     when: {field: amount, op: '>=', value: 0}}\n",
        encoding="utf-8",
    )
    config = {
        "rules_path": str(rules_file),
        "review_threshold": 0.2,
        "decline_threshold": 0.3,
    }
    run_config = {"ops": {"fraud_decisions": {"config": config}}}

    result = materialize(tmp_path, run_config=run_config)

    decisions = result.output_for_node("fraud_decisions")
    assert set(decisions["decision"]) == {"decline"}
    metadata = materialization_metadata(result, "fraud_decisions")
    assert metadata["review_threshold"].value == pytest.approx(0.2)
    assert metadata["hard_rules_enabled"].value == 1


def test_invalid_rule_file_fails_run(tmp_path: Path):
    rules_file = tmp_path / "broken.yaml"
    rules_file.write_text(
        "rules:\n"
        "  - name: a\n"
        "    action: block\n"
        "    layer: hard\n"
        "    reason_code: A\n"
        "    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        encoding="utf-8",
    )
    run_config = {"ops": {"fraud_decisions": {"config": {"rules_path": str(rules_file)}}}}

    result = materialize(tmp_path, run_config=run_config, raise_on_error=False)

    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    message = failure.step_failure_data.error.cause.message
    assert "broken.yaml, line 3" in message
    assert "unknown action 'block'" in message


def test_rules_config_rejects_s3_path():
    config = RulesConfig(rules_path="s3://bucket/rules.yaml")

    with pytest.raises(ValueError, match="is an S3 URI"):
        config.load()


def test_reason_code_check_passes(tmp_path: Path):
    storage = LocalStorageResource(base_dir=str(tmp_path / "storage"))
    resources = {"io_manager": ParquetIOManager(storage=storage)}
    materialized = dg.materialize([fraud_predictions_input, fraud_decisions], resources=resources)
    assert materialized.success

    result = dg.materialize(
        [fraud_predictions_input, fraud_decisions, fraud_decisions_have_reason_codes],
        resources=resources,
        selection=dg.AssetSelection.checks(fraud_decisions_have_reason_codes),
    )

    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    assert evaluations[0].passed
    assert evaluations[0].metadata["escalated_without_reason"].value == 0
    assert evaluations[0].metadata["escalated"].value > 0


def test_defs_expose_assets_and_check():
    upstream = dg.Definitions(assets=[fraud_predictions_input])
    graph = dg.Definitions.merge(defs, upstream).resolve_asset_graph()

    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"fraud_decisions", "fraud_rule_backtest"} <= keys
    assert len(list(graph.asset_check_keys)) == 1
    assert graph.get(dg.AssetKey("fraud_decisions")).group_name == "fraud"
