"""Object storage for asset outputs and report files, on a local disk or on S3.

``StorageResource`` is the one interface that asset code uses. ``LocalStorageResource``
writes under a folder; ``S3StorageResource`` writes objects through dagster-aws's
``S3Resource``. ``ParquetIOManager`` stores DataFrames as Parquet and dicts as JSON on
whichever storage the active profile configures.
"""

import io
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr


class StorageResource(dg.ConfigurableResource):
    """Byte store addressed by relative keys such as ``fraud/report.html``."""

    def write_bytes(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` and return its URI."""
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; raise FileNotFoundError if absent."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        """Return whether an object exists under ``key``."""
        raise NotImplementedError

    def uri(self, key: str) -> str:
        """Return the URI that ``key`` has (or would have) in this store."""
        raise NotImplementedError

    def write_frame(self, key: str, frame: pd.DataFrame) -> str:
        """Store ``frame`` as Parquet under ``key`` and return its URI."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return self.write_bytes(key, buffer.getvalue())

    def read_frame(self, key: str) -> pd.DataFrame:
        """Read the Parquet object under ``key``."""
        return pd.read_parquet(io.BytesIO(self.read_bytes(key)))


class LocalStorageResource(StorageResource):
    """Files under a local folder (the ``local`` profile)."""

    base_dir: str

    def _path(self, key: str) -> Path:
        base = Path(self.base_dir).resolve()
        path = (base / key).resolve()
        if base not in path.parents and path != base:
            raise ValueError(f"storage key {key!r} escapes the storage folder {base}")
        return path

    def write_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return str(path)

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no stored object at {path}; materialize it first")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def uri(self, key: str) -> str:
        return str(self._path(key))


class S3StorageResource(StorageResource):
    """Objects in an S3 bucket (the ``aws`` profile) through dagster-aws's S3Resource."""

    s3: S3Resource
    bucket: str
    prefix: str = "risk_assets"
    _client: Any = PrivateAttr(default=None)

    def _object_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix else key

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def write_bytes(self, key: str, data: bytes) -> str:
        self._get_client().put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)
        return self.uri(key)

    def read_bytes(self, key: str) -> bytes:
        client = self._get_client()
        try:
            response = client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except client.exceptions.NoSuchKey as error:
            raise FileNotFoundError(
                f"no stored object at {self.uri(key)}; materialize it first"
            ) from error
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        response = self._get_client().list_objects_v2(
            Bucket=self.bucket, Prefix=self._object_key(key), MaxKeys=1
        )
        return any(item["Key"] == self._object_key(key) for item in response.get("Contents", []))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Store DataFrames as Parquet and JSON-serializable dicts as JSON.

    Keys follow the asset key path, with one object per partition for partitioned
    assets. Loading several partitions concatenates their frames.
    """

    storage: StorageResource

    def _key(self, asset_key: dg.AssetKey, partition: str | None, suffix: str) -> str:
        base = "/".join(asset_key.path)
        return f"assets/{base}/{partition}{suffix}" if partition else f"assets/{base}{suffix}"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        partition = context.partition_key if context.has_partition_key else None
        if isinstance(obj, pd.DataFrame):
            uri = self.storage.write_frame(self._key(context.asset_key, partition, ".parquet"), obj)
        elif isinstance(obj, dict | list):
            payload = json.dumps(obj, default=str, indent=1).encode()
            uri = self.storage.write_bytes(
                self._key(context.asset_key, partition, ".json"), payload
            )
        else:
            raise TypeError(
                f"asset {context.asset_key.to_user_string()} returned {type(obj).__name__}; "
                "this IO manager stores pandas DataFrames and JSON-serializable dicts only"
            )
        context.add_output_metadata({"storage_uri": dg.MetadataValue.path(uri)})

    def _load_one(self, asset_key: dg.AssetKey, partition: str | None) -> Any:
        parquet_key = self._key(asset_key, partition, ".parquet")
        if self.storage.exists(parquet_key):
            return self.storage.read_frame(parquet_key)
        json_key = self._key(asset_key, partition, ".json")
        if self.storage.exists(json_key):
            return json.loads(self.storage.read_bytes(json_key))
        raise FileNotFoundError(
            f"asset {asset_key.to_user_string()} (partition {partition}) has no stored value "
            f"at {self.storage.uri(parquet_key)}; materialize it first"
        )

    def load_input(self, context: dg.InputContext) -> Any:
        asset_key = context.asset_key
        if not context.has_asset_partitions:
            return self._load_one(asset_key, None)
        keys = context.asset_partition_keys
        if len(keys) == 1:
            return self._load_one(asset_key, keys[0])
        frames = [self._load_one(asset_key, key) for key in keys]
        return pd.concat(frames, ignore_index=True)
