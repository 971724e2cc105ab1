"""The aws profile stores assets as Parquet on a real S3-compatible server."""

import io

import boto3
import dagster as dg
import pandas as pd
import pytest

from risk_assets.definitions import build_definitions
from risk_assets.ingestion.loaders import load_table
from risk_assets.ingestion.sources import RawDataResource
from risk_assets.settings import SettingsError, load_settings

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_env(s3_server, tmp_path, monkeypatch):
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="risk-test")
    return {
        "RISK_PROFILE": "aws",
        "RISK_S3_BUCKET": "risk-test",
        "RISK_S3_PREFIX": "dev",
        "AWS_ENDPOINT_URL": s3_server,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }


def test_assets_round_trip_through_s3(s3_env, s3_server):
    settings = load_settings(s3_env)
    raw_data = RawDataResource(
        seed=5, n_customers=60, n_terminals=80, n_days=20, service_hours=2, n_incidents=1
    )
    defs = build_definitions(settings, raw_data)
    job = defs.resolve_job_def("risk_lifecycle_job")
    selection = [
        dg.AssetKey("transactions"),
        dg.AssetKey("transactions_quarantine"),
        dg.AssetKey("transaction_features"),
    ]
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=selection
    )
    assert result.success

    client = boto3.client("s3", endpoint_url=s3_server)
    keys = {item["Key"] for item in client.list_objects_v2(Bucket="risk-test")["Contents"]}
    assert "dev/assets/transactions.parquet" in keys
    assert "dev/assets/transaction_features.parquet" in keys
    body = client.get_object(Bucket="risk-test", Key="dev/assets/transactions.parquet")
    stored = pd.read_parquet(io.BytesIO(body["Body"].read()))
    expected = raw_data.load("transactions").accepted
    pd.testing.assert_frame_equal(stored, expected)


def test_loader_reads_s3_uri(s3_env, s3_server):
    client = boto3.client("s3", endpoint_url=s3_server)
    csv = "transaction_id,timestamp,customer_id,terminal_id,amount\n1,2024-01-01,a,t,-2\n"
    client.put_object(Bucket="risk-test", Key="in/tx.csv", Body=csv.encode())
    result = load_table("s3://risk-test/in/tx.csv", "transactions")
    assert len(result.quarantine) == 1
    assert result.quarantine["quarantine_reason"].iloc[0] == "amount: below minimum 0.0"


def test_aws_profile_needs_bucket():
    with pytest.raises(SettingsError, match="RISK_S3_BUCKET"):
        load_settings({"RISK_PROFILE": "aws", "MLFLOW_TRACKING_URI": "sqlite:///x.db"})


def test_unknown_profile_rejected():
    with pytest.raises(SettingsError, match="'cloud' is not a known profile"):
        load_settings({"RISK_PROFILE": "cloud"})
