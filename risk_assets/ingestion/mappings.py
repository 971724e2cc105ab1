"""Column mappings from a source file's layout onto a canonical table.

A mapping is a YAML file::

    table: transactions          # the canonical table it fills
    columns:                     # canonical column: source column
      transaction_id: TX_ID
      amount: AMOUNT
    values:                      # optional value maps, per canonical column
      churned: {"Yes": 1, "No": 0}
    keep_other_columns: true     # keep unmapped source columns, in snake_case

Shipped mappings live in ``risk_assets/ingestion/mappings/``; a user passes the name
of a shipped one or the path of their own file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from risk_assets.ingestion.errors import DataLoadError
from risk_assets.ingestion.schemas import get_schema

MAPPINGS_DIR = Path(__file__).parent / "mappings"


@dataclass(frozen=True)
class ColumnMapping:
    """Column mapping from one source layout onto a canonical table."""

    table: str
    columns: dict[str, str]
    values: dict[str, dict] = field(default_factory=dict)
    keep_other_columns: bool = False
    name: str = "custom"

    def apply(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """Rename and recode ``frame`` into the canonical layout.

        Raises:
            DataLoadError: A mapped source column is not in the file.
        """
        absent = [src for src in self.columns.values() if src not in frame.columns]
        if absent:
            raise DataLoadError(
                f"{source}: column(s) {absent} named in mapping {self.name!r} are not in the "
                f"file, which has {list(frame.columns)}; fix the mapping or the file"
            )
        out = pd.DataFrame(index=frame.index)
        for target, src in self.columns.items():
            out[target] = frame[src]
        for target, value_map in self.values.items():
            if target in out:
                original = out[target]
                mapped = original.map(value_map)
                # Values outside the map stay as they were so validation quarantines them.
                out[target] = mapped.where(mapped.notna(), original)
        if self.keep_other_columns:
            used = set(self.columns.values())
            for src in frame.columns:
                if src not in used:
                    name = snake_case(src)
                    if name not in out:
                        out[name] = frame[src]
        return out


def snake_case(name: str) -> str:
    """Convert ``MonthlyCharges`` or ``Payment Method`` to ``monthly_charges``."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_")
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    return text.lower()


def load_mapping(name_or_path: str) -> ColumnMapping:
    """Load a shipped mapping by name or a user's mapping file by path.

    Raises:
        DataLoadError: The mapping is not found or is malformed.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = sorted(item.stem for item in MAPPINGS_DIR.glob("*.yaml"))
        raise DataLoadError(
            f"column mapping {name_or_path!r} not found; pass a YAML file path or one of "
            f"the shipped mappings {shipped}"
        )
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise DataLoadError(f"column mapping {path} is not valid YAML: {error}") from error
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise DataLoadError(f"column mapping {path} needs a 'columns' section of target: source")
    table = spec.get("table")
    schema = get_schema(table) if isinstance(table, str) else None
    if schema is None:
        raise DataLoadError(f"column mapping {path} needs 'table', the canonical table name")
    unknown = [name for name in spec["columns"] if name not in schema.column_names]
    if unknown:
        raise DataLoadError(
            f"column mapping {path} maps to {unknown}, which table {table} does not have; "
            f"its columns are {schema.column_names}"
        )
    return ColumnMapping(
        table=table,
        columns={str(key): str(value) for key, value in spec["columns"].items()},
        values=spec.get("values") or {},
        keep_other_columns=bool(spec.get("keep_other_columns", False)),
        name=path.stem,
    )
