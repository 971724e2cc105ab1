"""Helpers that turn tables and images into Dagster metadata values."""

from __future__ import annotations

import dagster as dg
import pandas as pd


def markdown_table(frame: pd.DataFrame, float_format: str = "{:.4f}") -> dg.MetadataValue:
    """Render ``frame`` as a Markdown table for the Dagster UI."""
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [_cell(value, float_format) for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _cell(value, float_format: str) -> str:
    """Format one table cell; a missing value shows as a dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return float_format.format(value) if isinstance(value, float) else str(value)


def png_markdown(png_base64: str, title: str) -> dg.MetadataValue:
    """Embed a base64 PNG image as Markdown metadata."""
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{png_base64})")
