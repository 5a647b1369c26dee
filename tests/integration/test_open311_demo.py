"""`civicpulse demo --port N` advertises, in Open311 discovery, the address it serves on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.live import BIN, cli_env, free_port, wait_until_serving


def test_demo_discovery_names_the_host_and_port_it_serves_on(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    data = tmp_path / "data"
    empty = str(tmp_path / "empty")
    env = cli_env(f"sqlite:///{data / 'civicpulse.db'}", data, CIVICPULSE_SHARED_DATA_DIR=empty)
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "demo", "--host", "127.0.0.1", "--port", str(port), "--voices", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, seconds=120)
        discovery = httpx.get(f"{base}/open311/v2/discovery.json", timeout=10).json()
        [endpoint] = discovery["endpoints"]
        assert endpoint["url"] == f"{base}/open311/v2"
        assert httpx.get(f"{endpoint['url']}/services.json", timeout=10).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
