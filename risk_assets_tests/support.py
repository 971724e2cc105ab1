"""Helpers for tests: public data set paths and servers on 127.0.0.1."""

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from risk_assets.settings import PROJECT_ROOT

DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def dataset_path(relative: str) -> Path:
    """Path of a public data set, skipping the test when the folder is absent."""
    path = DATASETS / relative
    if not path.exists():
        pytest.skip(f"public data set {path} is absent; it is present in CI")
    return path


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_with_grpc(offset: int = 10_000) -> int:
    """A free port whose companion ``port + offset`` is free too (SeaweedFS's gRPC)."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        if all(_is_free(candidate) for candidate in (port, port + offset)):
            return port
    raise RuntimeError("found no free pair of ports on 127.0.0.1")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a server we started, by its own process group, killing it after ``grace``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
