"""Dagster assets of the rules engine: fraud decisions and the rule backtest."""

import dagster as dg
import pandas as pd
from pydantic import Field

from risk_assets.fraud.rules.backtest import backtest_rules
from risk_assets.fraud.rules.decisions import DecisionThresholds, decide, summarize_decisions
from risk_assets.fraud.rules.parsing import default_rules_path, load_rules
from risk_assets.fraud.rules.ruleset import Layer, RuleSet
from risk_assets.metadata import markdown_table


class RulesConfig(dg.Config):
    """Rule file and score thresholds used to decide scored transactions."""

    # NOTE: rules_path is read from the local file system of the run worker, so on the
    # aws profile the file must ship in the image. s3:// URIs are not supported.

    rules_path: str | None = Field(
        default=None,
        description="Local path of the YAML rule file. Unset uses the shipped default_rules.yaml.",
    )
    review_threshold: float = Field(
        default=0.5, description="Fraud score at or above which a transaction goes to review."
    )
    decline_threshold: float = Field(
        default=0.9, description="Fraud score at or above which a transaction is declined."
    )
    step_up_threshold: float | None = Field(
        default=None,
        description="Fraud score at or above which step-up authentication is requested. "
        "Unset disables the step-up band.",
    )

    def load(self) -> tuple[RuleSet, DecisionThresholds]:
        """Read the rule file and validate the thresholds.

        Raises:
            RuleFileError: If the rule file is unreadable or invalid.
            ValueError: If rules_path is an S3 URI or the thresholds are out of order.
        """
        path = self.rules_path or default_rules_path()
        if str(path).startswith("s3://"):
            raise ValueError(
                f"rules_path {path!r} is an S3 URI, but rule files are read from local disk. "
                "Ship the file with the code location and pass its local path."
            )
        thresholds = DecisionThresholds(
            review=self.review_threshold,
            decline=self.decline_threshold,
            step_up=self.step_up_threshold,
        )
        return load_rules(path), thresholds


def _ruleset_metadata(rules: RuleSet, thresholds: DecisionThresholds) -> dict[str, object]:
    return {
        "rules_path": dg.MetadataValue.path(rules.source),
        "hard_rules_enabled": len(rules.active(Layer.HARD)),
        "soft_rules_enabled": len(rules.active(Layer.SOFT)),
        "review_threshold": thresholds.review,
        "decline_threshold": thresholds.decline,
        "step_up_threshold": thresholds.step_up if thresholds.step_up is not None else "disabled",
    }


@dg.asset(
    group_name="fraud",
    kinds={"pandas"},
    description="Layered decision for every scored transaction: hard rules, score "
    "thresholds, then soft rules, with the reason codes behind each decision.",
)
def fraud_decisions(
    context: dg.AssetExecutionContext,
    config: RulesConfig,
    fraud_predictions: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Decide each scored transaction with the configured rule file and thresholds."""
    rules, thresholds = config.load()
    context.log.info(
        "Deciding %d transactions with %d rules from %s",
        len(fraud_predictions),
        len(rules.rules),
        rules.source,
    )
    decisions = decide(fraud_predictions, rules, thresholds)
    summary = summarize_decisions(decisions)

    total = max(len(decisions), 1)
    metadata: dict[str, object] = {"rows": len(decisions)}
    metadata.update(_ruleset_metadata(rules, thresholds))
    for action, count in summary["actions"].items():
        metadata[f"decisions_{action}"] = count
        metadata[f"share_{action}"] = count / total
    for layer, count in summary["layers"].items():
        metadata[f"decided_by_{layer}"] = count
    reason_table = pd.DataFrame(
        {"reason_code": list(summary["reason_codes"]), "count": summary["reason_codes"].values()}
    )
    metadata["reason_codes"] = markdown_table(reason_table)
    context.log.info("Decisions per action: %s", summary["actions"])
    return dg.Output(decisions, metadata=metadata)


@dg.asset(
    group_name="fraud",
    kinds={"pandas"},
    description="Per-rule hits, precision and recall on labeled scored history, and the "
    "overlap of each rule with the model's review threshold.",
)
def fraud_rule_backtest(
    context: dg.AssetExecutionContext,
    config: RulesConfig,
    fraud_predictions: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Backtest every enabled rule on the labeled rows of the scored transactions."""
    rules, thresholds = config.load()
    table = backtest_rules(fraud_predictions, rules, review_threshold=thresholds.review)

    labeled = int(fraud_predictions["is_fraud"].notna().sum())
    if labeled == 0:
        context.log.warning(
            "fraud_predictions has no labeled rows, so precision and recall are undefined"
        )
    summary_columns = table[
        ["rule", "layer", "action", "hits", "precision", "recall", "frauds_missed_by_model"]
    ]
    metadata: dict[str, object] = {
        "rows": len(fraud_predictions),
        "labeled_rows": labeled,
        "frauds": int((fraud_predictions["is_fraud"] == 1).sum()),
        "backtest": markdown_table(summary_columns),
    }
    metadata.update(_ruleset_metadata(rules, thresholds))
    context.log.info("Backtested %d rules on %d labeled rows", len(table) - 1, labeled)
    return dg.Output(table, metadata=metadata)


@dg.asset_check(
    asset=fraud_decisions,
    description="Every decision other than approve carries at least one reason code.",
)
def fraud_decisions_have_reason_codes(fraud_decisions: pd.DataFrame) -> dg.AssetCheckResult:
    """Fail when a step_up, review or decline decision has no reason code."""
    escalated = fraud_decisions["decision"] != "approve"
    without_reason = escalated & (fraud_decisions["reason_codes"].map(len) == 0)
    failures = int(without_reason.sum())
    return dg.AssetCheckResult(
        passed=failures == 0,
        metadata={"escalated": int(escalated.sum()), "escalated_without_reason": failures},
    )
