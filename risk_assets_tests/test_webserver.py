"""The Dagster webserver serves this code location and lists every asset over GraphQL."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from risk_assets.definitions import defs
from risk_assets.settings import PROJECT_ROOT
from risk_assets_tests.support import free_port, stop_process, wait_for_port

ASSET_QUERY = "{ assetNodes { assetKey { path } groupName } }"
BACKFILL_MUTATION = """mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  } }"""
BACKFILL_QUERY = """query ($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status partitionNames assetSelection { path } } } }"""
LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def test_webserver_lists_every_asset(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "RISK_DATA_DIR": str(tmp_path / "data")}
    log = open(tmp_path / "webserver.log", "w")
    webserver = Path(sys.executable).parent / "dagster-webserver"
    process = subprocess.Popen(
        [
            str(webserver),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, timeout=120)
        url = f"http://127.0.0.1:{port}/graphql"
        nodes = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            response = httpx.post(url, json={"query": ASSET_QUERY}, timeout=30)
            response.raise_for_status()
            nodes = response.json()["data"]["assetNodes"]
            if nodes:
                break
            locations = httpx.post(url, json={"query": LOCATION_QUERY}, timeout=30).json()
            entries = locations["data"]["workspaceOrError"]["locationEntries"]
            errors = [
                e["locationOrLoadError"]
                for e in entries
                if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"
            ]
            assert not errors, f"code location failed to load: {errors}"
            time.sleep(1)

        # A backfill of two daily partitions, submitted as the UI submits it.
        params = {
            "assetSelection": [{"path": ["daily_transactions"]}],
            "partitionNames": ["2025-01-02", "2025-01-03"],
        }
        launched = httpx.post(
            url, json={"query": BACKFILL_MUTATION, "variables": {"params": params}}, timeout=60
        ).json()["data"]["launchPartitionBackfill"]
        backfill_id = launched.get("backfillId")
        backfill = httpx.post(
            url, json={"query": BACKFILL_QUERY, "variables": {"id": backfill_id}}, timeout=30
        ).json()["data"]["partitionBackfillOrError"]
    finally:
        stop_process(process)
        log.close()

    served = {"/".join(node["assetKey"]["path"]) for node in nodes}
    expected = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert expected, "the code location defines no assets"
    assert served == expected
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    assert sorted(backfill["partitionNames"]) == ["2025-01-02", "2025-01-03"]
    assert backfill["assetSelection"] == [{"path": ["daily_transactions"]}]
    assert backfill["status"] == "REQUESTED"
