"""Kaplan-Meier curves by retention segment, rendered as PNG for asset metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifelines import KaplanMeierFitter  # noqa: E402


def kaplan_meier_png(durations, events, groups, title: str) -> bytes:
    """Draw one Kaplan-Meier curve per group, with 95 % confidence bands.

    Args:
        durations: Tenure in months.
        events: 1 for churned, 0 for censored.
        groups: Group label per customer, such as the retention segment.
        title: Figure title.

    Returns:
        The figure as PNG bytes.
    """
    frame = pd.DataFrame(
        {
            "duration": np.asarray(durations, dtype="float64"),
            "event": np.asarray(events, dtype="int64"),
            "group": np.asarray(groups).astype(str),
        }
    )
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        for name, group in frame.groupby("group"):
            fitter = KaplanMeierFitter(label=f"{name} (n={len(group)})")
            fitter.fit(group["duration"], group["event"])
            fitter.plot_survival_function(ax=axes, ci_show=True)
        axes.set_xlabel("tenure (months)")
        axes.set_ylabel("share still a customer")
        axes.set_ylim(0, 1.02)
        axes.set_title(title)
        axes.legend(loc="lower left", fontsize=8)
        buffer = io.BytesIO()
        figure.tight_layout()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def png_markdown(png: bytes, alt_text: str) -> str:
    """Embed PNG bytes in Markdown as a base64 data URI."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"![{alt_text}](data:image/png;base64,{encoded})"
