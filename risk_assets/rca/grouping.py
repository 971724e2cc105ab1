"""Grouping accuracy of a log parser against true event templates.

A line counts as correctly parsed only when the group the parser put it in contains
exactly the lines of its true event: no line of another event, and no line of its
own event left out. Grouping accuracy is the share of such lines. This is the
measure used by the Loghub-2k benchmark (Zhu et al., "Tools and Benchmarks for
Automated Log Parsing", ICSE 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from risk_assets.rca.errors import RcaError


def grouping_accuracy(true_events: Sequence, predicted_groups: Sequence) -> float:
    """Compute the share of lines whose predicted group equals their true group.

    Args:
        true_events: True event id per line.
        predicted_groups: Predicted group id per line, in the same order. Only equality of
            ids matters, so any hashable labels work.

    Returns:
        Grouping accuracy in [0, 1].

    Raises:
        RcaError: The sequences differ in length, are empty or contain missing values.
    """
    if len(true_events) != len(predicted_groups):
        raise RcaError(
            f"true_events has {len(true_events)} lines but predicted_groups has "
            f"{len(predicted_groups)}; pass one label per line in both."
        )
    if len(true_events) == 0:
        raise RcaError("grouping_accuracy needs at least one line; both sequences are empty.")
    frame = pd.DataFrame({"true": list(true_events), "pred": list(predicted_groups)})
    if frame.isna().any().any():
        raise RcaError(
            "true_events or predicted_groups contains missing values; "
            "give every line a label before scoring."
        )
    true_sizes = frame.groupby("true").size()
    correct_lines = 0
    for _, group in frame.groupby("pred"):
        true_in_group = group["true"].unique()
        if len(true_in_group) == 1 and true_sizes[true_in_group[0]] == len(group):
            correct_lines += len(group)
    return correct_lines / len(frame)
