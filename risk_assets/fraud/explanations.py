"""Per-prediction explanations from XGBoost's own feature contributions (SHAP values)."""

from __future__ import annotations

import numpy as np


def top_contributions(contributions: np.ndarray, names: list[str], k: int = 3) -> list[str]:
    """Name the ``k`` features that raised each score the most.

    Args:
        contributions: Matrix of per-row, per-feature contributions in log-odds, as
            returned by ``Booster.predict(..., pred_contribs=True)`` without the bias
            column.
        names: Feature names, one per column.
        k: How many features to keep per row.

    Returns:
        One string per row, such as ``"amount_ratio_30d:+2.10, hour:+0.40"``. Only
        positive contributions are listed, so a row with none gives an empty string.
    """
    if contributions.shape[1] != len(names):
        raise ValueError(
            f"contributions have {contributions.shape[1]} columns but {len(names)} names"
        )
    order = np.argsort(-contributions, axis=1)[:, :k]
    labels = []
    for row, columns in zip(contributions, order, strict=True):
        parts = [f"{names[c]}:{row[c]:+.2f}" for c in columns if row[c] > 0]
        labels.append(", ".join(parts))
    return labels
