"""Fraud rules engine: analyst rules in YAML, layered decisions and rule backtests."""

from risk_assets.fraud.rules.backtest import backtest_rules
from risk_assets.fraud.rules.decisions import (
    DecisionThresholds,
    decide,
    decide_one,
    summarize_decisions,
)
from risk_assets.fraud.rules.errors import RuleFileError, UnknownFieldError
from risk_assets.fraud.rules.parsing import default_rules_path, load_rules, parse_rules
from risk_assets.fraud.rules.ruleset import Action, Layer, Rule, RuleSet

__all__ = [
    "Action",
    "DecisionThresholds",
    "Layer",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "UnknownFieldError",
    "backtest_rules",
    "decide",
    "decide_one",
    "default_rules_path",
    "load_rules",
    "parse_rules",
    "summarize_decisions",
]
