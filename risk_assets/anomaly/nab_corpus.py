"""Reading the NAB corpus: data files, anomaly windows and published detector outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from risk_assets.anomaly.nab_scoring import FileLayout, build_layout


@dataclass
class NabSeries:
    """One NAB data file with its scoring layout.

    Attributes:
        name: Path relative to the corpus ``data`` folder, e.g. ``realKnownCause/nyc_taxi.csv``.
        timestamps: Point timestamps.
        values: Point values.
        layout: Window layout used by the scorer.
    """

    name: str
    timestamps: pd.Series
    values: np.ndarray
    layout: FileLayout


def load_nab_corpus(root: str | Path) -> dict[str, NabSeries]:
    """Load every data file of a NAB checkout and its windows.

    Args:
        root: Folder with ``data/`` and ``labels/combined_windows.json``.

    Returns:
        Series keyed by their name relative to ``data/``, in sorted order.

    Raises:
        FileNotFoundError: If the data folder or the windows file is missing.
    """
    root = Path(root)
    windows_path = root / "labels" / "combined_windows.json"
    data_dir = root / "data"
    if not windows_path.is_file() or not data_dir.is_dir():
        raise FileNotFoundError(
            f"{root} is not a NAB corpus: expected {data_dir} and {windows_path}. "
            "Pass the folder that contains data/ and labels/."
        )
    windows = json.loads(windows_path.read_text())
    corpus: dict[str, NabSeries] = {}
    for name in sorted(windows):
        frame = pd.read_csv(data_dir / name)
        timestamps = pd.to_datetime(frame["timestamp"])
        corpus[name] = NabSeries(
            name=name,
            timestamps=timestamps,
            values=frame["value"].to_numpy(dtype=float),
            layout=build_layout(timestamps, windows[name]),
        )
    return corpus


def load_published_scores(root: str | Path, detector: str) -> dict[str, np.ndarray]:
    """Load a published detector's per-point ``anomaly_score`` for every corpus file.

    NAB stores them as ``results/<detector>/<group>/<detector>_<file>.csv``.

    Raises:
        FileNotFoundError: If the detector's results folder or one of its files is missing.
    """
    root = Path(root)
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    scores: dict[str, np.ndarray] = {}
    for name in sorted(windows):
        group, file_name = name.split("/")
        path = root / "results" / detector / group / f"{detector}_{file_name}"
        if not path.is_file():
            raise FileNotFoundError(f"Published results for {detector!r} not found: {path}.")
        scores[name] = pd.read_csv(path)["anomaly_score"].to_numpy(dtype=float)
    return scores


def load_published_thresholds(root: str | Path, detector: str) -> dict[str, float]:
    """Return the published threshold per profile from ``config/thresholds.json``.

    Raises:
        KeyError: If the detector is not listed.
    """
    table = json.loads((Path(root) / "config" / "thresholds.json").read_text())
    if detector not in table:
        raise KeyError(
            f"Detector {detector!r} not found in thresholds.json. Known detectors: {sorted(table)}."
        )
    return {profile: entry["threshold"] for profile, entry in table[detector].items()}
