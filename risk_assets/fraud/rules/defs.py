"""Dagster definitions of the fraud rules engine, merged by ``risk_assets.definitions``."""

import dagster as dg

from risk_assets.fraud.rules.assets import (
    fraud_decisions,
    fraud_decisions_have_reason_codes,
    fraud_rule_backtest,
)

defs = dg.Definitions(
    assets=[fraud_decisions, fraud_rule_backtest],
    asset_checks=[fraud_decisions_have_reason_codes],
)
