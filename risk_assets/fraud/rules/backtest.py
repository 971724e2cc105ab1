"""Rule backtest on labeled history: hit counts, precision, recall and overlap with the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_assets.fraud.rules.decisions import SCORE_COLUMN, read_scores
from risk_assets.fraud.rules.fields import resolve_fields
from risk_assets.fraud.rules.ruleset import Layer, RuleSet

LABEL_COLUMN = "is_fraud"
MODEL_ROW_NAME = "model_review_threshold"

BACKTEST_COLUMNS = [
    "rule",
    "layer",
    "action",
    "reason_code",
    "priority",
    "hits",
    "hit_rate",
    "true_positives",
    "precision",
    "recall",
    "hits_flagged_by_model",
    "model_overlap",
    "frauds_missed_by_model",
]


def _labels(frame: pd.DataFrame, label_column: str) -> np.ndarray:
    """Return labels as float64 with NaN for unlabeled rows.

    Raises:
        ValueError: If the column is missing or contains a value other than 0 or 1.
    """
    if label_column not in frame.columns:
        raise ValueError(
            f"Column {label_column!r} is missing, but the backtest needs labeled history. "
            "Pass transactions with fraud labels or name the label column."
        )
    labels = pd.to_numeric(frame[label_column], errors="coerce").astype("float64")
    invalid = labels.notna() & ~labels.isin([0.0, 1.0])
    invalid |= labels.isna() & frame[label_column].notna()
    if invalid.any():
        example = frame.loc[invalid, label_column].iloc[0]
        if isinstance(example, np.generic):
            example = example.item()
        raise ValueError(
            f"Column {label_column!r} contains {example!r}. Labels must be 0, 1 or missing."
        )
    return labels.to_numpy()


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def backtest_rules(
    frame: pd.DataFrame,
    rules: RuleSet,
    review_threshold: float,
    score_column: str = SCORE_COLUMN,
    label_column: str = LABEL_COLUMN,
) -> pd.DataFrame:
    """Measure each enabled rule on labeled transactions, alone and against the model.

    A rule's hits are the rows where its condition holds, whatever the other rules or
    the score would decide. Rows with a missing label count towards ``hits`` and
    ``hit_rate`` but are left out of precision, recall and the fraud counts.

    Args:
        frame: Scored, labeled transactions with the fields the rules read.
        rules: Rules to measure. Disabled rules are skipped.
        review_threshold: Score at or above which the model alone flags a transaction.
        score_column: Column with the model's fraud score.
        label_column: Column with the fraud label (0, 1 or missing).

    Returns:
        One row per enabled rule (hard rules first, each layer in priority order) and a
        last row named ``model_review_threshold`` for the model alone. Columns:
        ``hits``, ``hit_rate`` (hits / rows), ``true_positives`` (labeled frauds among
        the hits), ``precision`` (true positives / labeled hits), ``recall`` (true
        positives / labeled frauds), ``hits_flagged_by_model`` (hits with score >=
        review threshold), ``model_overlap`` (that count / hits) and
        ``frauds_missed_by_model`` (true positives with score < review threshold).
        Ratios with a zero denominator are NaN.

    Raises:
        ValueError: If the score or label column is missing or invalid.
        UnknownFieldError: If a rule reads a field that is not available.
    """
    scores = read_scores(frame, score_column)
    labels = _labels(frame, label_column)
    prepared = resolve_fields(frame, rules)

    labeled = ~np.isnan(labels)
    fraud = labeled & (labels == 1.0)
    model_flags = scores >= review_threshold
    total_rows = len(frame)
    total_frauds = int(fraud.sum())

    def measure(mask: np.ndarray) -> dict[str, float | int]:
        hits = int(mask.sum())
        labeled_hits = int((mask & labeled).sum())
        true_positives = int((mask & fraud).sum())
        flagged = int((mask & model_flags).sum())
        return {
            "hits": hits,
            "hit_rate": _ratio(hits, total_rows),
            "true_positives": true_positives,
            "precision": _ratio(true_positives, labeled_hits),
            "recall": _ratio(true_positives, total_frauds),
            "hits_flagged_by_model": flagged,
            "model_overlap": _ratio(flagged, hits),
            "frauds_missed_by_model": int((mask & fraud & ~model_flags).sum()),
        }

    rows: list[dict[str, object]] = []
    for layer in (Layer.HARD, Layer.SOFT):
        for rule in rules.active(layer):
            mask = rule.condition.evaluate(prepared)
            identity = {
                "rule": rule.name,
                "layer": rule.layer.value,
                "action": rule.action.value,
                "reason_code": rule.reason_code,
                "priority": rule.priority,
            }
            rows.append(identity | measure(mask))

    model_identity = {
        "rule": MODEL_ROW_NAME,
        "layer": "score",
        "action": "review",
        "reason_code": None,
        "priority": None,
    }
    rows.append(model_identity | measure(model_flags))
    table = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    table["priority"] = table["priority"].astype("Int64")
    return table
