"""Layered fraud decisions: hard rules, then score thresholds, then soft rules.

1. Hard rules. The matching hard rule with the highest priority (smallest number)
   decides the action, and the score and the soft rules are ignored.
2. Score thresholds. ``score >= decline`` declines, ``score >= review`` sends to review,
   ``score >= step_up`` (when set) requests step-up authentication, else approve.
3. Soft rules. Each matching soft rule can raise the action to its own, never lower it.

``decide`` runs on a whole DataFrame with one vectorized pass per rule. ``decide_one``
wraps a single record in a one-row DataFrame and calls ``decide``, so batch scoring and
the real-time API share one code path.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_assets.fraud.rules.fields import TIMESTAMP_COLUMN, available_fields, resolve_fields
from risk_assets.fraud.rules.ruleset import (
    ACTIONS_BY_SEVERITY,
    SCORE_REASON_CODES,
    Action,
    Layer,
    Rule,
    RuleSet,
)

SCORE_COLUMN = "fraud_score"
ID_COLUMN = "transaction_id"
DECISION_COLUMNS = ["decision", "decision_layer", "reason_codes", "matched_rules"]

# Values of the decision_layer column.
LAYER_HARD = "hard_rule"
LAYER_SCORE = "score"
LAYER_SOFT = "soft_rule"


@dataclass(frozen=True)
class DecisionThresholds:
    """Score thresholds of the middle layer, in the units of the fraud score.

    Attributes:
        review: Scores at or above this go to manual review.
        decline: Scores at or above this are declined.
        step_up: Scores at or above this get step-up authentication. None disables
            the step-up band.
    """

    review: float = 0.5
    decline: float = 0.9
    step_up: float | None = None

    def __post_init__(self) -> None:
        named = {"review": self.review, "decline": self.decline}
        if self.step_up is not None:
            named["step_up"] = self.step_up
        for name, value in named.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"Threshold {name}={value!r} must be a number.")
            if not math.isfinite(value):
                raise ValueError(f"Threshold {name}={value!r} must be finite.")
        if self.review > self.decline:
            raise ValueError(
                f"Threshold review={self.review} is above decline={self.decline}. "
                "Set review <= decline."
            )
        if self.step_up is not None and self.step_up > self.review:
            raise ValueError(
                f"Threshold step_up={self.step_up} is above review={self.review}. "
                "Set step_up <= review, or step_up=None to disable it."
            )

    def score_severity(self, scores: np.ndarray) -> np.ndarray:
        """Map scores to action severities (see ``Action.severity``)."""
        severity = np.zeros(len(scores), dtype=np.int64)
        if self.step_up is not None:
            severity[scores >= self.step_up] = Action.STEP_UP.severity
        severity[scores >= self.review] = Action.REVIEW.severity
        severity[scores >= self.decline] = Action.DECLINE.severity
        return severity


def read_scores(frame: pd.DataFrame, score_column: str = SCORE_COLUMN) -> np.ndarray:
    """Return the fraud scores as float64.

    Raises:
        ValueError: If the column is missing or has a missing or non-numeric value.
    """
    if score_column not in frame.columns:
        raise ValueError(
            f"Column {score_column!r} is missing from the transactions to decide. "
            "Score them with the fraud model first, or pass score_column."
        )
    scores = pd.to_numeric(frame[score_column], errors="coerce").astype("float64")
    missing = scores.isna().to_numpy()
    if missing.any():
        where = frame.loc[missing, ID_COLUMN].head(3).tolist() if ID_COLUMN in frame else []
        raise ValueError(
            f"{int(missing.sum())} rows have a missing or non-numeric {score_column!r} "
            f"(for example transaction_id {where}). Score every transaction before deciding."
        )
    return scores.to_numpy()


def _explain(
    hard_matches: list[tuple[Rule, np.ndarray]],
    soft_matches: list[tuple[Rule, np.ndarray]],
    hard_severity: np.ndarray,
    score_severity: np.ndarray,
) -> tuple[list[list[str]], list[list[str]]]:
    """Return the reason codes and the matched rule names of every row.

    ``hard_severity`` is -1 where no hard rule matched, else the deciding rule's severity.
    """
    count = len(hard_severity)
    decided_by_hard = hard_severity >= 0
    reason_codes: list[list[str]] = [[] for _ in range(count)]
    matched_rules: list[list[str]] = [[] for _ in range(count)]

    for rule, mask in hard_matches:
        for row in np.flatnonzero(mask):
            matched_rules[row].append(rule.name)
        # Only the hard rules that agree with the deciding rule explain the decision.
        agreeing = mask & decided_by_hard & (hard_severity == rule.action.severity)
        for row in np.flatnonzero(agreeing):
            reason_codes[row].append(rule.reason_code)

    for action, code in SCORE_REASON_CODES.items():
        for row in np.flatnonzero(~decided_by_hard & (score_severity == action.severity)):
            reason_codes[row].append(code)

    for rule, mask in soft_matches:
        for row in np.flatnonzero(mask):
            matched_rules[row].append(rule.name)
        # Every matching soft rule adds its code, also when the score alone set an
        # equal or higher action, so that analysts see all risk signals.
        for row in np.flatnonzero(mask & ~decided_by_hard):
            reason_codes[row].append(rule.reason_code)

    # Two rules may share a reason code. Keep the first occurrence of each.
    unique_codes = [list(dict.fromkeys(codes)) for codes in reason_codes]
    return unique_codes, matched_rules


def decide(
    frame: pd.DataFrame,
    rules: RuleSet,
    thresholds: DecisionThresholds,
    score_column: str = SCORE_COLUMN,
) -> pd.DataFrame:
    """Decide every scored transaction with the hard rules, the score and the soft rules.

    Args:
        frame: One row per transaction with ``score_column`` and the fields the rules
            read. ``hour``, ``day_of_week`` and ``is_weekend`` are derived from
            ``timestamp`` when they are not columns.
        rules: Parsed rules. Disabled rules are skipped.
        thresholds: Score thresholds of the middle layer.
        score_column: Column with the model's fraud score.

    Returns:
        A DataFrame on the index of ``frame``. It has ``transaction_id`` (when
        present), the score, ``decision`` (action name) and ``decision_layer``
        (hard_rule, score or soft_rule). ``reason_codes`` lists the codes that produced
        the decision. ``matched_rules`` lists every rule whose condition held, hard and
        soft.

    Raises:
        ValueError: If the score column is missing or has missing values, or a field
            has values of the wrong type.
        UnknownFieldError: If a rule reads a field that is not available.
    """
    scores = read_scores(frame, score_column)
    prepared = resolve_fields(frame, rules)
    count = len(frame)
    hard_rules = rules.active(Layer.HARD)
    soft_rules = rules.active(Layer.SOFT)
    hard_masks = [rule.condition.evaluate(prepared) for rule in hard_rules]
    soft_masks = [rule.condition.evaluate(prepared) for rule in soft_rules]

    # Hard layer: the first matching rule in priority order decides.
    hard_severity = np.full(count, -1, dtype=np.int64)
    for rule, mask in zip(hard_rules, hard_masks, strict=True):
        hard_severity[mask & (hard_severity < 0)] = rule.action.severity
    decided_by_hard = hard_severity >= 0

    score_severity = thresholds.score_severity(scores)
    soft_severity = np.zeros(count, dtype=np.int64)
    for rule, mask in zip(soft_rules, soft_masks, strict=True):
        soft_severity[mask] = np.maximum(soft_severity[mask], rule.action.severity)

    severity = np.where(decided_by_hard, hard_severity, np.maximum(score_severity, soft_severity))
    layer = np.where(
        decided_by_hard,
        LAYER_HARD,
        np.where(soft_severity > score_severity, LAYER_SOFT, LAYER_SCORE),
    )

    reason_codes, matched_rules = _explain(
        list(zip(hard_rules, hard_masks, strict=True)),
        list(zip(soft_rules, soft_masks, strict=True)),
        hard_severity,
        score_severity,
    )

    columns: dict[str, object] = {}
    if ID_COLUMN in frame.columns:
        columns[ID_COLUMN] = frame[ID_COLUMN].array
    columns[score_column] = scores
    action_names = np.array([action.value for action in ACTIONS_BY_SEVERITY], dtype=object)
    columns["decision"] = action_names[severity]
    columns["decision_layer"] = layer.astype(object)
    columns["reason_codes"] = reason_codes
    columns["matched_rules"] = matched_rules
    return pd.DataFrame(columns, index=frame.index)


def decide_one(
    record: Mapping[str, Any],
    rules: RuleSet,
    thresholds: DecisionThresholds,
    score_column: str = SCORE_COLUMN,
) -> dict[str, Any]:
    """Decide a single scored transaction through the same code path as ``decide``.

    Args:
        record: Field name to value for one transaction, including ``score_column``.
        rules: Parsed rules.
        thresholds: Score thresholds of the middle layer.
        score_column: Key with the model's fraud score.

    Returns:
        The row ``decide`` returns for this record, as a dict of plain Python values.

    Raises:
        ValueError: As ``decide``.
        UnknownFieldError: As ``decide``.
    """
    # Building a one-row DataFrame costs time per column, so keep only the columns
    # that decide reads. If a rule field is not available, keep the whole record so
    # that the UnknownFieldError lists every available field.
    needed = rules.fields() | {score_column, ID_COLUMN, TIMESTAMP_COLUMN}
    if rules.fields() <= available_fields(list(record)):
        values = {key: value for key, value in record.items() if key in needed}
    else:
        values = dict(record)
    frame = pd.DataFrame([values])
    row = decide(frame, rules, thresholds, score_column=score_column).iloc[0]
    decision: dict[str, Any] = {}
    for key, value in row.items():
        decision[str(key)] = value.item() if isinstance(value, np.generic) else value
    return decision


def summarize_decisions(decisions: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Count decisions per action, per layer and per reason code.

    Args:
        decisions: Output of ``decide``.

    Returns:
        ``{"actions": {...}, "layers": {...}, "reason_codes": {...}}``. Every action
        appears, with 0 when unused. A row with several codes counts once per code.
    """
    actions = {action.value: 0 for action in ACTIONS_BY_SEVERITY}
    actions.update(
        {str(key): int(value) for key, value in decisions["decision"].value_counts().items()}
    )
    layers = {
        str(key): int(value) for key, value in decisions["decision_layer"].value_counts().items()
    }
    codes = Counter(code for codes in decisions["reason_codes"] for code in codes)
    return {
        "actions": actions,
        "layers": layers,
        "reason_codes": dict(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
    }
