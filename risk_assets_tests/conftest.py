"""Fixtures shared by every test: settings in a temporary folder, small simulated data,
public data set paths, and servers started on 127.0.0.1 for the test's lifetime."""

import os
import subprocess
from pathlib import Path

import pytest

from risk_assets.ingestion.sources import RawDataResource
from risk_assets.settings import PROJECT_ROOT, Settings, load_settings
from risk_assets_tests.support import free_port_with_grpc, stop_process, wait_for_port

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """Local-profile settings whose data and MLflow store live in ``tmp_path``."""
    return load_settings({"RISK_PROFILE": "local", "RISK_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def small_raw_data() -> RawDataResource:
    """A simulated world small enough for a whole-graph run in the test suite."""
    return RawDataResource(
        seed=3,
        n_customers=200,
        n_terminals=400,
        n_days=45,
        service_hours=8,
        n_incidents=3,
    )


@pytest.fixture
def s3_server(tmp_path: Path):
    """A SeaweedFS S3 server on 127.0.0.1, yielding its endpoint URL."""
    weed = Path(os.environ.get("VIRTUAL_ENV", PROJECT_ROOT / ".venv")) / "bin" / "weed"
    if not weed.exists():
        weed = PROJECT_ROOT / ".venv" / "bin" / "weed"
    s3_port, master_port, volume_port, filer_port = (free_port_with_grpc() for _ in range(4))
    folder = tmp_path / "seaweed"
    folder.mkdir()
    log = open(tmp_path / "seaweed.log", "w")
    process = subprocess.Popen(
        [
            str(weed),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={folder}",
            f"-master.port={master_port}",
            f"-volume.port={volume_port}",
            "-filer",
            f"-filer.port={filer_port}",
            "-s3",
            f"-s3.port={s3_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(s3_port, process, timeout=60)
        yield f"http://127.0.0.1:{s3_port}"
    finally:
        # SeaweedFS ignores SIGTERM for about 15 s, so it gets a short grace period.
        stop_process(process, grace=2.0)
        log.close()
