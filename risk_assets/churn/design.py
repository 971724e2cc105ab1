"""Encoding of customer 360 features into the numeric design matrix of the models.

Numeric features are standardized with the training mean and standard deviation, and
missing values are filled with the training mean. Each categorical feature becomes one
0/1 column per level except its most frequent level, which is the reference. Columns
that repeat another column exactly on the training rows (Telco's "No internet service"
level appears in six service columns) are dropped, because identical columns make the
Cox partial likelihood singular without a penalty.

The fitted encoder is stored as plain JSON (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

LEVEL_SEPARATOR = "="


@dataclass
class FeatureEncoder:
    """Fitted mapping from customer 360 features to model columns.

    Attributes:
        numeric: Numeric feature names.
        categorical: Categorical feature name to its non-reference levels.
        references: Categorical feature name to its reference (most frequent) level.
        means: Training mean of each numeric feature.
        scales: Training standard deviation of each numeric feature (1.0 when zero).
        columns: Model columns in order.
        column_means: Training mean of each model column, the baseline that
            explanations compare a customer against.
        sources: Model column to the customer 360 feature it comes from.
    """

    numeric: list[str]
    categorical: dict[str, list[str]]
    references: dict[str, str]
    means: dict[str, float]
    scales: dict[str, float]
    columns: list[str] = field(default_factory=list)
    column_means: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame, features: list[str]) -> FeatureEncoder:
        """Learn the encoding of ``features`` from the training rows in ``frame``.

        Args:
            frame: Training rows of a customer 360 table.
            features: Feature columns to encode.

        Raises:
            ValueError: A feature is not a column of ``frame``, or no feature is left.
        """
        missing = [name for name in features if name not in frame.columns]
        if missing:
            raise ValueError(
                f"features {missing} are not columns of the training table; "
                f"available: {sorted(map(str, frame.columns))}"
            )
        if not features:
            raise ValueError("no features to encode; the customer 360 table has none")
        numeric = [name for name in features if pd.api.types.is_numeric_dtype(frame[name])]
        categorical: dict[str, list[str]] = {}
        references: dict[str, str] = {}
        for name in features:
            if name in numeric:
                continue
            counts = frame[name].astype("string").fillna("missing").value_counts()
            references[name] = str(counts.index[0])
            categorical[name] = sorted(str(level) for level in counts.index[1:])
        means = {name: float(frame[name].mean()) for name in numeric}
        scales = {}
        for name in numeric:
            std = float(frame[name].std(ddof=0))
            scales[name] = std if np.isfinite(std) and std > 0 else 1.0
        encoder = cls(numeric, categorical, references, means, scales)
        encoder._settle_columns(frame)
        return encoder

    def _settle_columns(self, frame: pd.DataFrame) -> None:
        """Drop duplicate columns and record column means and sources."""
        self.columns = []
        self.sources = {}
        matrix = self._encode_all(frame)
        seen: dict[bytes, str] = {}
        for column in matrix.columns:
            signature = matrix[column].to_numpy().tobytes()
            if signature in seen:
                logger.info(
                    "dropping %s: identical to %s on the training rows", column, seen[signature]
                )
                continue
            seen[signature] = column
            self.columns.append(column)
        source_of = {name: name for name in self.numeric}
        for name, levels in self.categorical.items():
            source_of.update({f"{name}{LEVEL_SEPARATOR}{level}": name for level in levels})
        self.sources = {column: source_of[column] for column in self.columns}
        self.column_means = {column: float(matrix[column].mean()) for column in self.columns}

    def _encode_all(self, frame: pd.DataFrame) -> pd.DataFrame:
        parts: dict[str, np.ndarray] = {}
        for name in self.numeric:
            values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
            values = values.fillna(self.means[name])
            parts[name] = ((values - self.means[name]) / self.scales[name]).to_numpy()
        for name, levels in self.categorical.items():
            text = frame[name].astype("string").fillna("missing")
            for level in levels:
                parts[f"{name}{LEVEL_SEPARATOR}{level}"] = (text == level).to_numpy(dtype="float64")
        return pd.DataFrame(parts, index=frame.index)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Encode ``frame`` into the model columns.

        Levels not seen in training are encoded as the reference level.

        Raises:
            ValueError: A feature the encoder was fitted on is missing from ``frame``.
        """
        needed = [*self.numeric, *self.categorical]
        missing = [name for name in needed if name not in frame.columns]
        if missing:
            raise ValueError(
                f"customer table is missing features {missing} that the model was trained "
                "on; rebuild customer_360 from the same sources as the training data"
            )
        for name, levels in self.categorical.items():
            known = {*levels, self.references[name]}
            unseen = ~frame[name].astype("string").fillna("missing").isin(known)
            if unseen.any():
                logger.warning(
                    "%d rows have %s levels unseen in training; encoded as the reference %r",
                    int(unseen.sum()),
                    name,
                    self.references[name],
                )
        return self._encode_all(frame)[self.columns]

    def describe_value(self, feature: str, row: pd.Series) -> str:
        """Return a readable ``feature=value`` text for one customer's feature."""
        value = row[feature]
        if feature in self.numeric:
            if pd.isna(value):
                return f"{feature} missing"
            return f"{feature}={float(value):.4g} (average {self.means[feature]:.4g})"
        return f"{feature}={'missing' if pd.isna(value) else value}"

    def to_dict(self) -> dict[str, Any]:
        """Return the encoder as a JSON-serializable dict."""
        return {
            "numeric": list(self.numeric),
            "categorical": {name: list(levels) for name, levels in self.categorical.items()},
            "references": dict(self.references),
            "means": dict(self.means),
            "scales": dict(self.scales),
            "columns": list(self.columns),
            "column_means": dict(self.column_means),
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureEncoder:
        """Rebuild an encoder stored with ``to_dict``."""
        return cls(
            numeric=list(data["numeric"]),
            categorical={name: list(levels) for name, levels in data["categorical"].items()},
            references=dict(data["references"]),
            means={name: float(value) for name, value in data["means"].items()},
            scales={name: float(value) for name, value in data["scales"].items()},
            columns=list(data["columns"]),
            column_means={name: float(value) for name, value in data["column_means"].items()},
            sources=dict(data["sources"]),
        )
