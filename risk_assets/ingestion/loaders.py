"""File loaders for CSV and Parquet, from a local path or an ``s3://`` URI.

``load_table`` reads a file (or every data file in a folder), applies a column mapping
and validates the rows against the table's contract. Files that cannot be read at all
raise ``DataLoadError`` naming the file and the problem; rows that break the contract
go to quarantine.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pandas as pd

from risk_assets.ingestion.errors import DataLoadError
from risk_assets.ingestion.mappings import ColumnMapping, load_mapping
from risk_assets.ingestion.schemas import get_schema
from risk_assets.ingestion.validation import ValidationResult, validate

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

# Kept under the old name for readers: a load result is a validation result.
LoadResult = ValidationResult


def _format_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise DataLoadError(
            f"cannot read {name}: unknown file type {suffix or '(none)'}; "
            f"use one of {sorted(FORMATS)}"
        )
    return FORMATS[suffix]


def _parse(data: bytes | Path, fmt: str, name: str) -> pd.DataFrame:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        if fmt == "csv":
            # Everything is read as text; the contract decides types, so a bad value
            # quarantines one row instead of failing the whole file.
            frame = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
            if not isinstance(frame.index, pd.RangeIndex):
                # pandas turns the extra leading fields into an index when the first
                # data row has more fields than the header, which would shift columns.
                raise DataLoadError(
                    f"cannot read {name}: its first data row has more fields than the "
                    f"header's {len(frame.columns)}; fix that row or the header"
                )
            return frame
        return pd.read_parquet(source)
    except pd.errors.EmptyDataError as error:
        raise DataLoadError(f"cannot read {name}: the file is empty") from error
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DataLoadError(f"cannot read {name} as {fmt}: {error}") from error


def _s3_client():
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client("s3", endpoint_url=endpoint or None)


def _read_s3(uri: str) -> list[tuple[str, pd.DataFrame]]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise DataLoadError(f"cannot read {uri}: an s3 URI needs a bucket and a key")
    client = _s3_client()
    listing = client.list_objects_v2(Bucket=bucket, Prefix=key)
    keys = [item["Key"] for item in listing.get("Contents", [])]
    if key in keys:
        keys = [key]
    else:
        prefix = key.rstrip("/") + "/"
        keys = sorted(k for k in keys if k.startswith(prefix) and Path(k).suffix in FORMATS)
    if not keys:
        raise DataLoadError(f"cannot read {uri}: no such object or folder with data files")
    frames = []
    for object_key in keys:
        name = f"s3://{bucket}/{object_key}"
        body = client.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        frames.append((name, _parse(body, _format_of(object_key), name)))
    return frames


def _read_local(path: Path) -> list[tuple[str, pd.DataFrame]]:
    if not path.exists():
        raise DataLoadError(f"cannot read {path}: file not found; check the path")
    if path.is_dir():
        files = sorted(item for item in path.iterdir() if item.suffix.lower() in FORMATS)
        if not files:
            raise DataLoadError(
                f"cannot read {path}: the folder has no {sorted(FORMATS)} data files"
            )
    else:
        files = [path]
    frames = []
    for file in files:
        fmt = _format_of(file.name)
        if file.stat().st_size == 0:
            raise DataLoadError(f"cannot read {file}: the file is empty")
        frames.append((str(file), _parse(file, fmt, str(file))))
    return frames


def read_source(source: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, or every such file in a folder, into one frame.

    Args:
        source: Local path or ``s3://bucket/key`` URI of a file or folder.

    Raises:
        DataLoadError: The source is missing, empty, of an unknown type or unparseable.
    """
    text = str(source)
    parts = _read_s3(text) if text.startswith("s3://") else _read_local(Path(text))
    for name, frame in parts:
        if frame.empty and len(frame.columns) == 0:
            raise DataLoadError(f"cannot read {name}: the file is empty")
    frame = pd.concat([part for _, part in parts], ignore_index=True)
    if frame.empty:
        raise DataLoadError(f"cannot read {text}: it has a header but no rows")
    logger.info("read %d rows from %s (%d file(s))", len(frame), text, len(parts))
    return frame


def load_table(
    source: str | Path, table: str, mapping: str | ColumnMapping | None = None
) -> ValidationResult:
    """Read a source, map its columns and validate it against a table contract.

    Args:
        source: Local path or ``s3://`` URI of a CSV or Parquet file, or a folder.
        table: Canonical table name, such as ``transactions``.
        mapping: A shipped mapping name, a mapping file path, a ``ColumnMapping``, or
            None when the file already uses the canonical column names.

    Returns:
        Accepted and quarantined rows; they add up to the rows read.

    Raises:
        DataLoadError: The file cannot be read, or lacks a required column.
    """
    schema = get_schema(table)
    raw = read_source(source)
    if mapping is not None:
        column_mapping = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
        if column_mapping.table != table:
            raise DataLoadError(
                f"mapping {column_mapping.name!r} fills table {column_mapping.table!r}, "
                f"not {table!r}; pick a mapping for {table}"
            )
        raw = column_mapping.apply(raw, str(source))
    try:
        result = validate(raw, schema)
    except ValueError as error:
        raise DataLoadError(f"{source}: {error}") from error
    if result.quarantine.shape[0]:
        logger.warning(
            "%s: %d of %d rows quarantined: %s",
            source,
            len(result.quarantine),
            result.input_rows,
            result.reason_counts(),
        )
    return result
